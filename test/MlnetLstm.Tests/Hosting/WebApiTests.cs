using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Transforms;
using MlnetLstm.WebApi;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The web API (src/Samples/WebApi) in-process through WebApplicationFactory: /generate streams the library's
    /// continuation as server-sent events, /score gives the library's scores, bad requests get a 400 naming the field,
    /// a replaced model file is served without a failed request, and a corrupt one is rejected, logged and ignored
    /// (the app: <see cref="WebApiApp"/>; hostile clients: <see cref="WebApiHostileClientTests"/>).
    /// </summary>
    [TestClass]
    public sealed class WebApiTests
    {
        private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
        private static MLContext _ml = null!;
        private static ITransformer _a = null!;
        private static ITransformer _b = null!;

        [ClassInitialize]
        public static void Train(TestContext _)
        {
            _ml = new MLContext(seed: 1);
            var data = TinyLanguageModel.Data(_ml, TinyLanguageModel.Corpus(600));
            _a = TinyLanguageModel.Pipeline(_ml, TinyLanguageModel.Options(epochs: 1)).Fit(data);
            _b = TinyLanguageModel.Pipeline(_ml, TinyLanguageModel.Options(epochs: 4)).Fit(data);
        }

        private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

        /// <summary>Reads a /generate stream: the token texts and the done event's fields.</summary>
        private static async Task<(string Text, int Tokens, long Version)> GenerateAsync(HttpClient client, string json)
        {
            using var response = await client.PostAsync("/generate", Body(json));
            string body = await response.Content.ReadAsStringAsync();
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
            Assert.AreEqual("text/event-stream", response.Content.Headers.ContentType?.MediaType);
            var text = new StringBuilder();
            int tokens = 0;
            long version = -1;
            foreach (var block in body.Split("\n\n", StringSplitOptions.RemoveEmptyEntries))
            {
                var lines = block.Split('\n');
                string kind = lines.Single(l => l.StartsWith("event: ", StringComparison.Ordinal))["event: ".Length..];
                using var data = JsonDocument.Parse(lines.Single(l => l.StartsWith("data: ", StringComparison.Ordinal))["data: ".Length..]);
                if (kind == "token")
                {
                    text.Append(data.RootElement.GetProperty("text").GetString());
                    tokens++;
                }
                else
                {
                    Assert.AreEqual("done", kind);
                    Assert.AreEqual(tokens, data.RootElement.GetProperty("tokens").GetInt32());
                    version = data.RootElement.GetProperty("modelVersion").GetInt64();
                }
            }
            Assert.AreNotEqual(-1, version, "the stream ends with a done event");
            return (text.ToString(), tokens, version);
        }

        private static async Task<JsonElement> ScoreAsync(HttpClient client, string text)
        {
            using var response = await client.PostAsync("/score", Body(JsonSerializer.Serialize(new { text })));
            string body = await response.Content.ReadAsStringAsync();
            Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, body);
            return JsonDocument.Parse(body).RootElement.Clone();
        }

        private static async Task<JsonElement> HealthAsync(HttpClient client) => JsonDocument.Parse(await client.GetStringAsync("/health")).RootElement.Clone();

        private static async Task WaitForAsync(Func<Task<bool>> condition, string what)
        {
            var clock = Stopwatch.StartNew();
            while (!await condition())
            {
                if (clock.Elapsed > Wait)
                    Assert.Fail($"Not within {Wait.TotalSeconds:F0} s: {what}.");
                await Task.Delay(20);
            }
        }

        private static string Expected(ITransformer model, string prefix, Func<GenerationOptions, GenerationOptions> change)
            => string.Concat(model.GenerateTokens(new TextRow { Text = prefix }, change(model.GetLanguageModel().Generation)));

        private static LanguageModelOutput Library(ITransformer model, string text)
        {
            using var engine = _ml.Model.CreatePredictionEngine<TextRow, LanguageModelOutput>(model);
            return engine.Predict(new TextRow { Text = text });
        }

        [TestMethod]
        public async Task GenerateStreamsTheLibrarysContinuationAsServerSentEvents()
        {
            using var app = new WebApiApp(_ml, _a, "web-generate");
            using var client = app.CreateClient();
            var greedy = await GenerateAsync(client, """{"prefix": "the whale ", "maxNewTokens": 30}""");
            Assert.AreEqual(Expected(_a, "the whale ", g => g with { MaximumNewTokens = 30 }), greedy.Text);
            Assert.IsGreaterThan(1, greedy.Tokens, "token by token, not one block");
            Assert.AreEqual(1, greedy.Version);

            var sampled = await GenerateAsync(client, """{"prefix": "the sea", "maxNewTokens": 40, "greedy": false, "temperature": 0.8, "topP": 0.9, "seed": 7, "stopToken": null}""");
            Assert.AreEqual(Expected(_a, "the sea", g => g with { MaximumNewTokens = 40, Greedy = false, Temperature = 0.8f, TopP = 0.9f, Seed = 7, StopToken = null }), sampled.Text);
            Assert.AreEqual(40, sampled.Tokens, "without a stop token, maxNewTokens tokens");

            // Streaming: the headers and the first event are read before the rest of the body.
            using var request = new HttpRequestMessage(HttpMethod.Post, "/generate") { Content = Body("""{"prefix": "the", "maxNewTokens": 200, "stopToken": null}""") };
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
            Assert.AreEqual("event: token", await reader.ReadLineAsync());
            StringAssert.StartsWith(await reader.ReadLineAsync(), "data: {\"text\":");
        }

        [TestMethod]
        public async Task ScoreGivesTheLibrarysLikelihoodPerplexityAndBitsPerCharacter()
        {
            using var app = new WebApiApp(_ml, _a, "web-score");
            using var client = app.CreateClient();
            const string text = "the old ship and the cold sea. 🌊";
            var scored = await ScoreAsync(client, text);
            var expected = Library(_a, text);
            Assert.AreEqual(expected.LogLikelihood, scored.GetProperty("logLikelihood").GetDouble(), 1e-12);
            Assert.AreEqual(expected.Perplexity, scored.GetProperty("perplexity").GetDouble(), 1e-9);
            Assert.AreEqual(expected.BitsPerToken, scored.GetProperty("bitsPerToken").GetDouble(), 1e-12);
            int characters = text.EnumerateRunes().Count();
            Assert.AreEqual(characters, scored.GetProperty("characters").GetInt32());
            Assert.AreEqual(-expected.LogLikelihood / Math.Log(2) / characters, scored.GetProperty("bitsPerCharacter").GetDouble(), 1e-12);
            Assert.AreEqual(1, scored.GetProperty("modelVersion").GetInt64());

            var health = await HealthAsync(client);
            Assert.AreEqual("ok", health.GetProperty("status").GetString());
            Assert.AreEqual(app.Path, health.GetProperty("model").GetProperty("path").GetString());
            Assert.AreEqual(_a.GetLanguageModel().Vocabulary.Count, health.GetProperty("model").GetProperty("vocabularySize").GetInt32());
            Assert.AreEqual(JsonValueKind.Null, health.GetProperty("lastReloadFailure").ValueKind);
        }

        [TestMethod]
        [DataRow("/generate", "{}", "prefix", DisplayName = "prefix missing")]
        [DataRow("/generate", """{"prefix": ""}""", "prefix", DisplayName = "prefix empty")]
        [DataRow("/generate", """{"prefix": 42}""", "prefix", DisplayName = "prefix not a string")]
        [DataRow("/generate", """{"prefix": "ÅØÆ"}""", "prefix", DisplayName = "prefix of characters the model never saw")]
        [DataRow("/generate", """{"prefix": "the", "topP": 0}""", "topP", DisplayName = "topP 0")]
        [DataRow("/generate", """{"prefix": "the", "temperature": -1}""", "temperature", DisplayName = "temperature negative")]
        [DataRow("/generate", """{"prefix": "the", "topK": -2}""", "topK", DisplayName = "topK negative")]
        [DataRow("/generate", """{"prefix": "the", "repetitionPenalty": 0}""", "repetitionPenalty", DisplayName = "repetitionPenalty 0")]
        [DataRow("/generate", """{"prefix": "the", "maxNewTokens": 501}""", "maxNewTokens", DisplayName = "maxNewTokens above the service's limit")]
        [DataRow("/generate", """{"prefix": "the", "maxNewTokens": -1}""", "maxNewTokens", DisplayName = "maxNewTokens negative")]
        [DataRow("/generate", """{"prefix": "the", "maxNewTokens": 1.5}""", "maxNewTokens", DisplayName = "maxNewTokens not whole")]
        [DataRow("/generate", """{"prefix": "the", "greedy": "yes"}""", "greedy", DisplayName = "greedy not a boolean")]
        [DataRow("/generate", """{"prefix": "the", "stopToken": "<none>"}""", "stopToken", DisplayName = "stopToken not in the vocabulary")]
        [DataRow("/generate", """{"prefix": "the", "temprature": 0.5}""", "temprature", DisplayName = "misspelt field")]
        [DataRow("/generate", """{"prefix": "the",""", "body", DisplayName = "malformed JSON")]
        [DataRow("/generate", """["the"]""", "body", DisplayName = "not an object")]
        [DataRow("/score", "{}", "text", DisplayName = "text missing")]
        [DataRow("/score", """{"text": ""}""", "text", DisplayName = "text empty")]
        [DataRow("/score", """{"text": null}""", "text", DisplayName = "text null")]
        [DataRow("/score", "", "body", DisplayName = "no body")]
        public async Task BadRequestGets400NamingTheField(string endpoint, string json, string field)
        {
            using var app = new WebApiApp(_ml, _a, "web-bad");
            using var client = app.CreateClient();
            using var response = await client.PostAsync(endpoint, Body(json));
            string body = await response.Content.ReadAsStringAsync();
            Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode, body);
            using var error = JsonDocument.Parse(body);
            Assert.AreEqual(field, error.RootElement.GetProperty("field").GetString(), body);
            string message = error.RootElement.GetProperty("error").GetString()!;
            Assert.Contains(field == "body" ? "JSON" : $"'{field}'", message);
        }

        [TestMethod]
        public async Task ScoreOfATextAboveTheLimitGets400()
        {
            using var app = new WebApiApp(_ml, _a, "web-long");
            using var client = app.CreateClient();
            using var response = await client.PostAsync("/score", Body(JsonSerializer.Serialize(new { text = new string('a', 20_001) })));
            Assert.AreEqual(HttpStatusCode.BadRequest, response.StatusCode);
            Assert.Contains("Model:MaximumTextCharacters", await response.Content.ReadAsStringAsync());
        }

        [TestMethod]
        public async Task ReplacedModelFileIsServedWithoutAFailedRequest()
        {
            using var app = new WebApiApp(_ml, _a, "web-reload");
            using var client = app.CreateClient();
            const string text = "the swift boat";
            var perplexity = new Dictionary<long, double> { [1] = Library(_a, text).Perplexity, [2] = Library(_b, text).Perplexity };
            var generated = new Dictionary<long, string>
            {
                [1] = Expected(_a, "the wave ", g => g with { MaximumNewTokens = 60, StopToken = null }),
                [2] = Expected(_b, "the wave ", g => g with { MaximumNewTokens = 60, StopToken = null }),
            };
            Assert.AreNotEqual(perplexity[1], perplexity[2]);

            var failures = new ConcurrentQueue<string>();
            var versions = new ConcurrentDictionary<long, int>();
            using var stop = new CancellationTokenSource();
            var clients = Enumerable.Range(0, 4).Select(c => Task.Run(async () =>
            {
                for (int i = 0; !stop.IsCancellationRequested; i++)
                {
                    try
                    {
                        if ((c + i) % 2 == 0)
                        {
                            var scored = await ScoreAsync(client, text);
                            long version = scored.GetProperty("modelVersion").GetInt64();
                            versions.AddOrUpdate(version, 1, (_, n) => n + 1);
                            if (scored.GetProperty("perplexity").GetDouble() != perplexity[version])
                                failures.Enqueue($"/score of version {version} gave the perplexity of the other model");
                        }
                        else
                        {
                            var (streamed, _, version) = await GenerateAsync(client, """{"prefix": "the wave ", "maxNewTokens": 60, "stopToken": null}""");
                            versions.AddOrUpdate(version, 1, (_, n) => n + 1);
                            if (streamed != generated[version])
                                failures.Enqueue($"/generate of version {version} streamed '{streamed}', expected '{generated[version]}'");
                        }
                    }
                    catch (Exception e)
                    {
                        failures.Enqueue(e.Message);
                    }
                }
            })).ToArray();

            await WaitForAsync(() => Task.FromResult(versions.GetValueOrDefault(1) > 20), "requests on the first model");
            app.Save(_b);
            await WaitForAsync(async () => (await HealthAsync(client)).GetProperty("model").GetProperty("version").GetInt64() == 2, "/health shows version 2");
            await WaitForAsync(() => Task.FromResult(versions.GetValueOrDefault(2) > 20), "requests on the new model");
            stop.Cancel();
            await Task.WhenAll(clients);

            Console.WriteLine($"requests per model version: {string.Join(", ", versions.OrderBy(v => v.Key).Select(v => $"{v.Key}: {v.Value}"))}");
            Assert.IsEmpty(failures, string.Join("\n", failures.Take(5)));
            Assert.IsTrue(app.Logs.Any(l => l.Level == LogLevel.Information && l.Message.Contains("now serving version 2", StringComparison.Ordinal)),
                "the reload is logged");
        }

        [TestMethod]
        public async Task CorruptModelFileIsRejectedLoggedAndTheOldModelServes()
        {
            using var app = new WebApiApp(_ml, _a, "web-corrupt");
            using var client = app.CreateClient();
            const string text = "the dark night";
            double before = (await ScoreAsync(client, text)).GetProperty("perplexity").GetDouble();

            // A deployment that renamed a truncated upload into place.
            byte[] zip = File.ReadAllBytes(app.Path);
            File.WriteAllBytes(app.Path + ".upload", zip[..(zip.Length / 2)]);
            File.Move(app.Path + ".upload", app.Path, overwrite: true);
            await WaitForAsync(async () => (await HealthAsync(client)).GetProperty("lastReloadFailure").ValueKind != JsonValueKind.Null, "/health reports the rejected file");
            // The pool records the failure before it raises ReloadFailed, whose handler logs it: wait for the log too.
            await WaitForAsync(() => Task.FromResult(app.Logs.Any(l => l.Level == LogLevel.Error)), "the rejection is logged");

            var health = await HealthAsync(client);
            Assert.AreEqual(1, health.GetProperty("model").GetProperty("version").GetInt64());
            Assert.Contains("zip", health.GetProperty("lastReloadFailure").GetProperty("reason").GetString()!, StringComparison.OrdinalIgnoreCase);
            var scored = await ScoreAsync(client, text);
            Assert.AreEqual(before, scored.GetProperty("perplexity").GetDouble());
            Assert.AreEqual(1, scored.GetProperty("modelVersion").GetInt64());
            Assert.IsGreaterThan(0, (await GenerateAsync(client, """{"prefix": "the", "maxNewTokens": 10}""")).Tokens);
            var logged = app.Logs.Where(l => l.Level == LogLevel.Error).Select(l => l.Message).ToList();
            Assert.IsTrue(logged.Any(m => m.Contains(app.Path, StringComparison.Ordinal) && m.Contains("version 1 goes on serving", StringComparison.Ordinal)),
                $"the rejection is logged with the file and the reason; errors logged: {string.Join(" | ", logged)}");
        }
    }
}
