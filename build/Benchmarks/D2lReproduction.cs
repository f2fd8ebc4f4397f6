using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.ML;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Benchmarks
{
    /// <summary>
    /// The seeds' d2l experiment on the first 10,000 characters of Moby-Dick, lower-cased to letters and spaces
    /// (26 letters, space and &lt;unk&gt;: the 28 tokens of d2l's time-machine setup): 256 hidden units, batch 32,
    /// 35 steps, SGD learning rate 1, clipping 1, sequential partitioning, 500 epochs, for each seed variant.
    /// </summary>
    internal static class D2lReproduction
    {
        public sealed record Variant(string Name, RecurrentCell Cell, int Layers, RecurrentImplementation Implementation);

        public sealed record Result(Variant Variant, double Perplexity, double TokensPerSecond, int Vocabulary, string Sample);

        public static readonly Variant[] Variants =
        {
            new("RNN (nn)", RecurrentCell.RnnTanh, 1, RecurrentImplementation.Fused),
            new("GRU (nn)", RecurrentCell.Gru, 1, RecurrentImplementation.Fused),
            new("LSTM (nn)", RecurrentCell.Lstm, 1, RecurrentImplementation.Fused),
            new("LSTM (gate-level)", RecurrentCell.Lstm, 1, RecurrentImplementation.GateLevel),
            new("2-layer LSTM (nn)", RecurrentCell.Lstm, 2, RecurrentImplementation.Fused),
        };

        public static string Text()
        {
            var builder = new StringBuilder();
            foreach (char c in Corpora.Read("moby-dick").ToLowerInvariant())
                builder.Append(c is >= 'a' and <= 'z' ? c : ' ');
            return string.Join(' ', builder.ToString().Split(' ', StringSplitOptions.RemoveEmptyEntries))[..10_000];
        }

        public static Result Run(Variant variant, int epochs)
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(new[] { new Corpora.Row { Text = Text() } });
            var rates = new List<double>();
            // One document, so the only reserved token is <unk>, which also serves as the document boundary.
            // The chapter's recipe (SGD at learning rate 1, clipping 1, batches of 32 × 35 steps, 256 hidden units), stated by its preset.
            var options = RecurrentLanguageModelTrainer.Options.DiveIntoDeepLearning();
            options.Cell = variant.Cell;
            options.Layers = variant.Layers;
            options.Implementation = variant.Implementation;
            options.Epochs = epochs;
            options.ValidationFraction = 0;
            options.EndOfTextToken = "<unk>";
            options.Seed = 1;
            options.Generation = new GenerationOptions { MaximumNewTokens = 50, StopToken = null };
            options.EpochCompleted = m => rates.Add(m.ItemsPerSecond);
            var pipeline = ml.Transforms.Text.TokenizeWithVocabulary(new VocabularyTokenizingEstimator.Options { OutputColumnName = "Tokens", InputColumnName = "Text", ReservedTokens = new[] { "<unk>" } })
                .Append(ml.Transforms.Text.RecurrentLanguageModel(options));
            var model = pipeline.Fit(data);
            var history = model.LastTransformer.TrainingHistory;
            using var engine = ml.Model.CreatePredictionEngine<Corpora.Row, Continuation>(model);
            string prefix = "call me ishmael";
            return new Result(variant, history[^1].TrainingPerplexity, ThroughputBenchmark.Median(rates.Skip(1)), model.LastTransformer.Vocabulary.Count,
                prefix + engine.Predict(new Corpora.Row { Text = prefix }).Generated);
        }

        private sealed class Continuation
        {
            public string Generated { get; set; } = "";
        }
    }
}
