using System;
using System.Collections.Generic;
using System.IO;
using System.Text;
using TorchSharp.Modules;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// A training run's state after an epoch: weights, optimizer state and history. Written atomically (to a
    /// temporary file beside the target, then renamed), so a process killed while writing leaves the previous
    /// checkpoint intact.
    /// </summary>
    internal static class TrainingCheckpoint
    {
        private const string Magic = "MLSTCKPT";
        private const int FormatVersion = 1;

        // *** Binary format ***
        // 8 bytes: "MLSTCKPT"; int: format version (1)
        // <architecture: see RecurrentArchitecture.Save>
        // <history of the completed epochs: see EpochMetrics.SaveHistory>
        // <weights: see ParameterSerializer.Save>
        // <optimizer state: TorchSharp's save_state_dict>
        public static void Save(string path, RecurrentNetwork network, OptimizerHelper optimizer, IReadOnlyList<EpochMetrics> history)
        {
            string temporary = path + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
            using (var writer = new BinaryWriter(stream, Encoding.UTF8))
            {
                writer.Write(Encoding.ASCII.GetBytes(Magic));
                writer.Write(FormatVersion);
                network.Architecture.Save(writer);
                EpochMetrics.SaveHistory(writer, history);
                ParameterSerializer.Save(writer, network);
                optimizer.save_state_dict(writer);
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }

        /// <summary>Restores weights and optimizer state; returns the history of the completed epochs.</summary>
        /// <exception cref="FormatException">The file is not a checkpoint of this network.</exception>
        public static List<EpochMetrics> Load(string path, RecurrentNetwork network, OptimizerHelper optimizer)
        {
            string source = $"Checkpoint '{path}'";
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            try
            {
                if (Encoding.ASCII.GetString(reader.ReadBytes(Magic.Length)) != Magic)
                    throw new FormatException($"{source} is not an MlnetLstm training checkpoint. Delete it or point CheckpointPath elsewhere.");
                int version = reader.ReadInt32();
                if (version != FormatVersion)
                    throw new FormatException($"{source} has format version {version}; this build reads version {FormatVersion}. Delete it to start over.");
                var architecture = RecurrentArchitecture.Load(reader);
                if (architecture != network.Architecture)
                    throw new FormatException($"{source} was written for a different network ({architecture}) than the options describe ({network.Architecture}). Delete it or use the options it was trained with.");
                var history = EpochMetrics.LoadHistory(reader, source);
                ParameterSerializer.Load(reader, network, source);
                optimizer.load_state_dict(reader);
                return history;
            }
            catch (EndOfStreamException e)
            {
                throw new FormatException($"{source} is truncated. Delete it to start over.", e);
            }
        }
    }
}
