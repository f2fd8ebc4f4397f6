using System;
using System.Diagnostics;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Benchmarks
{
    /// <summary>
    /// Quality at equal budget: validation bits per character on the last 10% of Moby-Dick after the same wall-clock
    /// budget, for the library's default options and for the hand-written loop with the seeds' settings (which the
    /// defaults equal: LSTM, 256 hidden, T=35, B=32, SGD lr 1, clip 1). Both are scored by the same computation:
    /// the mean cross-entropy of the validation text read in order.
    /// </summary>
    internal static class QualityBenchmark
    {
        public static (double Ours, double HandWritten) Run(TimeSpan budget)
        {
            var ml = new MLContext(seed: 1);
            string text = Corpora.Read("moby-dick");
            int split = (int)(text.Length * 0.9);
            var (ids, vocabulary) = Corpora.Tokenize(ml, text);
            var train = ids[..split];
            var validation = ids[split..];

            var defaults = new RecurrentLanguageModelTrainer.Options { TimeBudget = budget, Epochs = 1000, ValidationFraction = 0, Seed = 1 };
            var pipeline = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Text.RecurrentLanguageModel(defaults));
            var model = pipeline.Fit(ml.Data.LoadFromEnumerable(new[] { new Corpora.Row { Text = text[..split] } }));
            var scored = ml.Data.CreateEnumerable<Bits>(model.Transform(ml.Data.LoadFromEnumerable(new[] { new Corpora.Row { Text = text[split..] } })), false).Single();

            using var loop = new HandWrittenLoop(vocabulary.Count, 256, 1, lstm: true, learningRate: 1.0, seed: 1);
            var clock = Stopwatch.StartNew();
            // Chunks of 50 batches that go on through the stream, so the loop sees all of the training text as the trainer does.
            for (long batch = 0; clock.Elapsed < budget; batch += 50)
                loop.Train(train, 35, 32, 50, 0, batch);
            double hand = loop.Evaluate(validation, 35) / Math.Log(2);
            return (scored.BitsPerToken, hand);
        }

        private sealed class Bits
        {
            public double BitsPerToken { get; set; }
        }
    }
}
