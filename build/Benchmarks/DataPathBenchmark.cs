using System;
using System.Diagnostics;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Benchmarks
{
    /// <summary>
    /// The cost of the ML.NET data path of a language-model Fit on a whole corpus (one row per paragraph): fitting the
    /// tokenizer, cursoring the tokenized rows into the on-disk token cache, building the network, i.e. everything
    /// before the first batch. Batches then read windows of that cache, so the data path is paid once per Fit; it is reported as a share of one epoch over the same corpus at the throughput measured in the same Fit.
    /// </summary>
    internal static class DataPathBenchmark
    {
        public sealed record Result(string Corpus, int Rows, long Tokens, double DataPathSeconds, double EpochSeconds)
        {
            public double SharePercent => 100 * DataPathSeconds / (DataPathSeconds + EpochSeconds);
        }

        public static Result Run(string corpus, TimeSpan budget)
        {
            var ml = new MLContext(seed: 1);
            var rows = Corpora.Paragraphs(Corpora.Read(corpus))
                .Select(p => new Corpora.Row { Text = p }).ToArray();
            EpochMetrics? first = null;
            TimeSpan firstAt = default;
            var clock = Stopwatch.StartNew();
            var options = new RecurrentLanguageModelTrainer.Options
            {
                ValidationFraction = 0, Seed = 1, Epochs = 1, TimeBudget = budget,
                EpochCompleted = m => (first, firstAt) = (m, clock.Elapsed),
            };
            ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Text.RecurrentLanguageModel(options))
                .Fit(ml.Data.LoadFromEnumerable(rows));
            // The epoch's clock starts with the first batch; the budget may end it early, so a full epoch's time is
            // the stream's length at the epoch's measured rate.
            long tokens = rows.Sum(r => (long)r.Text.EnumerateRunes().Count() + 1);
            var metrics = first ?? throw new InvalidOperationException("The data-path run completed no epoch.");
            return new Result(corpus, rows.Length, tokens, (firstAt - metrics.Elapsed).TotalSeconds, tokens / metrics.ItemsPerSecond);
        }
    }
}
