using System;
using System.Collections.Generic;
using Microsoft.ML;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// A trained network with its training history: the part every recurrent transformer saves the same way, and the
    /// managed engine that scores with its weights. The weights go into their own binary entry of the model zip.
    /// </summary>
    /// <param name="Weights">The parameters, in PyTorch's layout.</param>
    /// <param name="Implementation">The trainers' code of how training computed the layers (0 fused, 1 gate-level): saved so that a re-saved model is the same file; scoring does not depend on it.</param>
    /// <param name="OneHotProjection">The trainers' code of how training projected one-hot input (0 auto, 1 gather, 2 dense), likewise.</param>
    /// <param name="History">The per-epoch metrics of the training run.</param>
    /// <param name="Settings">The settings of the training run by option name, automatic choices resolved (empty when unknown: imported or older models).</param>
    internal sealed record TrainedNetwork(NetworkWeights Weights, int Implementation, int OneHotProjection, IReadOnlyList<EpochMetrics> History,
        IReadOnlyDictionary<string, string> Settings)
    {
        /// <summary>The most settings a model file may list: a bound for reading untrusted files.</summary>
        private const int MaximumSettings = 256;

        private const string WeightsEntry = "Weights";

        public RecurrentArchitecture Architecture => Weights.Architecture;

        /// <summary>The managed engine over these weights: immutable, and shared by every caller.</summary>
        public RecurrentEngine Engine { get; } = new(Weights);

        // *** Binary format ***
        // <architecture: see RecurrentArchitecture.Save>
        // int: implementation (0 fused, 1 gate-level); int: one-hot projection (0 auto, 1 gather, 2 dense)
        // <training history: see EpochMetrics.SaveHistory>
        // int: number of training settings S (from format 0x00010004; see ModelFormat); S × (string: option name, string: value), in the string table
        // binary stream entry "Weights": see NetworkWeights.Save; then 32 bytes: SHA-256 of the bytes before
        // (from format 0x00010002 of the component; see ModelFormat)
        public void Save(ModelSaveContext ctx)
        {
            Architecture.Save(ctx.Writer);
            ctx.Writer.Write(Implementation);
            ctx.Writer.Write(OneHotProjection);
            EpochMetrics.SaveHistory(ctx.Writer, History);
            ctx.Writer.Write(Settings.Count);
            foreach (var (name, value) in Settings)
            {
                ctx.SaveNonEmptyString(name);
                ctx.SaveString(value);
            }
            ctx.SaveBinaryStream(WeightsEntry, writer =>
            {
                long start = writer.BaseStream.Position;
                Weights.Save(writer);
                ModelFormat.WriteChecksum(writer, start);
            });
        }

        /// <summary>Reads the network, checks that the weights entry is large enough for it, and reads its weights.</summary>
        /// <param name="ctx">The load context, positioned after the component's own fields.</param>
        /// <param name="source">The entry's description for messages.</param>
        /// <param name="check">Checks the architecture against the component's other fields before anything is allocated.</param>
        public static TrainedNetwork Load(ModelLoadContext ctx, string source, Action<RecurrentArchitecture> check)
        {
            // *** Binary format *** (see Save)
            RecurrentArchitecture architecture;
            try
            {
                architecture = RecurrentArchitecture.Load(ctx.Reader);
            }
            catch (FormatException e)
            {
                // The architecture's own message does not know which entry it came from.
                throw new FormatException($"{source}: {e.Message} The file is corrupt; re-save the model, or retrain it.", e);
            }
            check(architecture);
            int implementation = ctx.Reader.ReadInt32();
            int projection = ctx.Reader.ReadInt32();
            if (implementation is < 0 or > 1 || projection is < 0 or > 2)
                throw new FormatException($"{source}: unknown implementation {implementation} or one-hot projection {projection}.");
            var history = EpochMetrics.LoadHistory(ctx.Reader, source, ModelFormat.HistoryLayout(ctx.Header.ModelVerWritten));
            var settings = new Dictionary<string, string>();
            if (ctx.Header.ModelVerWritten >= ModelFormat.TrainingSettingsVersion)
            {
                int count = ctx.Reader.ReadInt32();
                if (count < 0 || count > MaximumSettings)
                    throw new FormatException($"{source}: {count} training settings, outside 0 to {MaximumSettings}; the model file is corrupt.");
                for (int i = 0; i < count; i++)
                {
                    string name = ctx.LoadNonEmptyString();
                    if (!settings.TryAdd(name, ctx.LoadString()))
                        throw new FormatException($"{source}: training setting '{name}' is listed twice; the model file is corrupt.");
                }
            }
            NetworkWeights? weights = null;
            bool checksummed = ModelFormat.HasChecksum(ctx);
            if (!ctx.TryLoadBinaryStream(WeightsEntry, reader =>
            {
                var stream = reader.BaseStream;
                long end = stream.Length - (checksummed ? ModelFormat.ChecksumSize : 0);
                if (checksummed)
                    ModelFormat.VerifyChecksum(stream, stream.Position, end, source, $"the '{WeightsEntry}' entry");
                // The entry must be able to hold every parameter's values before they are allocated: a crafted
                // architecture within the limits (up to 2^31 parameters, 8 GiB) must not make loading a small file
                // allocate gigabytes.
                long values = architecture.ParameterCount * sizeof(float);
                if (end - stream.Position < values)
                    throw new FormatException($"{source}: the '{WeightsEntry}' entry holds {end - stream.Position:N0} bytes, too few for the {values:N0} bytes of the " +
                        $"{architecture.ParameterCount:N0} parameters of the saved architecture; the model file is corrupt or inconsistent.");
                weights = NetworkWeights.Load(reader, architecture, source, end);
            }))
                throw new FormatException($"{source}: the '{WeightsEntry}' entry is missing from the model zip.");
            return new TrainedNetwork(weights!, implementation, projection, history, settings);
        }
    }
}
