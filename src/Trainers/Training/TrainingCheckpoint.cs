using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using TorchSharp.Modules;

using MlnetLstm.Transforms;

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
        private const int FormatVersion = 2;

        // *** Binary format ***
        // 8 bytes: "MLSTCKPT"; int: format version (2; version 1 files, without the last two fields, are read too)
        // <architecture: see RecurrentArchitecture.Save>
        // <history of the completed epochs: see EpochMetrics.SaveHistory>
        // <weights: see ParameterSerializer.Save>
        // <optimizer state: TorchSharp's save_state_dict>
        // byte: has best weights (early stopping's copy of the best epoch's weights)
        // <best weights, if any: see ParameterSerializer.Save>
        public static void Save(string path, RecurrentNetwork network, OptimizerHelper optimizer, IReadOnlyList<EpochMetrics> history,
            IReadOnlyDictionary<string, TorchSharp.torch.Tensor>? bestWeights)
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
                writer.Write(bestWeights is null ? (byte)0 : (byte)1);
                if (bestWeights is not null)
                    ParameterSerializer.Save(writer, network.named_parameters().Select(p => (p.name, bestWeights[p.name])).ToList());
                writer.Flush();
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, path, overwrite: true);
        }

        /// <summary>
        /// Restores weights and optimizer state; returns the history of the completed epochs and early stopping's copy
        /// of the best epoch's weights (null if the run kept none), which the caller disposes.
        /// </summary>
        /// <exception cref="FormatException">The file is not a checkpoint of this network.</exception>
        public static (List<EpochMetrics> History, Dictionary<string, TorchSharp.torch.Tensor>? BestWeights) Load(string path, RecurrentNetwork network, OptimizerHelper optimizer)
        {
            string source = $"Checkpoint '{path}'";
            using var stream = File.OpenRead(path);
            using var reader = new BinaryReader(stream, Encoding.UTF8);
            try
            {
                if (Encoding.ASCII.GetString(reader.ReadBytes(Magic.Length)) != Magic)
                    throw new FormatException($"{source} is not an MlnetLstm training checkpoint. Delete it or point CheckpointPath elsewhere.");
                int version = reader.ReadInt32();
                if (version != 1 && version != FormatVersion)
                    throw new FormatException($"{source} has format version {version}; this build reads versions 1 to {FormatVersion}. Delete it to start over.");
                var architecture = RecurrentArchitecture.Load(reader);
                if (architecture != network.Architecture)
                    throw new FormatException($"{source} was written for a different network ({architecture}) than the options describe ({network.Architecture}). Delete it or use the options it was trained with.");
                var history = EpochMetrics.LoadHistory(reader, source);
                ParameterSerializer.Load(reader, network, source);
                optimizer.load_state_dict(reader);
                if (version == 1 || reader.ReadByte() == 0)
                    return (history, null);
                var best = network.named_parameters().Select(p => (p.name, p.parameter.detach().clone().DetachFromDisposeScope())).ToList();
                try
                {
                    ParameterSerializer.Load(reader, best, source);
                }
                catch
                {
                    foreach (var (_, tensor) in best)
                        tensor.Dispose();
                    throw;
                }
                return (history, best.ToDictionary(p => p.name, p => p.Item2));
            }
            catch (EndOfStreamException e)
            {
                throw new FormatException($"{source} is truncated. Delete it to start over.", e);
            }
        }
    }
}
