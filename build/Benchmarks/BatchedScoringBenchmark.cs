using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using MlnetLstm.Transforms;

namespace MlnetLstm.Benchmarks
{
    /// <summary>
    /// The log-likelihood of a 100-character text under concurrency and against ONNX Runtime. One call: the managed
    /// engine (PredictionEngine), ONNX Runtime on ML.NET's ConvertToOnnx export of the same pipeline with one intra-op
    /// thread and with its default, the three alternating call by call. Concurrent callers (1, 4, 16, 64 threads):
    /// texts/s and per-call p50/p99 of <see cref="ScoringEnginePool{TInput, TOutput}"/> (each call on its own) against
    /// <see cref="LanguageModelBatcher"/> (calls stepped together), alternating window by window.
    /// </summary>
    internal static class BatchedScoringBenchmark
    {
        public static readonly int[] Callers = { 1, 4, 16, 64 };

        public sealed record SingleCall(ScoringBenchmark.Configuration Config, double ManagedP50, double ManagedP99, double OnnxOneP50, double OnnxOneP99,
            double OnnxDefaultP50, double OnnxDefaultP99);

        public sealed record Concurrent(ScoringBenchmark.Configuration Config, int Callers, double PoolPerSecond, double PoolP50, double PoolP99,
            double BatchedPerSecond, double BatchedP50, double BatchedP99);

        private sealed class Likelihood
        {
            public double LogLikelihood { get; set; }
        }

        public static (SingleCall Single, List<Concurrent> Concurrent) Measure(ScoringBenchmark.Configuration config, int calls, TimeSpan window, int windows)
        {
            var ml = new MLContext(seed: 1);
            var model = ScoringBenchmark.Train(ml, config).WithoutGeneratedColumn();
            string corpus = Corpora.Read(config.Corpus);
            var texts = Enumerable.Range(0, 256).Select(i => new Corpora.Row { Text = corpus.Substring(5000 + 397 * i, 100) }).ToArray();

            // One call at a time: ours and ONNX Runtime's two thread settings, alternating.
            byte[] onnx;
            using (var stream = new MemoryStream())
            {
                ml.Model.ConvertToOnnx(model, ml.Data.LoadFromEnumerable(texts.Take(1)), stream);
                onnx = stream.ToArray();
            }
            using var oneThread = new InferenceSession(onnx, new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 });
            using var defaults = new InferenceSession(onnx);
            using var engine = ml.Model.CreatePredictionEngine<Corpora.Row, Likelihood>(model);
            double expected = engine.Predict(texts[0]).LogLikelihood;
            foreach (var session in new[] { oneThread, defaults })
                if (Math.Abs(Onnx(session, texts[0].Text) - expected) > 1e-3 * Math.Abs(expected))
                    throw new InvalidOperationException($"ONNX Runtime's log-likelihood {Onnx(session, texts[0].Text)} is not the engine's {expected}: the contenders do not compute the same thing.");
            var times = new double[3][];
            for (int k = 0; k < 3; k++)
                times[k] = new double[calls];
            for (int i = -10; i < calls; i++)
            {
                var text = texts[(i + 10) % texts.Length];
                var clock = Stopwatch.StartNew();
                engine.Predict(text);
                double managed = clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                Onnx(oneThread, text.Text);
                double one = clock.Elapsed.TotalMilliseconds;
                clock.Restart();
                Onnx(defaults, text.Text);
                double all = clock.Elapsed.TotalMilliseconds;
                if (i < 0)
                    continue;
                (times[0][i], times[1][i], times[2][i]) = (managed, one, all);
            }
            var single = new SingleCall(config, P(times[0], 0.5), P(times[0], 0.99), P(times[1], 0.5), P(times[1], 0.99), P(times[2], 0.5), P(times[2], 0.99));

            // Concurrent callers, window by window: the pool (each call alone) and the batcher (calls stepped together).
            using var pool = new ScoringEnginePool<Corpora.Row, Likelihood>(ml, model);
            using var batcher = new LanguageModelBatcher();
            var rows = new List<Concurrent>();
            foreach (int callers in Callers)
            {
                var poolRuns = new List<(double PerSecond, double[] Latencies)>();
                var batchedRuns = new List<(double PerSecond, double[] Latencies)>();
                Run(callers, TimeSpan.FromSeconds(1), text => { pool.Predict(text); return Task.CompletedTask; }, texts);
                Run(callers, TimeSpan.FromSeconds(1), text => batcher.ScoreAsync(model, text), texts);
                for (int w = 0; w < windows; w++)
                {
                    poolRuns.Add(Run(callers, window, text => { pool.Predict(text); return Task.CompletedTask; }, texts));
                    batchedRuns.Add(Run(callers, window, text => batcher.ScoreAsync(model, text), texts));
                }
                var poolMedian = poolRuns.OrderBy(r => r.PerSecond).ElementAt(windows / 2);
                var batchedMedian = batchedRuns.OrderBy(r => r.PerSecond).ElementAt(windows / 2);
                rows.Add(new Concurrent(config, callers, poolMedian.PerSecond, P(poolMedian.Latencies, 0.5), P(poolMedian.Latencies, 0.99),
                    batchedMedian.PerSecond, P(batchedMedian.Latencies, 0.5), P(batchedMedian.Latencies, 0.99)));
                Console.WriteLine($"  {callers} callers: pool {poolMedian.PerSecond:F0}/s, batched {batchedMedian.PerSecond:F0}/s");
            }
            return (single, rows);
        }

        /// <summary><paramref name="callers"/> threads calling <paramref name="score"/> back to back for <paramref name="window"/>: texts/s and every call's latency.</summary>
        private static (double PerSecond, double[] Latencies) Run(int callers, TimeSpan window, Func<Corpora.Row, Task> score, Corpora.Row[] texts)
        {
            var latencies = new List<double>[callers];
            var clock = Stopwatch.StartNew();
            var threads = Enumerable.Range(0, callers).Select(c => new Thread(() =>
            {
                var mine = latencies[c] = new List<double>();
                for (int i = c; clock.Elapsed < window; i += callers)
                {
                    long start = Stopwatch.GetTimestamp();
                    score(texts[i % texts.Length]).GetAwaiter().GetResult();
                    mine.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                }
            })).ToArray();
            foreach (var thread in threads)
                thread.Start();
            foreach (var thread in threads)
                thread.Join();
            double elapsed = clock.Elapsed.TotalSeconds;
            var all = latencies.SelectMany(l => l).ToArray();
            return (all.Length / elapsed, all);
        }

        private static double Onnx(InferenceSession session, string text)
        {
            using var input = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, new long[] { 1, 1 });
            input.StringTensorSetElementAt(text.AsSpan(), 0);
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, new Dictionary<string, OrtValue> { ["Text"] = input }, new[] { "LogLikelihood.output" });
            return outputs[0].GetTensorDataAsSpan<double>()[0];
        }

        private static double P(double[] values, double p) => ScoringBenchmark.Percentile(values, p);
    }
}
