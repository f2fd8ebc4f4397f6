using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// <see cref="ScoringEnginePool{TInput, TOutput}"/> over a language model pipeline under contention: 8 threads ×
    /// 1,000 predictions, started together, every output compared bit for bit (perplexity, next-token probabilities,
    /// greedy generation of 5 tokens) with the results of one PredictionEngine on one thread.
    /// </summary>
    [TestClass]
    public sealed class ConcurrencyTests
    {
        private const int Threads = 8;
        private const int PredictionsPerThread = 1_000;
        private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(120);

        private static MLContext _ml = null!;
        private static ITransformer _model = null!;
        private static byte[] _zip = Array.Empty<byte>();
        private static string[] _prefixes = Array.Empty<string>();
        private static string[] _expected = Array.Empty<string>();

        [ClassInitialize]
        public static void Train(TestContext _)
        {
            _ml = new MLContext(seed: 1);
            var corpus = TinyLanguageModel.Corpus(600);
            var data = TinyLanguageModel.Data(_ml, corpus);
            _model = TinyLanguageModel.Pipeline(_ml, TinyLanguageModel.Options(epochs: 2)).Fit(data);
            using (var stream = new MemoryStream())
            {
                _ml.Model.Save(_model, data.Schema, stream);
                _zip = stream.ToArray();
            }
            // 40 prefixes of 1 to 30 characters cut from the corpus, and a few with characters it never saw.
            var text = string.Join(" ", corpus);
            var random = new Random(5);
            _prefixes = Enumerable.Range(0, 40).Select(_ =>
            {
                int length = random.Next(1, 31);
                return text.Substring(random.Next(text.Length - length), length);
            }).Concat(new[] { "The WHALE!", "sea 🌊 salt", "q" }).ToArray();

            // Expected outputs: one engine, one thread, each prefix once.
            using var engine = _ml.Model.CreatePredictionEngine<TextRow, LanguageModelOutput>(_model, ignoreMissingColumns: false);
            _expected = _prefixes.Select(p => Runner.Format(engine.Predict(new TextRow { Text = p }))).ToArray();
            Assert.IsGreaterThan(_prefixes.Length * 9 / 10, _expected.Distinct().Count(), "The prefixes must give different outputs.");
            Assert.IsTrue(_expected.All(e => e.Contains("Generated=", StringComparison.Ordinal) && !e.StartsWith("Generated= ", StringComparison.Ordinal)),
                "Every prefix must have a generated continuation.");
        }

        [TestMethod]
        [DataRow(null, DisplayName = "trained model, default pool")]
        [DataRow(1, DisplayName = "trained model, pool keeping one engine (engines created and disposed under load)")]
        public void PoolOverTheTrainedModelGivesTheSingleThreadedOutputs(int? maximumRetained) => Run(_model, maximumRetained);

        [TestMethod]
        public void PoolOverAReloadedModelGivesTheSingleThreadedOutputs()
        {
            var ml = new MLContext(seed: 2);
            using var stream = new MemoryStream(_zip, writable: false);
            Run(ml.Model.Load(stream, out _), maximumRetained: null, ml);
        }

        [TestMethod]
        public void PoolOverALearnedBpeModelGivesTheSingleThreadedOutputs()
        {
            // One BpeTokenizer (Microsoft.ML.Tokenizers, with its word cache) serves every thread's engine.
            var subword = _ml.Transforms.Text.TokenizeWithLearnedBpe("Tokens", "Text", 60)
                .Append(_ml.Transforms.Text.RecurrentLanguageModel(TinyLanguageModel.Options(epochs: 2)))
                .Fit(TinyLanguageModel.Data(_ml, TinyLanguageModel.Corpus(600)));
            using var engine = _ml.Model.CreatePredictionEngine<TextRow, LanguageModelOutput>(subword, ignoreMissingColumns: false);
            Run(subword, maximumRetained: null, expected: _prefixes.Select(p => Runner.Format(engine.Predict(new TextRow { Text = p }))).ToArray());
        }

        private static void Run(ITransformer model, int? maximumRetained, MLContext? ml = null, string[]? expected = null)
        {
            expected ??= _expected;
            using var pool = new ScoringEnginePool<TextRow, LanguageModelOutput>(ml ?? _ml, model, maximumRetained);
            var mismatches = new ConcurrentQueue<string>();
            var errors = new ConcurrentQueue<Exception>();
            long compared = 0;
            using var start = new Barrier(Threads);
            var watch = Stopwatch.StartNew();
            var threads = Enumerable.Range(0, Threads).Select(t => new Thread(() =>
            {
                try
                {
                    start.SignalAndWait();
                    for (int i = 0; i < PredictionsPerThread; i++)
                    {
                        // Each thread walks the prefixes in its own order, so different prefixes run at the same time.
                        int k = (t * 7 + i * (2 * t + 1)) % _prefixes.Length;
                        string actual = Runner.Format(pool.Predict(new TextRow { Text = _prefixes[k] }));
                        if (actual != expected[k])
                            mismatches.Enqueue($"thread {t}, prediction {i}, prefix '{_prefixes[k]}':\n  got      {actual}\n  expected {expected[k]}");
                        Interlocked.Increment(ref compared);
                    }
                }
                catch (Exception e)
                {
                    errors.Enqueue(e);
                }
            })).ToList();
            threads.ForEach(thread => thread.Start());
            foreach (var thread in threads)
                Assert.IsTrue(thread.Join(Timeout), $"A thread did not finish within {Timeout.TotalSeconds:F0} s.");
            Console.WriteLine($"{compared:N0} predictions on {Threads} threads in {watch.Elapsed.TotalSeconds:F1} s; {mismatches.Count} mismatches.");

            Assert.IsEmpty(errors, string.Join("\n", errors.Take(3)));
            Assert.IsEmpty(mismatches, string.Join("\n", mismatches.Take(5)));
            Assert.AreEqual((long)Threads * PredictionsPerThread, compared);
        }
    }
}
