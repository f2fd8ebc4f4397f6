using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The web API with batching (src/Samples/WebApi, LanguageModelService.Batcher), in-process: concurrent requests
    /// get the answers of the service without batching, a full queue answers 503 with Retry-After while the requests
    /// already taken go on, and /metrics publishes the batch sizes, the requests and the model version.
    /// </summary>
    [TestClass]
    public sealed class WebApiBatchingTests
    {
        private static MLContext _ml = null!;
        private static ITransformer _model = null!;

        [ClassInitialize]
        public static void Train(TestContext _)
        {
            _ml = new MLContext(seed: 1);
            var data = TinyLanguageModel.Data(_ml, TinyLanguageModel.Corpus(600));
            _model = TinyLanguageModel.Pipeline(_ml, TinyLanguageModel.Options(epochs: 2)).Fit(data);
        }

        /// <summary>The app with the given Model settings (names without the section).</summary>
        private static WebApiApp App(params (string Name, string Value)[] settings)
            => new(_ml, _model, "web-batching", settings.ToDictionary(s => "Model:" + s.Name, s => s.Value));

        private static StringContent Body(object value) => new(JsonSerializer.Serialize(value), Encoding.UTF8, "application/json");

        private static async Task<double> ScoreAsync(HttpClient client, string text)
        {
            using var response = await client.PostAsync("/score", Body(new { text }));
            string body = await response.Content.ReadAsStringAsync();
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
            using var json = JsonDocument.Parse(body);
            return json.RootElement.GetProperty("logLikelihood").GetDouble();
        }

        private static string[] Texts()
        {
            string corpus = string.Join(" ", TinyLanguageModel.Corpus(600));
            return Enumerable.Range(0, 24).Select(i => corpus.Substring(i * 5, 5 + 3 * i)).ToArray();
        }

        [TestMethod]
        public async Task ConcurrentScoresInBatchesEqualTheServiceWithoutBatching()
        {
            var texts = Texts();
            using var unbatched = App(("MaximumBatchSize", "1"));
            using var batched = App(("MaximumBatchSize", "16"), ("BatchWindowMicroseconds", "5000"));
            var plain = unbatched.CreateClient();
            var expected = new double[texts.Length];
            for (int i = 0; i < texts.Length; i++)
                expected[i] = await ScoreAsync(plain, texts[i]);
            var client = batched.CreateClient();
            var actual = await Task.WhenAll(texts.Select(t => ScoreAsync(client, t)));
            for (int i = 0; i < texts.Length; i++)
                Assert.AreEqual(expected[i], actual[i], 1e-6, $"text {i}");

            string metrics = await client.GetStringAsync("/metrics");
            var sizes = Line(metrics, "mlnetlstm_batch_size_count");
            Assert.IsGreaterThan(0.0, Value(sizes), $"batched steps published: {sizes}");
            var sums = Line(metrics, "mlnetlstm_batch_size_sum");
            Assert.IsGreaterThan(Value(sizes), Value(sums), "some steps served more than one text");
            Assert.AreEqual(1.0, Value(Line(metrics, "mlnetlstm_model_version")));
            var scores = Line(metrics, "http_server_request_duration_seconds_count", "http_route=\"/score\"");
            Assert.AreEqual(24.0, Value(scores), $"the /score requests counted: {scores}");
            Assert.IsGreaterThan(0.0, Value(Line(metrics, "mlnetlstm_scored_tokens_total")));
        }

        private static string Line(string metrics, string name, string? label = null)
            => metrics.Split('\n').FirstOrDefault(l => l.StartsWith(name, StringComparison.Ordinal) && (label is null || l.Contains(label, StringComparison.Ordinal)))
                ?? throw new AssertFailedException($"/metrics has no {name}{(label is null ? "" : $" with {label}")}:\n{metrics}");

        private static double Value(string line) => double.Parse(line.Split(' ')[^1].Split(' ')[0], System.Globalization.CultureInfo.InvariantCulture);

        /// <summary>
        /// Every batch place taken by the likelihood of a million characters, a queue of one: of five concurrent /score
        /// requests one waits in the queue and four get 503 with Retry-After and a body that says why; once the long
        /// texts' clients go away, the queued one is answered.
        /// </summary>
        [TestMethod]
        public async Task FullQueueGets503WithRetryAfterAndTheQueuedRequestIsServed()
        {
            using var app = App(("MaximumBatchSize", "2"), ("MaximumQueuedRequests", "1"), ("RetryAfterSeconds", "2"), ("MaximumTextCharacters", "1000000"));
            var client = app.CreateClient();
            using var gone = new CancellationTokenSource();
            string corpus = string.Join(" ", TinyLanguageModel.Corpus(600));
            string million = string.Concat(Enumerable.Repeat(corpus, 1_000_000 / corpus.Length));
            int places = 2 * Environment.ProcessorCount;
            var longTexts = Enumerable.Range(0, places).Select(_ => client.PostAsync("/score", Body(new { text = million }), gone.Token)).ToArray();
            // Every long text taken by a worker: none queued, all of them active.
            string metrics = "";
            for (int i = 0; i < 600; i++)
            {
                metrics = await client.GetStringAsync("/metrics");
                if (Value(Line(metrics, "mlnetlstm_batch_queued")) == 0 && Value(Line(metrics, "mlnetlstm_batch_active")) == places)
                    break;
                await Task.Delay(100);
            }
            Assert.AreEqual((double)places, Value(Line(metrics, "mlnetlstm_batch_active")), metrics);
            Assert.AreEqual(0.0, Value(Line(metrics, "mlnetlstm_batch_queued")), metrics);

            var attempts = Enumerable.Range(0, 5).Select(_ => client.PostAsync("/score", Body(new { text = "the cat" }))).ToArray();
            var pending = attempts.ToList();
            var refused = new List<HttpResponseMessage>();
            while (refused.Count < 4)
            {
                var done = await Task.WhenAny(pending).WaitAsync(TimeSpan.FromSeconds(60));
                pending.Remove(done);
                var response = await done;
                Assert.AreEqual(HttpStatusCode.ServiceUnavailable, response.StatusCode, "only the queued request may wait; the others are refused at once");
                refused.Add(response);
            }
            foreach (var response in refused)
            {
                Assert.AreEqual("2", response.Headers.GetValues("Retry-After").Single());
                using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
                StringAssert.Contains(json.RootElement.GetProperty("error").GetString(), "queue is full");
                Assert.AreEqual(2, json.RootElement.GetProperty("retryAfterSeconds").GetInt32());
            }
            var queued = pending.Single();
            Assert.IsFalse(queued.IsCompleted, "the queued request waits for a place");

            gone.Cancel();
            foreach (var text in longTexts)
                await Assert.ThrowsAsync<OperationCanceledException>(() => text);
            using var answer = await queued.WaitAsync(TimeSpan.FromSeconds(60));
            Assert.AreEqual(HttpStatusCode.OK, answer.StatusCode, await answer.Content.ReadAsStringAsync());
        }

        [TestMethod]
        [DataRow("MaximumBatchSize", "0", "must be 1 to 1,024")]
        [DataRow("BatchWindowMicroseconds", "20000", "must be 0 to 10,000")]
        [DataRow("MaximumQueuedRequests", "0", "must be at least 1")]
        public void BatchingSettingOutOfRangeFailsTheStartNamingIt(string setting, string value, string expected)
        {
            using var app = App((setting, value));
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => app.CreateClient());
            StringAssert.Contains(e.Message, $"The setting Model:{setting} is {value}; it {expected}");
        }
    }
}
