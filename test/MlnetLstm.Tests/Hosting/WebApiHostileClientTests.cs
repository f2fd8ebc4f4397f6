using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Net;
using System.Net.Http;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.WebApi;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The web API under hostile clients, on a real Kestrel socket where the limit is Kestrel's: oversize, malformed and
    /// deeply nested bodies, a prefix past the limit, slow senders, hundreds of open /generate streams and clients
    /// that disconnect mid-stream all end with a 4xx or 503 and a JSON body saying why (or, for Kestrel's own header
    /// limits, its status line), never a 500, while memory and threads stay bounded and other clients are served.
    /// Time limits here are generous upper bounds on waits for a timeout, never a measure of speed.
    /// </summary>
    [TestClass]
    public sealed class WebApiHostileClientTests
    {
        private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);
        private static MLContext _ml = null!;
        private static ITransformer _model = null!;

        [ClassInitialize]
        public static void Train(TestContext _)
        {
            _ml = new MLContext(seed: 1);
            _model = TinyLanguageModel.Pipeline(_ml, TinyLanguageModel.Options(epochs: 1)).Fit(TinyLanguageModel.Data(_ml, TinyLanguageModel.Corpus(600)));
        }

        private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

        /// <summary>The status and the JSON error body of a refused request; fails when the body is not {"error": …, "field": …}.</summary>
        private static async Task<(HttpStatusCode Status, string Error, string? Field)> RefusedAsync(HttpResponseMessage response)
        {
            string body = await response.Content.ReadAsStringAsync();
            Assert.AreNotEqual(HttpStatusCode.InternalServerError, response.StatusCode, body);
            using var json = JsonDocument.Parse(body);
            return (response.StatusCode, json.RootElement.GetProperty("error").GetString()!, json.RootElement.GetProperty("field").GetString());
        }

        /// <summary>A raw HTTP/1.1 client: what it sends is up to the test, byte by byte if need be.</summary>
        private sealed class RawClient : IDisposable
        {
            private readonly TcpClient _tcp = new();

            private RawClient()
            {
            }

            public NetworkStream Stream => _tcp.GetStream();

            public static async Task<RawClient> ConnectAsync(Uri server)
            {
                var client = new RawClient();
                await client._tcp.ConnectAsync(server.Host, server.Port);
                return client;
            }

            public Task SendAsync(string text) => Stream.WriteAsync(Encoding.UTF8.GetBytes(text)).AsTask();

            /// <summary>A POST's request line and headers; the body follows separately.</summary>
            public static string Headers(string path, int contentLength)
                => $"POST {path} HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: {contentLength}\r\nConnection: close\r\n\r\n";

            /// <summary>Reads until the server closes the connection (Connection: close) or <paramref name="timeout"/>; returns the status code and the de-chunked body.</summary>
            public async Task<(int Status, string Body)> ReadResponseAsync(TimeSpan timeout)
            {
                using var cancel = new CancellationTokenSource(timeout);
                var bytes = new MemoryStream();
                var buffer = new byte[16 * 1024];
                try
                {
                    int read;
                    while ((read = await Stream.ReadAsync(buffer, cancel.Token)) > 0)
                        bytes.Write(buffer, 0, read);
                }
                catch (IOException)
                {
                    // A reset after the response: what arrived is read.
                }
                string text = Encoding.UTF8.GetString(bytes.ToArray());
                Assert.IsTrue(text.StartsWith("HTTP/1.1 ", StringComparison.Ordinal), $"an HTTP response within {timeout.TotalSeconds:F0} s; got '{text}'");
                int status = int.Parse(text.AsSpan(9, 3), provider: System.Globalization.CultureInfo.InvariantCulture);
                int split = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
                string headers = text[..split], body = text[(split + 4)..];
                return (status, headers.Contains("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase) ? Dechunk(body) : body);
            }

            private static string Dechunk(string chunked)
            {
                var body = new StringBuilder();
                int at = 0;
                while (at < chunked.Length)
                {
                    int end = chunked.IndexOf("\r\n", at, StringComparison.Ordinal);
                    int size = Convert.ToInt32(chunked[at..end], 16);
                    if (size == 0)
                        break;
                    body.Append(chunked, end + 2, size);
                    at = end + 2 + size + 2;
                }
                return body.ToString();
            }

            public void Dispose() => _tcp.Dispose();
        }

        [TestMethod]
        public void KestrelLimitsAreSetOnPurposeFromTheSettings()
        {
            using var app = new WebApiApp(_ml, _model, "hostile-limits", new Dictionary<string, string>
            {
                ["Model:MaximumPrefixCharacters"] = "1000",
                ["Model:MaximumTextCharacters"] = "3000",
                ["Model:MaximumConnections"] = "77",
            });
            _ = app.Services; // builds the host
            var limits = app.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits;
            Assert.AreEqual(6 * 3000 + 4096L, limits.MaxRequestBodySize, "6 bytes (an escape) per character of the longer limit, and 4 KiB for the rest");
            Assert.AreEqual(77L, limits.MaxConcurrentConnections);
            Assert.AreEqual(TimeSpan.FromSeconds(10), limits.RequestHeadersTimeout);
            Assert.AreEqual(TimeSpan.FromSeconds(30), limits.KeepAliveTimeout);
            Assert.AreEqual(16 * 1024, limits.MaxRequestHeadersTotalSize);
            Assert.AreEqual(240, limits.MinRequestBodyDataRate!.BytesPerSecond);
            Assert.AreEqual(TimeSpan.FromSeconds(5), limits.MinRequestBodyDataRate.GracePeriod);
            Assert.AreEqual(240, limits.MinResponseDataRate!.BytesPerSecond);
        }

        [TestMethod]
        public async Task OversizeBodyGets413WithAClearBody()
        {
            using var app = new WebApiApp(_ml, _model, "hostile-oversize");
            var server = app.StartKestrel();
            using var client = new HttpClient { BaseAddress = server };
            long limit = 6 * 20_000 + 4096;

            // With a Content-Length past the limit, and chunked (no length: refused once the limit is passed).
            using (var response = await client.PostAsync("/score", Body(JsonSerializer.Serialize(new { text = new string('a', (int)limit) }))))
            {
                var (status, error, field) = await RefusedAsync(response);
                Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, status, error);
                Assert.AreEqual("body", field);
                Assert.Contains("Model:MaximumTextCharacters", error);
                Assert.Contains(limit.ToString(System.Globalization.CultureInfo.InvariantCulture), error, "names Kestrel's limit in bytes");
            }
            var chunked = new StreamContent(new MemoryStream(Encoding.UTF8.GetBytes(JsonSerializer.Serialize(new { prefix = new string('a', (int)limit) }))));
            chunked.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/json");
            using (var request = new HttpRequestMessage(HttpMethod.Post, "/generate") { Content = chunked })
            {
                request.Headers.TransferEncodingChunked = true;
                using var response = await client.SendAsync(request);
                var (status, _, field) = await RefusedAsync(response);
                Assert.AreEqual(HttpStatusCode.RequestEntityTooLarge, status);
                Assert.AreEqual("body", field);
            }
            // The service goes on serving.
            using var health = await client.GetAsync("/health");
            Assert.AreEqual(HttpStatusCode.OK, health.StatusCode);
        }

        [TestMethod]
        public async Task DeeplyNestedJsonAndAPrefixPastTheLimitGet400()
        {
            using var app = new WebApiApp(_ml, _model, "hostile-nested");
            using var client = app.CreateClient();
            string nested = "{\"prefix\": " + new string('[', 10_000) + new string(']', 10_000) + "}";
            using (var response = await client.PostAsync("/generate", Body(nested)))
            {
                var (status, error, field) = await RefusedAsync(response);
                Assert.AreEqual(HttpStatusCode.BadRequest, status, error);
                Assert.AreEqual("body", field);
                Assert.Contains("depth", error);
            }
            using (var response = await client.PostAsync("/generate", Body(JsonSerializer.Serialize(new { prefix = new string('a', 4097) }))))
            {
                var (status, error, field) = await RefusedAsync(response);
                Assert.AreEqual(HttpStatusCode.BadRequest, status, error);
                Assert.AreEqual("prefix", field);
                Assert.Contains("4,097 characters", error);
                Assert.Contains("Model:MaximumPrefixCharacters", error);
            }
            // {"text":"\xC3("}: a string that is not UTF-8 (JsonDocument checks it only when the string is read).
            using (var response = await client.PostAsync("/score", new ByteArrayContent(new byte[] { 0x7B, 0x22, 0x74, 0x65, 0x78, 0x74, 0x22, 0x3A, 0x22, 0xC3, 0x28, 0x22, 0x7D })))
            {
                var (status, error, field) = await RefusedAsync(response);
                Assert.AreEqual(HttpStatusCode.BadRequest, status, error);
                Assert.AreEqual("text", field);
                Assert.Contains("UTF-8", error);
            }
        }

        [TestMethod]
        public async Task SlowSenderGets408WithAClearBody()
        {
            using var app = new WebApiApp(_ml, _model, "hostile-slow");
            var server = app.StartKestrel();
            using var slow = await RawClient.ConnectAsync(server);
            const string json = "{\"text\": \"the whale and the sea\"}";
            await slow.SendAsync(RawClient.Headers("/score", json.Length));
            var clock = Stopwatch.StartNew();
            // One byte a second: far below the 240 bytes per second the body must reach after its 5 s grace period.
            var reading = slow.ReadResponseAsync(Wait);
            for (int i = 0; i < json.Length && !reading.IsCompleted; i++)
            {
                try
                {
                    await slow.SendAsync(json[i].ToString());
                }
                catch (IOException)
                {
                    break; // Kestrel closed the connection.
                }
                await Task.WhenAny(reading, Task.Delay(1000));
            }
            var (status, body) = await reading;
            Console.WriteLine($"slow sender answered after {clock.Elapsed.TotalSeconds:F1} s: {status} {body}");
            Assert.AreEqual(408, status, body);
            using var error = JsonDocument.Parse(body);
            Assert.AreEqual("body", error.RootElement.GetProperty("field").GetString());
            StringAssert.Contains(error.RootElement.GetProperty("error").GetString(), "slowly");

            // A client that sends headers one byte a second gets Kestrel's own 408 (no body: the app never sees it).
            using var slower = await RawClient.ConnectAsync(server);
            var headersReading = slower.ReadResponseAsync(Wait);
            string headers = RawClient.Headers("/score", 10);
            for (int i = 0; i < headers.Length && !headersReading.IsCompleted; i++)
            {
                try
                {
                    await slower.SendAsync(headers[i].ToString());
                }
                catch (IOException)
                {
                    break;
                }
                await Task.WhenAny(headersReading, Task.Delay(1000));
            }
            var (headersStatus, _) = await headersReading;
            Assert.AreEqual(408, headersStatus, "headers that take longer than RequestHeadersTimeout");
        }

        [TestMethod]
        public async Task ClientsThatDisconnectMidStreamGiveTheirSlotsBack()
        {
            using var app = new WebApiApp(_ml, _model, "hostile-disconnect", new Dictionary<string, string>
            {
                ["Model:MaximumConcurrentStreams"] = "2",
                ["Model:MaximumNewTokens"] = "1000000",
            });
            var server = app.StartKestrel();
            var slots = app.Services.GetRequiredService<StreamSlots>();
            using var client = new HttpClient { BaseAddress = server };
            const string endless = "{\"prefix\": \"the sea\", \"maxNewTokens\": 1000000, \"stopToken\": null, \"greedy\": false, \"seed\": 1}";

            for (int round = 0; round < 3; round++)
            {
                var streams = new List<HttpResponseMessage>();
                for (int i = 0; i < 2; i++)
                {
                    var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Post, "/generate") { Content = Body(endless) }, HttpCompletionOption.ResponseHeadersRead);
                    Assert.AreEqual(HttpStatusCode.OK, response.StatusCode, $"round {round}: stream {i} starts (the slots of the round before were given back)");
                    var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                    Assert.AreEqual("event: token", await reader.ReadLineAsync());
                    streams.Add(response);
                }
                // Both slots taken: a third stream gets a 503 at once, with a body and Retry-After.
                using (var third = await client.PostAsync("/generate", Body(endless)))
                {
                    var (status, error, field) = await RefusedAsync(third);
                    Assert.AreEqual(HttpStatusCode.ServiceUnavailable, status);
                    Assert.IsNull(field);
                    Assert.Contains("Model:MaximumConcurrentStreams", error);
                    Assert.AreEqual("1", third.Headers.RetryAfter?.ToString());
                }
                // Scoring is served meanwhile.
                using (var scored = await client.PostAsync("/score", Body("{\"text\": \"the sea\"}")))
                    Assert.AreEqual(HttpStatusCode.OK, scored.StatusCode);
                // The clients go away mid-stream: their generations stop and give the slots back.
                foreach (var response in streams)
                    response.Dispose();
                var clock = Stopwatch.StartNew();
                while (slots.Open > 0)
                {
                    if (clock.Elapsed > Wait)
                        Assert.Fail($"round {round}: {slots.Open} streams still open {Wait.TotalSeconds:F0} s after their clients disconnected");
                    await Task.Delay(20);
                }
            }
        }

        [TestMethod]
        public async Task HundredsOfOpenStreamsGet503AndOtherClientsAreServedInBoundedMemoryAndThreads()
        {
            const int Clients = 300, Streams = 8;
            using var app = new WebApiApp(_ml, _model, "hostile-hundreds", new Dictionary<string, string>
            {
                ["Model:MaximumConcurrentStreams"] = Streams.ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["Model:MaximumNewTokens"] = "1000000",
                ["Model:StreamWriteTimeoutMilliseconds"] = "2000",
            });
            var server = app.StartKestrel();
            var slots = app.Services.GetRequiredService<StreamSlots>();
            using var client = new HttpClient { BaseAddress = server };
            using (var warm = await client.PostAsync("/score", Body("{\"text\": \"the sea\"}")))
                Assert.AreEqual(HttpStatusCode.OK, warm.StatusCode);
            GC.Collect();
            ProcessMemory.TryResetPeak();
            long residentBefore = ProcessMemory.KiB("VmRSS");
            int threadsBefore = Process.GetCurrentProcess().Threads.Count, threadsPeak = threadsBefore;

            // 300 clients ask for a million tokens each and never read their stream.
            const string endless = "{\"prefix\": \"the sea\", \"maxNewTokens\": 1000000, \"stopToken\": null}";
            var idle = new List<RawClient>();
            var statuses = new List<Task<(int Status, string Body)>>();
            for (int i = 0; i < Clients; i++)
            {
                var raw = await RawClient.ConnectAsync(server);
                idle.Add(raw);
                await raw.SendAsync(RawClient.Headers("/generate", endless.Length) + endless);
            }
            // The first Streams are streaming; every other one got a 503 at once and its connection closed.
            for (int i = 0; i < Clients; i++)
                statuses.Add(ReadStatusAsync(idle[i]));
            int served = 0, failedWhileLoaded = 0;
            async Task ServeAnotherClientAsync()
            {
                using var scored = await client.PostAsync("/score", Body("{\"text\": \"the old ship\"}"));
                using var health = await client.GetAsync("/health");
                if (scored.StatusCode == HttpStatusCode.OK && health.StatusCode == HttpStatusCode.OK)
                    served++;
                else
                    failedWhileLoaded++;
                threadsPeak = Math.Max(threadsPeak, Process.GetCurrentProcess().Threads.Count);
            }
            var deadline = Stopwatch.StartNew();
            while (statuses.Any(s => !s.IsCompleted) && deadline.Elapsed < Wait)
                await ServeAnotherClientAsync();
            var answers = statuses.Where(s => s.IsCompleted).Select(s => s.Result).ToList();
            int streaming = slots.Open;
            // Other clients are served while the streams are open.
            for (int i = 0; i < 20; i++)
                await ServeAnotherClientAsync();
            long peakGrowthMiB = (ProcessMemory.KiB("VmHWM") - residentBefore) / 1024;
            Console.WriteLine($"{Clients} clients opened /generate and did not read: {answers.Count(a => a.Status == 200)} streaming (limit {Streams}), " +
                $"{answers.Count(a => a.Status == 503)} got 503, {Clients - answers.Count} unanswered; {served} /score + /health pairs served meanwhile, {failedWhileLoaded} failed; " +
                $"threads {threadsBefore} before, {threadsPeak} at the peak; resident {residentBefore / 1024} MiB before, peak growth {peakGrowthMiB} MiB (test process, shared machine)");

            Assert.AreEqual(Clients, answers.Count, "every client is answered");
            Assert.AreEqual(Streams, answers.Count(a => a.Status == 200), $"statuses: {string.Join(", ", answers.GroupBy(a => a.Status).Select(g => $"{g.Key}×{g.Count()}"))}");
            Assert.IsTrue(answers.Where(a => a.Status != 200).All(a => a.Status == 503 && a.Body.Contains("Model:MaximumConcurrentStreams", StringComparison.Ordinal)),
                answers.FirstOrDefault(a => a.Status != 200 && a.Status != 503).Body);
            Assert.AreEqual(Streams, streaming, "the streams within the limit were open while the others were refused");
            Assert.AreEqual(0, failedWhileLoaded, "no /score or /health failed while the streams were open");
            Assert.IsGreaterThanOrEqualTo(20, served, "/score + /health pairs served while the streams were open");
            Assert.IsLessThan(threadsBefore + 64, threadsPeak, "threads while 300 clients hold streams open");
            Assert.IsLessThan(256L, peakGrowthMiB, "MiB of resident growth while 300 clients hold streams open");

            // The streaming clients never read: once their socket buffers are full, a write waits longer than
            // Model:StreamWriteTimeoutMilliseconds and the server closes the stream, which stops the generation and
            // gives the slot back, with no client closing anything.
            var clock = Stopwatch.StartNew();
            while (slots.Open > 0)
            {
                if (clock.Elapsed > Wait)
                    Assert.Fail($"{slots.Open} streams still open {Wait.TotalSeconds:F0} s after their clients stopped reading");
                await Task.Delay(50);
            }
            Console.WriteLine($"the {streaming} idle streams were closed by the server {clock.Elapsed.TotalSeconds:F0} s later");
            Assert.IsTrue(app.Logs.Any(l => l.Message.Contains("read nothing for 2000 ms", StringComparison.Ordinal)), "each closed stream is logged");
            foreach (var raw in idle)
                raw.Dispose();
            using var after = await client.PostAsync("/generate", Body("{\"prefix\": \"the sea\", \"maxNewTokens\": 5}"));
            Assert.AreEqual(HttpStatusCode.OK, after.StatusCode);
        }

        /// <summary>
        /// The status of a /generate answer, and for a refusal its body (the server closes the connection after it). A
        /// stream's answer (200) returns once its headers are in, and nothing more is read: the client stays idle.
        /// </summary>
        private static async Task<(int Status, string Body)> ReadStatusAsync(RawClient raw)
        {
            var head = new StringBuilder();
            var one = new byte[1];
            using var cancel = new CancellationTokenSource(Wait);
            while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal) && await raw.Stream.ReadAsync(one, cancel.Token) == 1)
                head.Append((char)one[0]);
            string headers = head.ToString();
            Assert.IsTrue(headers.StartsWith("HTTP/1.1 ", StringComparison.Ordinal), $"an HTTP response; got '{headers}'");
            int status = int.Parse(headers.AsSpan(9, 3), provider: System.Globalization.CultureInfo.InvariantCulture);
            if (status == 200)
                return (status, "");
            var rest = new MemoryStream();
            await raw.Stream.CopyToAsync(rest, cancel.Token);
            return (status, Encoding.UTF8.GetString(rest.ToArray()));
        }
    }
}
