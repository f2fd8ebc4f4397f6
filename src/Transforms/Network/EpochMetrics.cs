using System;
using System.IO;

namespace MlnetLstm.Transforms
{
    /// <summary>What one training epoch measured. Losses are means per predicted item (token, value or sequence).</summary>
    /// <param name="Epoch">1-based epoch number.</param>
    /// <param name="TrainingLoss">Mean training loss over the epoch (cross-entropy in nats for models of tokens, the regression loss otherwise).</param>
    /// <param name="ValidationLoss">Mean validation loss after the epoch, or null without validation data.</param>
    /// <param name="ItemsPerSecond">Training throughput: predicted items (for a language model, tokens) per second.</param>
    /// <param name="Elapsed">Time since the trainer's Fit began (reading the data and measuring included; for a resumed run, the earlier runs' training time too): what TimeBudget limits.</param>
    /// <param name="LearningRate">The learning rate at the end of the epoch.</param>
    public sealed record EpochMetrics(int Epoch, double TrainingLoss, double? ValidationLoss, double ItemsPerSecond, TimeSpan Elapsed, double LearningRate)
    {
        /// <summary>
        /// For a language model, the validation loss with the state carried from one document into the next (the
        /// validation text read as one stream), beside <see cref="ValidationLoss"/>, where each document starts from
        /// the zero state as a PredictionEngine scores it. A model that leans on a warm state it never has when users
        /// call it shows a stream loss well below its per-document loss. Null for other models and without validation data.
        /// </summary>
        public double? ValidationStreamLoss { get; init; }

        /// <summary>
        /// The share of the validation data that <see cref="ValidationLoss"/> covers: 1, or less when the time budget
        /// ended during validation and only its beginning was scored (for a language model, the first tokens of each
        /// validation document; the stream loss is then left out). 0 without validation data.
        /// </summary>
        public double ValidationFraction { get; init; } = 1;

        /// <summary>exp(training cross-entropy): the training perplexity of a model of tokens.</summary>
        public double TrainingPerplexity => Math.Exp(TrainingLoss);

        /// <summary>exp(validation cross-entropy), or null without validation data.</summary>
        public double? ValidationPerplexity => ValidationLoss is double loss ? Math.Exp(loss) : null;

        /// <summary>Training cross-entropy in bits per token (bits per character for a character model).</summary>
        public double TrainingBitsPerToken => TrainingLoss / Math.Log(2);

        /// <summary>Validation cross-entropy in bits per token, or null without validation data.</summary>
        public double? ValidationBitsPerToken => ValidationLoss / Math.Log(2);

        // *** Binary format ***
        // int: epoch; double: training loss; byte: has validation; double: validation loss (0 if none);
        // double: items per second; long: elapsed ticks; double: learning rate;
        // byte: has stream validation; double: stream validation loss (0 if none) (from format 0x00010003; see ModelFormat);
        // double: validation fraction (from format 0x00010005)
        internal void Save(BinaryWriter writer)
        {
            writer.Write(Epoch);
            writer.Write(TrainingLoss);
            writer.Write(ValidationLoss.HasValue ? (byte)1 : (byte)0);
            writer.Write(ValidationLoss ?? 0);
            writer.Write(ItemsPerSecond);
            writer.Write(Elapsed.Ticks);
            writer.Write(LearningRate);
            writer.Write(ValidationStreamLoss.HasValue ? (byte)1 : (byte)0);
            writer.Write(ValidationStreamLoss ?? 0);
            writer.Write(ValidationFraction);
        }

        /// <summary>What the saved history holds, by the format that wrote it.</summary>
        internal readonly record struct Layout(bool HasStreamLoss, bool HasValidationFraction);

        internal static EpochMetrics Load(BinaryReader reader, string source, Layout layout)
        {
            // *** Binary format *** (see Save)
            int epoch = reader.ReadInt32();
            double training = reader.ReadDouble();
            bool hasValidation = ModelFormat.ReadFlag(reader, source, "validation loss present");
            double validation = reader.ReadDouble();
            var metrics = new EpochMetrics(epoch, training, hasValidation ? validation : null, reader.ReadDouble(), TimeSpan.FromTicks(reader.ReadInt64()), reader.ReadDouble())
            {
                ValidationFraction = hasValidation ? 1 : 0,
            };
            if (!layout.HasStreamLoss)
                return metrics;
            bool hasStream = ModelFormat.ReadFlag(reader, source, "stream validation loss present");
            double stream = reader.ReadDouble();
            metrics = metrics with { ValidationStreamLoss = hasStream ? stream : null };
            if (!layout.HasValidationFraction)
                return metrics;
            double fraction = reader.ReadDouble();
            if (!(fraction >= 0 && fraction <= 1) || (fraction == 0) == hasValidation)
                throw new FormatException($"{source}: epoch {epoch} has validation fraction {fraction}, outside (0, 1] with a validation loss or not 0 without one; the file is corrupt.");
            return metrics with { ValidationFraction = fraction };
        }

        /// <summary>Writes a history: its length, then each epoch.</summary>
        internal static void SaveHistory(BinaryWriter writer, System.Collections.Generic.IReadOnlyList<EpochMetrics> history)
        {
            writer.Write(history.Count);
            foreach (var metrics in history)
                metrics.Save(writer);
        }

        /// <summary>Reads a history written by <see cref="SaveHistory"/> in the <paramref name="layout"/> of the format that wrote it.</summary>
        /// <exception cref="FormatException">The length or a validation fraction is not plausible.</exception>
        internal static System.Collections.Generic.List<EpochMetrics> LoadHistory(BinaryReader reader, string source, Layout layout)
        {
            int count = reader.ReadInt32();
            if (count < 0 || count > 1_000_000)
                throw new FormatException($"{source}: a training history of {count} epochs is not plausible; the file is corrupt.");
            var history = new System.Collections.Generic.List<EpochMetrics>(count);
            for (int i = 0; i < count; i++)
                history.Add(Load(reader, source, layout));
            return history;
        }
    }
}
