using System;
using System.Collections.Generic;
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
    /// Scoring latency through PredictionEngine (MlnetLstm's managed engine; p50/p99) for the log-likelihood of a
    /// 100-character text, the next-token distribution after 20 characters, and greedy generation of 200 characters,
    /// against the same computations in raw TorchSharp calls on an nn.LSTM + Linear of the same shape, the two
    /// alternating call by call. Also the process's resident memory after 1,000 and after many predictions.
    /// </summary>
    internal static class ScoringBenchmark
    {
        /// <summary>A model shape to measure.</summary>
        public sealed record Configuration(string Corpus, int HiddenSize)
        {
            public override string ToString() => $"{Corpus} LSTM 1×{HiddenSize}";
        }

        public sealed record Latency(Configuration Config, int Vocabulary, string Operation, double P50Ms, double P99Ms, double RawP50Ms, double RawP99Ms);

        public static readonly Configuration[] Configurations =
        {
            new("moby-dick", 256),
            new("moby-dick", 512),
            new("songci", 256),
        };

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

        /// <summary>Trains a model of the configuration for a few seconds (latency does not depend on how well), on one TorchSharp thread.</summary>
        public static TransformerChain<RecurrentLanguageModelTransformer> Train(MLContext ml, Configuration config)
        {
            string text = Corpora.Read(config.Corpus);
            var data = ml.Data.LoadFromEnumerable(text.Split("\n\n").Take(300).Select(p => new Corpora.Row { Text = p }));
            return ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Text.RecurrentLanguageModel(new RecurrentLanguageModelTrainer.Options
                {
                    HiddenSize = config.HiddenSize, Epochs = 1, ValidationFraction = 0, Seed = 1, TimeBudget = TimeSpan.FromSeconds(5),
                    Generation = new GenerationOptions { MaximumNewTokens = 200, StopToken = null },
                }))
                .Fit(data);
        }

        /// <summary>The three operations, ours and raw, for one configuration.</summary>
        public static List<Latency> Measure(Configuration config, int calls)
        {
            var ml = new MLContext(seed: 1);
            var model = Train(ml, config);
            string text = Corpora.Read(config.Corpus);
            int vocabulary = model.LastTransformer.Vocabulary.Count;
            var input = new Corpora.Row { Text = text.Substring(5000, 100) };
            var prefix = new Corpora.Row { Text = text.Substring(6000, 20) };

            using var likelihood = ml.Model.CreatePredictionEngine<Corpora.Row, Likelihood>(model);
            using var distribution = ml.Model.CreatePredictionEngine<Corpora.Row, Distribution>(model);
            using var continuation = ml.Model.CreatePredictionEngine<Corpora.Row, Continuation>(model);
            if (continuation.Predict(prefix).Generated.Length != 200)
                throw new InvalidOperationException("The benchmark's continuation must be 200 characters long.");

            using var lstm = nn.LSTM(vocabulary, config.HiddenSize);
            using var head = nn.Linear(config.HiddenSize, vocabulary);
            lstm.eval();
            var hundredIds = Enumerable.Range(0, 101).Select(i => (long)(i % vocabulary)).ToArray();
            var prefixIds = hundredIds.Take(21).ToArray();
            return new List<Latency>
            {
                Measure(config, vocabulary, "log-likelihood of 100 characters", calls, () => likelihood.Predict(input), () => RawForward(lstm, head, hundredIds, vocabulary, likelihood: true)),
                Measure(config, vocabulary, "next-token distribution after 20 characters", calls, () => distribution.Predict(prefix), () => RawForward(lstm, head, prefixIds, vocabulary, likelihood: false)),
                Measure(config, vocabulary, "greedy generation of 200 characters", Math.Max(20, calls / 20), () => continuation.Predict(prefix), () => RawGenerate(lstm, head, prefixIds, vocabulary, 200)),
            };
        }

        /// <summary>Resident memory while scoring: after 1,000 and after <paramref name="predictions"/> next-token predictions of the first configuration.</summary>
        public static (double RssAfter1k, double RssAfterAll) Memory(int predictions)
        {
            var ml = new MLContext(seed: 1);
            var model = Train(ml, Configurations[0]);
            string text = Corpora.Read(Configurations[0].Corpus);
            using var distribution = ml.Model.CreatePredictionEngine<Corpora.Row, Distribution>(model);
            double after1k = 0;
            for (int i = 1; i <= predictions; i++)
            {
                distribution.Predict(new Corpora.Row { Text = text.Substring(i % 100_000, 20) });
                if (i == 1000)
                    after1k = Machine.ResidentMiB().Current;
            }
            return (after1k, Machine.ResidentMiB().Current);
        }

        private static Latency Measure(Configuration config, int vocabulary, string operation, int calls, Action library, Action raw)
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
            return new Latency(config, vocabulary, operation, Percentile(ours, 0.5), Percentile(ours, 0.99), Percentile(baseline, 0.5), Percentile(baseline, 0.99));
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

        /// <summary>The <paramref name="p"/> quantile (0 to 1) of <paramref name="values"/>, by the nearest-rank rule.</summary>
        internal static double Percentile(double[] values, double p)
        {
            var sorted = values.OrderBy(v => v).ToArray();
            return sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        }
    }
}
