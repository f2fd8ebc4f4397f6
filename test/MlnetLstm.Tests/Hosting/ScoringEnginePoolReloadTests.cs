using System;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// <see cref="ScoringEnginePool{TInput, TOutput}.FromFile"/>: replacing the model file by an atomic rename switches
    /// to the new model, predictions across the swaps never fail and each comes whole from one model, and a corrupt
    /// file is rejected while the previous model goes on serving.
    /// </summary>
    [TestClass]
    public sealed class ScoringEnginePoolReloadTests
    {
        private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
        private static readonly TimeSpan Poll = TimeSpan.FromMilliseconds(100);
        private const string Probe = "the whale and the sea";
        private static MLContext _ml = null!;
        private static ITransformer _a = null!;
        private static ITransformer _b = null!;
        private static double _perplexityA;
        private static double _perplexityB;

        private sealed class Scored
        {
            public double Perplexity { get; set; }
        }

        [ClassInitialize]
        public static void Train(TestContext _)
        {
            _ml = new MLContext(seed: 1);
            var data = TinyLanguageModel.Data(_ml, TinyLanguageModel.Corpus(600));
            _a = TinyLanguageModel.Pipeline(_ml, TinyLanguageModel.Options(epochs: 1)).Fit(data);
            _b = TinyLanguageModel.Pipeline(_ml, TinyLanguageModel.Options(epochs: 4)).Fit(data);
            _perplexityA = Perplexity(_a);
            _perplexityB = Perplexity(_b);
            Assert.AreNotEqual(_perplexityA, _perplexityB, "The two models must score differently.");
        }

        private static double Perplexity(ITransformer model)
        {
            using var engine = _ml.Model.CreatePredictionEngine<TextRow, Scored>(model);
            return engine.Predict(new TextRow { Text = Probe }).Perplexity;
        }

        private static string SaveAtomically(ITransformer model, string path)
        {
            _ml.Model.SaveAtomically(model, TestData.Texts(_ml, "a").Schema, path);
            return path;
        }

        private static void WaitFor(Func<bool> condition, string what)
        {
            var clock = Stopwatch.StartNew();
            while (!condition())
            {
                if (clock.Elapsed > Wait)
                    Assert.Fail($"Not within {Wait.TotalSeconds:F0} s: {what}.");
                Thread.Sleep(20);
            }
        }

        /// <summary>Replaces the file by a rename, as a deployment does, with bytes that are not a model zip.</summary>
        private static void ReplaceWithGarbage(string path)
        {
            string temporary = path + ".garbage.tmp";
            File.WriteAllBytes(temporary, Enumerable.Range(0, 4096).Select(i => (byte)(i * 7)).ToArray());
            File.Move(temporary, path, overwrite: true);
        }

        [TestMethod]
        public void ReplacingTheFileByAnAtomicRenameSwitchesToTheNewModel()
        {
            string path = SaveAtomically(_a, Path.Combine(TestData.TempDirectory("pool-reload"), "model.zip"));
            using var pool = ScoringEnginePool<TextRow, Scored>.FromFile(_ml, path, pollingInterval: Poll);
            var reloaded = new ConcurrentQueue<ModelReloadEventArgs>();
            pool.Reloaded += (_, e) => reloaded.Enqueue(e);
            Assert.AreEqual(1, pool.ModelVersion);
            Assert.AreEqual(_perplexityA, pool.Predict(new TextRow { Text = Probe }).Perplexity);
            string firstSha = pool.ModelSha256!;

            SaveAtomically(_b, path);
            WaitFor(() => pool.ModelVersion == 2, "the pool switched to the replaced file");
            Assert.AreEqual(_perplexityB, pool.Predict(new TextRow { Text = Probe }).Perplexity);
            Assert.AreNotEqual(firstSha, pool.ModelSha256);
            WaitFor(() => reloaded.Count == 1, "one Reloaded event");
            Assert.IsTrue(reloaded.TryPeek(out var e) && e.Version == 2 && e.Error is null && e.Path == path);

            // The same bytes again (a touch, or a redeploy of the same file) are not a new version.
            File.SetLastWriteTimeUtc(path, DateTime.UtcNow.AddSeconds(5));
            Assert.IsFalse(pool.Reload());
            Assert.AreEqual(2, pool.ModelVersion);
        }

        [TestMethod]
        public void CorruptFileIsRejectedAndThePreviousModelGoesOnServing()
        {
            string path = SaveAtomically(_a, Path.Combine(TestData.TempDirectory("pool-corrupt"), "model.zip"));
            using var pool = ScoringEnginePool<TextRow, Scored>.FromFile(_ml, path, pollingInterval: Poll);
            var failures = new ConcurrentQueue<ModelReloadEventArgs>();
            pool.ReloadFailed += (_, e) => failures.Enqueue(e);

            ReplaceWithGarbage(path);
            WaitFor(() => !failures.IsEmpty, "a ReloadFailed event for the corrupt file");
            var failure = failures.Single();
            Assert.AreEqual(path, failure.Path);
            Assert.AreEqual(1, failure.Version);
            Assert.IsNotNull(failure.Error);
            Assert.Contains("zip", failure.Reason!, StringComparison.OrdinalIgnoreCase);
            Assert.AreSame(failure, pool.LastReloadFailure);
            Assert.AreEqual(1, pool.ModelVersion);
            Assert.AreEqual(_perplexityA, pool.Predict(new TextRow { Text = Probe }).Perplexity);
            var direct = Assert.ThrowsExactly<InvalidDataException>(() => pool.Reload());
            Assert.Contains("version 1 goes on serving", direct.Message);

            // Polls of the same bad file do not report it again; a good file afterwards is taken.
            Thread.Sleep(5 * Poll);
            Assert.AreEqual(2, failures.Count, "only the explicit Reload reported the same file again");
            SaveAtomically(_b, path);
            WaitFor(() => pool.ModelVersion == 2, "the pool took the good file after the corrupt one");
            Assert.IsNull(pool.LastReloadFailure);
            Assert.AreEqual(_perplexityB, pool.Predict(new TextRow { Text = Probe }).Perplexity);
        }

        [TestMethod]
        public void PredictionsAcrossSwapsNeverFailAndEachComesFromOneModel()
        {
            string path = SaveAtomically(_a, Path.Combine(TestData.TempDirectory("pool-swaps"), "model.zip"));
            using var pool = ScoringEnginePool<TextRow, Scored>.FromFile(_ml, path, pollingInterval: Poll, maximumRetained: 2);
            var errors = new ConcurrentQueue<Exception>();
            var unexpected = new ConcurrentQueue<double>();
            long predictions = 0;
            using var stop = new CancellationTokenSource();
            var threads = Enumerable.Range(0, 4).Select(_ => new Thread(() =>
            {
                while (!stop.IsCancellationRequested)
                {
                    try
                    {
                        double p = pool.Predict(new TextRow { Text = Probe }).Perplexity;
                        if (p != _perplexityA && p != _perplexityB)
                            unexpected.Enqueue(p);
                        Interlocked.Increment(ref predictions);
                    }
                    catch (Exception e)
                    {
                        errors.Enqueue(e);
                    }
                }
            })).ToList();
            threads.ForEach(t => t.Start());
            for (int swap = 1; swap <= 6; swap++)
            {
                SaveAtomically(swap % 2 == 1 ? _b : _a, path);
                WaitFor(() => pool.ModelVersion == swap + 1, $"swap {swap}");
                if (swap == 3)
                {
                    ReplaceWithGarbage(path);
                    WaitFor(() => pool.LastReloadFailure is not null, "the corrupt file in the middle of the swaps was rejected");
                }
            }
            stop.Cancel();
            threads.ForEach(t => Assert.IsTrue(t.Join(Wait)));
            Console.WriteLine($"{predictions:N0} predictions on 4 threads across 6 swaps and a corrupt file.");
            Assert.IsEmpty(errors, string.Join("\n", errors.Take(3)));
            Assert.IsEmpty(unexpected, "every prediction comes from one of the two models");
            Assert.IsGreaterThan(100, predictions);
        }

        [TestMethod]
        public void BadFilesAndArgumentsAreRejectedWithTheirNames()
        {
            string directory = TestData.TempDirectory("pool-bad");
            string missing = Path.Combine(directory, "missing.zip");
            var notFound = Assert.ThrowsExactly<FileNotFoundException>(() => ScoringEnginePool<TextRow, Scored>.FromFile(_ml, missing));
            Assert.Contains(missing, notFound.Message);

            string garbage = Path.Combine(directory, "garbage.zip");
            File.WriteAllBytes(garbage, new byte[] { 1, 2, 3 });
            var corrupt = Assert.ThrowsExactly<InvalidDataException>(() => ScoringEnginePool<TextRow, Scored>.FromFile(_ml, garbage));
            Assert.Contains(garbage, corrupt.Message);

            // The caller's validation rejects a model the same way (here: a tokenizer is no language model).
            string tokenizer = Path.Combine(directory, "tokenizer.zip");
            var tokenizerModel = _ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(_ml, "hello"));
            _ml.Model.Save(tokenizerModel, TestData.Texts(_ml, "a").Schema, tokenizer);
            var invalid = Assert.ThrowsExactly<InvalidDataException>(() => ScoringEnginePool<TextRow, TokenOutput>.FromFile(_ml, tokenizer, validate: m => m.GetLanguageModel()));
            Assert.Contains("RecurrentLanguageModel", invalid.Message);

            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ScoringEnginePool<TextRow, Scored>.FromFile(_ml, tokenizer, pollingInterval: TimeSpan.Zero));
            using var overObject = new ScoringEnginePool<TextRow, Scored>(_ml, _a);
            Assert.IsNull(overObject.ModelPath);
            Assert.Contains("FromFile", Assert.ThrowsExactly<InvalidOperationException>(() => overObject.Reload()).Message);
        }
    }
}
