using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics.Metrics;
using System.Linq;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// <see cref="LanguageModelBatcher"/>: texts stepped together get what the one-text path gives them (the
    /// PredictionEngine's log-likelihood, GenerateTokens' greedy and seeded continuations), a failing text leaves its
    /// batch without disturbing the others, texts of two models (a reload) never mix, and the queue is bounded.
    /// </summary>
    [TestClass]
    public sealed class LanguageModelBatcherTests
    {
        private const double Tolerance = 1e-6;

        private const string Corpus =
            "It was the best of times, it was the worst of times, it was the age of wisdom, it was the age of foolishness, " +
            "it was the epoch of belief, it was the epoch of incredulity, it was the season of light, it was the season of darkness.";

        private static MLContext _ml = null!;
        private static ITransformer _model = null!;
        private static ITransformer _other = null!;

        private sealed class Likelihood
        {
            public double LogLikelihood { get; set; }
        }

        [ClassInitialize]
        public static void Train(TestContext context)
        {
            _ml = new MLContext(seed: 1);
            var options = LanguageModelTestKit.SmallOptions(seed: 3, epochs: 3);
            options.HiddenSize = 32;
            _model = LanguageModelTestKit.Fit(_ml, options, Corpus);
            options.Seed = 4;
            _other = LanguageModelTestKit.Fit(_ml, options, Corpus);
        }

        /// <summary>Texts of 1 to 90 characters, from places all over the corpus.</summary>
        private static string[] Texts(int count) => Enumerable.Range(0, count)
            .Select(i => Corpus.Substring(i * 7 % 100, 1 + i * 13 % 90)).ToArray();

        private static double Reference(ITransformer model, string text)
        {
            using var engine = _ml.Model.CreatePredictionEngine<TextRow, Likelihood>(model);
            return engine.Predict(new TextRow { Text = text }).LogLikelihood;
        }

        private static string Reference(ITransformer model, string prefix, GenerationOptions generation)
            => string.Concat(model.GenerateTokens(new TextRow { Text = prefix }, generation));

        private static async Task<string> ReadAsync(IAsyncEnumerable<string> tokens)
        {
            var text = new System.Text.StringBuilder();
            await foreach (var token in tokens)
                text.Append(token);
            return text.ToString();
        }

        /// <summary>Options that make texts share steps however the threads are scheduled: one worker that waits long for company.</summary>
        private static LanguageModelBatcherOptions Batched(int maximumBatchSize = 16) => new()
        {
            MaximumBatchSize = maximumBatchSize,
            Workers = 1,
            BatchWindow = TimeSpan.FromMilliseconds(10),
        };

        /// <summary>Records the sizes of the batched steps of every batcher while it lives.</summary>
        private sealed class BatchSizes : IDisposable
        {
            private readonly MeterListener _listener = new();

            public BatchSizes()
            {
                _listener.InstrumentPublished = (instrument, listener) =>
                {
                    if (instrument.Meter.Name == LanguageModelBatcher.MeterName && instrument.Name == "mlnetlstm.batch.size")
                        listener.EnableMeasurementEvents(instrument);
                };
                _listener.SetMeasurementEventCallback<int>((_, value, _, _) => Sizes.Add(value));
                _listener.Start();
            }

            public ConcurrentBag<int> Sizes { get; } = new();

            public void Dispose() => _listener.Dispose();
        }

        [TestMethod]
        public async Task ScoresInBatchesEqualThePredictionEngines()
        {
            var texts = Texts(24);
            var expected = texts.Select(t => Reference(_model, t)).ToArray();
            using var sizes = new BatchSizes();
            using var batcher = new LanguageModelBatcher(Batched());
            var actual = await Task.WhenAll(texts.Select(t => batcher.ScoreAsync(_model, new TextRow { Text = t })));
            for (int i = 0; i < texts.Length; i++)
            {
                Assert.AreEqual(expected[i], actual[i].LogLikelihood, Tolerance, $"text {i} ({texts[i].Length} characters)");
                Assert.AreEqual(texts[i].Length, actual[i].Tokens, $"text {i}: a character model has one token per character");
            }
            Assert.IsLessThan(-10.0, expected.Min(), "the likelihoods must vary, or the comparison tests little");
            Assert.IsGreaterThan(4, sizes.Sizes.Max(), "texts must have shared steps, or nothing was batched");
        }

        [TestMethod]
        public async Task GreedyAndSeededContinuationsInBatchesEqualGenerateTokens()
        {
            var requests = Enumerable.Range(0, 12).Select(i => (
                Prefix: Corpus.Substring(i * 11 % 80, 3 + i % 5),
                Generation: new GenerationOptions
                {
                    MaximumNewTokens = 10 + 7 * i % 40,
                    Greedy = i % 3 == 0,
                    Temperature = 0.7f + 0.1f * (i % 4),
                    TopK = i % 4 == 1 ? 5 : 0,
                    TopP = i % 4 == 2 ? 0.9f : 1,
                    RepetitionPenalty = i % 2 == 0 ? 1.2f : 1,
                    Seed = 100 + i,
                    StopToken = i % 5 == 0 ? "e" : null,
                })).ToArray();
            var expected = requests.Select(r => Reference(_model, r.Prefix, r.Generation)).ToArray();
            using var sizes = new BatchSizes();
            using var batcher = new LanguageModelBatcher(Batched());
            var actual = await Task.WhenAll(requests.Select(r => ReadAsync(batcher.GenerateAsync(_model, new TextRow { Text = r.Prefix }, r.Generation))));
            CollectionAssert.AreEqual(expected, actual);
            Assert.IsGreaterThan(5, expected.Distinct().Count(), "the continuations must differ, or the comparison tests little");
            Assert.IsGreaterThan(4, sizes.Sizes.Max(), "continuations must have shared steps, or nothing was batched");
        }

        /// <summary>
        /// Among ten continuations in one batch: one refused for a bad option before it starts, one whose token is
        /// cancelled after its first token, one whose reader stops after two. The other seven get their whole continuations.
        /// </summary>
        [TestMethod]
        public async Task FailingTextsLeaveTheirBatchWithoutDisturbingTheOthers()
        {
            var generation = new GenerationOptions { MaximumNewTokens = 60, Greedy = false, Seed = 9, StopToken = null };
            var prefixes = Enumerable.Range(0, 10).Select(i => Corpus.Substring(i * 9, 4)).ToArray();
            var expected = prefixes.Select(p => Reference(_model, p, generation)).ToArray();
            using var batcher = new LanguageModelBatcher(Batched());

            var bad = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => batcher.GenerateAsync(_model, new TextRow { Text = prefixes[0] }, generation with { TopP = 2 }));
            StringAssert.Contains(bad.Message, "TopP");
            using var cancellation = new CancellationTokenSource();
            var streams = prefixes.Select((p, i) => batcher.GenerateAsync(_model, new TextRow { Text = p }, generation, i == 1 ? cancellation.Token : default)).ToArray();

            async Task<string> CancelledAfterFirstToken()
            {
                await foreach (var _ in streams[1])
                    cancellation.Cancel();
                return "finished";
            }
            async Task<string> AbandonedAfterTwoTokens()
            {
                int read = 0;
                await foreach (var _ in streams[2])
                    if (++read == 2)
                        break;
                return "abandoned";
            }
            var cancelled = CancelledAfterFirstToken();
            var abandoned = AbandonedAfterTwoTokens();
            var others = await Task.WhenAll(streams.Skip(3).Select(ReadAsync));

            await Assert.ThrowsAsync<OperationCanceledException>(() => cancelled);
            Assert.AreEqual("abandoned", await abandoned);
            CollectionAssert.AreEqual(expected.Skip(3).ToArray(), others);
            // The abandoned text leaves its batch at its next step, then nothing of it is left.
            for (int i = 0; i < 500 && batcher.ActiveTexts > 0; i++)
                await Task.Delay(10);
            Assert.AreEqual(0, batcher.ActiveTexts, "texts still held by the batcher");
        }

        /// <summary>Texts of two models in one worker at once (a reload under load): each gets its own model's results.</summary>
        [TestMethod]
        public async Task TextsOfTwoModelsInOneWorkerEachGetTheirModelsResults()
        {
            var texts = Texts(16);
            var models = texts.Select((_, i) => i % 2 == 0 ? _model : _other).ToArray();
            var expected = texts.Select((t, i) => Reference(models[i], t)).ToArray();
            Assert.AreNotEqual(Reference(_model, texts[3]), Reference(_other, texts[3]), "the two models must differ, or the test shows nothing");
            using var batcher = new LanguageModelBatcher(Batched());
            var actual = await Task.WhenAll(texts.Select((t, i) => batcher.ScoreAsync(models[i], new TextRow { Text = t })));
            for (int i = 0; i < texts.Length; i++)
                Assert.AreEqual(expected[i], actual[i].LogLikelihood, Tolerance, $"text {i}");
        }

        /// <summary>The batcher's queue length now, read through its <c>mlnetlstm.batch.queued</c> gauge.</summary>
        private static int Queued()
        {
            int queued = -1;
            using var listener = new MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == LanguageModelBatcher.MeterName && instrument.Name == "mlnetlstm.batch.queued")
                    l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<int>((_, value, _, _) => queued = value);
            listener.Start();
            listener.RecordObservableInstruments();
            return queued;
        }

        /// <summary>
        /// One worker busy with one text (the likelihood of a million characters, taken from the queue) and a queue of
        /// two: the next request is refused at once, with the wait to allow, and nothing of it starts.
        /// </summary>
        [TestMethod]
        public async Task FullQueueRefusesWithRetryAfter()
        {
            using var batcher = new LanguageModelBatcher(new LanguageModelBatcherOptions
            {
                MaximumBatchSize = 1, Workers = 1, MaximumQueuedRequests = 2, RetryAfter = TimeSpan.FromSeconds(3),
            });
            using var stop = new CancellationTokenSource();
            var running = batcher.ScoreAsync(_model, new TextRow { Text = string.Concat(Enumerable.Repeat(Corpus, 1_000_000 / Corpus.Length)) }, stop.Token);
            for (int i = 0; i < 6000 && Queued() != 0; i++)
                await Task.Delay(10);
            Assert.AreEqual(0, Queued(), "the long text was taken by the worker");
            Assert.IsFalse(running.IsCompleted, "a million steps take far longer than this test's next lines");
            var queued = new[] { "the", "age" }.Select(p => batcher.ScoreAsync(_model, new TextRow { Text = p }, stop.Token)).ToArray();
            var e = Assert.ThrowsExactly<LanguageModelBatcherFullException>(() => batcher.ScoreAsync(_model, new TextRow { Text = "of" }));
            Assert.AreEqual(TimeSpan.FromSeconds(3), e.RetryAfter);
            StringAssert.Contains(e.Message, "MaximumQueuedRequests");
            Assert.AreEqual(3, batcher.ActiveTexts, "the refused request must not be counted");

            stop.Cancel();
            foreach (var task in queued.Append(running))
                await Assert.ThrowsAsync<OperationCanceledException>(() => task);
        }

        /// <summary>A continuation held for a reader that reads nothing keeps no batch place: a worker of one place goes on scoring.</summary>
        [TestMethod]
        public async Task HeldContinuationKeepsNoBatchPlace()
        {
            var texts = Texts(6);
            var expected = texts.Select(t => Reference(_model, t)).ToArray();
            using var batcher = new LanguageModelBatcher(new LanguageModelBatcherOptions { MaximumBatchSize = 1, Workers = 1 });
            await using var stalled = batcher.GenerateAsync(_model, new TextRow { Text = "it was" }, new GenerationOptions { MaximumNewTokens = 1_000_000, StopToken = null })
                .GetAsyncEnumerator();
            Assert.IsTrue(await stalled.MoveNextAsync());
            foreach (var (text, i) in texts.Select((t, i) => (t, i)))
                Assert.AreEqual(expected[i], (await batcher.ScoreAsync(_model, new TextRow { Text = text }).WaitAsync(TimeSpan.FromSeconds(60))).LogLikelihood, Tolerance);
            Assert.AreEqual(1, batcher.ActiveTexts, "the stalled continuation is still there, held");
        }

        /// <summary>
        /// Nothing starts before the stream is enumerated; a reader that then reads nothing holds its continuation
        /// after 64 unread tokens (no memory or steps spent on a stalled client); once it reads, the continuation goes
        /// on to the same text as the one-text path.
        /// </summary>
        [TestMethod]
        public async Task StalledReaderHoldsItsContinuationAndThenGetsAllOfIt()
        {
            var generation = new GenerationOptions { MaximumNewTokens = 400, Greedy = false, Seed = 5, StopToken = null };
            string expected = Reference(_model, "it was", generation);
            long generated = 0;
            using var listener = new MeterListener();
            listener.InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Name == LanguageModelBatcher.MeterName && instrument.Name == "mlnetlstm.generated.tokens")
                    l.EnableMeasurementEvents(instrument);
            };
            listener.SetMeasurementEventCallback<long>((_, value, _, _) => Interlocked.Add(ref generated, value));
            listener.Start();
            using var batcher = new LanguageModelBatcher(Batched());
            Assert.AreEqual(0, batcher.ActiveTexts, "nothing starts before the stream is enumerated");
            await using var stream = batcher.GenerateAsync(_model, new TextRow { Text = "it was" }, generation).GetAsyncEnumerator();
            Assert.IsTrue(await stream.MoveNextAsync());
            string first = stream.Current;
            for (int i = 0; i < 2000 && Interlocked.Read(ref generated) < 65; i++)
                await Task.Delay(10);
            Assert.AreEqual(65L, Interlocked.Read(ref generated), "the token read and 64 waiting for the reader");
            await Task.Delay(200);
            Assert.AreEqual(65L, Interlocked.Read(ref generated), "no more while the reader reads nothing");
            Assert.AreEqual(1, batcher.ActiveTexts, "the held continuation keeps its place");
            var rest = new System.Text.StringBuilder(first);
            while (await stream.MoveNextAsync())
                rest.Append(stream.Current);
            Assert.AreEqual(expected, rest.ToString());
            Assert.AreEqual(400, expected.Length, "a character model's 400 tokens");
        }

        [TestMethod]
        public async Task StopLetsRunningTextsFinishAndThenRefusesNewOnes()
        {
            var generation = new GenerationOptions { MaximumNewTokens = 40, StopToken = null };
            string expected = Reference(_model, "it was", generation);
            var batcher = new LanguageModelBatcher(Batched());
            var stream = ReadAsync(batcher.GenerateAsync(_model, new TextRow { Text = "it was" }, generation));
            Assert.IsTrue(batcher.Stop(TimeSpan.FromSeconds(30)), "the continuation ends well within the time");
            Assert.AreEqual(expected, await stream);
            var e = Assert.ThrowsExactly<LanguageModelBatcherFullException>(() => batcher.ScoreAsync(_model, new TextRow { Text = "it" }));
            StringAssert.Contains(e.Message, "stopping");
            batcher.Dispose();
        }

        [TestMethod]
        public async Task DisposeEndsRunningTextsWithACancellation()
        {
            var batcher = new LanguageModelBatcher(Batched());
            var stream = batcher.GenerateAsync(_model, new TextRow { Text = "it was" }, new GenerationOptions { MaximumNewTokens = 1_000_000, StopToken = null }).GetAsyncEnumerator();
            Assert.IsTrue(await stream.MoveNextAsync());
            batcher.Dispose();
            var e = await Assert.ThrowsAsync<OperationCanceledException>(async () => { while (await stream.MoveNextAsync()) { } });
            StringAssert.Contains(e.Message, "stopped before this text was finished");
        }

        [TestMethod]
        [DataRow("MaximumBatchSize")]
        [DataRow("BatchWindow")]
        [DataRow("MaximumQueuedRequests")]
        [DataRow("Workers")]
        public void OptionOutOfRangeIsNamed(string option)
        {
            var options = new LanguageModelBatcherOptions();
            switch (option)
            {
                case "MaximumBatchSize": options.MaximumBatchSize = 0; break;
                case "BatchWindow": options.BatchWindow = TimeSpan.FromMilliseconds(-1); break;
                case "MaximumQueuedRequests": options.MaximumQueuedRequests = 0; break;
                default: options.Workers = 0; break;
            }
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new LanguageModelBatcher(options));
            Assert.AreEqual(option, e.ParamName);
            StringAssert.Contains(e.Message, $"LanguageModelBatcherOptions.{option} is ");
        }
    }
}
