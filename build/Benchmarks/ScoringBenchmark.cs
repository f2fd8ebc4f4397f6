using System;
using System.Diagnostics;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlnetLstm.Benchmarks
{
    /// <summary>
    /// Scoring latency through PredictionEngine (p50/p99) for log-likelihood of a 100-character text, the next-token
    /// distribution, and greedy generation of 200 characters, against the same computations with raw TorchSharp calls
    /// on an nn.LSTM of the same shape. Also the process's resident memory after 1,000 and 100,000 predictions.
    /// </summary>
    internal static class ScoringBenchmark
    {
        public sealed record Latency(string Operation, double P50Ms, double P99Ms, double RawP50Ms, double RawP99Ms);

        private sealed class Likelihood
        {
            public double LogLikelihood { get; set; }
        }

        private sealed class Distribution
        {
            public VBuffer<float> NextTokenProbabilities { get; set; }
        }

        private sealed class Continuation
        {
            public string Generated { get; set; } = "";
        }

        public static (Latency[] Latencies, double RssAfter1k, double RssAfter100k, double PeakTrainingRss) Run(int calls, int memoryPredictions)
        {
            var ml = new MLContext(seed: 1);
            string text = Corpora.Read("moby-dick");
            var data = ml.Data.LoadFromEnumerable(text.Split("\n\n").Take(300).Select(p => new Corpora.Row { Text = p }));
            var model = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
                .Append(ml.Transforms.Text.RecurrentLanguageModel(new RecurrentLanguageModelEstimator.Options
                {
                    HiddenSize = 256, Epochs = 1, ValidationFraction = 0, Seed = 1,
                    Generation = new GenerationOptions { MaximumNewTokens = 200, StopToken = null },
                }))
                .Fit(data);
            double peakTraining = Machine.ResidentMiB().Peak;
            int vocabulary = model.LastTransformer.Vocabulary.Count;
            string hundred = text.Substring(5000, 100);
            var input = new Corpora.Row { Text = hundred };
            var prefix = new Corpora.Row { Text = text.Substring(6000, 20) };

            using var likelihood = ml.Model.CreatePredictionEngine<Corpora.Row, Likelihood>(model);
            using var distribution = ml.Model.CreatePredictionEngine<Corpora.Row, Distribution>(model);
            using var continuation = ml.Model.CreatePredictionEngine<Corpora.Row, Continuation>(model);

            using var lstm = nn.LSTM(vocabulary, 256);
            using var head = nn.Linear(256, vocabulary);
            lstm.eval();
            var hundredIds = Enumerable.Range(0, 101).Select(i => (long)(i % vocabulary)).ToArray();
            var prefixIds = hundredIds.Take(21).ToArray();

            var results = new[]
            {
                Measure("log-likelihood of a 100-character text", calls, () => likelihood.Predict(input), () => RawForward(lstm, head, hundredIds, vocabulary, likelihood: true)),
                Measure("next-token distribution after 20 characters", calls, () => distribution.Predict(prefix), () => RawForward(lstm, head, prefixIds, vocabulary, likelihood: false)),
                Measure("greedy generation of 200 characters", Math.Max(20, calls / 20), () => continuation.Predict(prefix), () => RawGenerate(lstm, head, prefixIds, vocabulary, 200)),
            };

            // Resident memory while scoring: after 1,000 and after memoryPredictions next-token predictions.
            double after1k = 0;
            for (int i = 1; i <= memoryPredictions; i++)
            {
                distribution.Predict(new Corpora.Row { Text = text.Substring(i % 100_000, 20) });
                if (i == 1000)
                    after1k = Machine.ResidentMiB().Current;
            }
            return (results, after1k, Machine.ResidentMiB().Current, peakTraining);
        }

        private static Latency Measure(string operation, int calls, Action library, Action raw)
        {
            for (int i = 0; i < 10; i++)
            {
                library();
                raw();
            }
            var ours = new double[calls];
            var baseline = new double[calls];
            for (int i = 0; i < calls; i++)
            {
                // Alternate, so that noise hits both.
                var clock = Stopwatch.StartNew();
                library();
                ours[i] = clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                raw();
                baseline[i] = clock.Elapsed.TotalMilliseconds;
            }
            return new Latency(operation, Percentile(ours, 0.5), Percentile(ours, 0.99), Percentile(baseline, 0.5), Percentile(baseline, 0.99));
        }

        private static void RawForward(LSTM lstm, Linear head, long[] ids, int vocabulary, bool likelihood)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var x = nn.functional.one_hot(tensor(ids).view(-1, 1), vocabulary).to(ScalarType.Float32);
            var (output, _, _) = lstm.call(x);
            var logits = head.call(output).squeeze(1);
            if (likelihood)
                logits.narrow(0, 0, ids.Length - 1).log_softmax(1).gather(1, tensor(ids[1..]).view(-1, 1)).sum().item<float>();
            else
                logits[-1].softmax(0).data<float>().ToArray();
        }

        private static void RawGenerate(LSTM lstm, Linear head, long[] prefix, int vocabulary, int count)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var (output, h, c) = lstm.call(nn.functional.one_hot(tensor(prefix).view(-1, 1), vocabulary).to(ScalarType.Float32));
            var logits = head.call(output[-1]).view(-1);
            for (int i = 0; i < count; i++)
            {
                using var step = NewDisposeScope();
                long next = logits.argmax().item<long>();
                var (o, h2, c2) = lstm.call(nn.functional.one_hot(tensor(new[] { next }).view(1, 1), vocabulary).to(ScalarType.Float32), (h, c));
                (h, c) = (h2.MoveToOuterDisposeScope(), c2.MoveToOuterDisposeScope());
                logits = head.call(o).view(-1).MoveToOuterDisposeScope();
            }
        }

        private static double Percentile(double[] values, double p)
        {
            var sorted = values.OrderBy(v => v).ToArray();
            return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        }
    }
}
