// MlnetLstm.LoadTest: load on the web API, loopback only, bounded in clients and time.
//   derive <model.zip> <out.zip>
//       writes a second model for the swap: the same network with other generation settings (another file, another
//       SHA-256, other continuations), saved atomically.
//   run <url> <server pid> <model path> <replacement.zip> <corpus.txt> <clients> <seconds> <rate per client> <label> <summary.md>
//       N clients for M seconds, each sending /score (100 characters, 4 of 5 requests) or /generate (20-character
//       prefix, 50 tokens streamed) at the given rate (0: as fast as answers come); halfway it renames the replacement
//       over the model path and waits for /health to show the new version. Prints the run's report as Markdown and
//       appends one row, headed by the label (the server's mode), to the summary table.
using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Net.Http;
using System.Text;
using System.Text.Json;
using System.Threading;
using System.Threading.Tasks;
using Microsoft.ML;
using MlnetLstm.LoadTest;
using MlnetLstm.Transforms;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
if (args.Length == 3 && args[0] == "derive")
{
    var ml = new MLContext();
    var model = ml.Model.Load(args[1], out var schema);
    ml.Model.SaveAtomically(model.WithGeneration(g => g with { RepetitionPenalty = 1.3f }), schema, args[2]);
    Console.WriteLine($"wrote {args[2]}");
    return 0;
}
if (args.Length != 11 || args[0] != "run")
{
    Console.Error.WriteLine("usage: MlnetLstm.LoadTest derive <model.zip> <out.zip> | run <url> <server pid> <model path> <replacement.zip> <corpus.txt> <clients> <seconds> <rate per client> <label> <summary.md>");
    return 2;
}
var url = new Uri(args[1]);
if (!url.IsLoopback)
{
    Console.Error.WriteLine($"The target {url} is not a loopback address; this load test only sends to 127.0.0.1, localhost or [::1].");
    return 2;
}
int pid = int.Parse(args[2]);
string modelPath = args[3], replacement = args[4];
string corpus = File.ReadAllText(args[5]).Replace("\r\n", "\n");
int clients = int.Parse(args[6]);
int seconds = int.Parse(args[7]);
double rate = double.Parse(args[8]);
string label = args[9], summary = args[10];
if (clients is < 1 or > 64 || seconds is < 10 or > 900 || rate < 0)
{
    Console.Error.WriteLine("clients must be 1 to 64, seconds 10 to 900, rate 0 or more.");
    return 2;
}

string LoadAverage() => string.Join(" ", File.ReadAllText("/proc/loadavg").Split(' ').Take(3));
long Rss()
{
    foreach (var line in File.ReadLines($"/proc/{pid}/status"))
        if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            return long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) * 1024;
    return 0;
}

using var http = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = clients + 2, PooledConnectionLifetime = TimeSpan.FromMinutes(30) })
{
    BaseAddress = url,
    Timeout = TimeSpan.FromSeconds(30),
};
async Task<long> VersionAsync()
{
    using var health = JsonDocument.Parse(await http.GetStringAsync("/health"));
    return health.RootElement.GetProperty("model").GetProperty("version").GetInt64();
}

// Warm-up: JIT and the engine pool, outside the measurement.
for (int i = 0; i < 50; i++)
    await http.PostAsync("/score", new StringContent(JsonSerializer.Serialize(new { text = corpus.Substring(i * 100, 100) }), Encoding.UTF8, "application/json"));
long versionBefore = await VersionAsync();
string loadBefore = LoadAverage();
long rssStart = Rss();

var score = new ConcurrentBag<double>();
var generate = new ConcurrentBag<double>();
var firstToken = new ConcurrentBag<double>();
var errors = new ConcurrentQueue<string>();
var rss = new ConcurrentQueue<(double Second, long Bytes)>();
var versions = new ConcurrentDictionary<long, int>();
var clock = Stopwatch.StartNew();
var end = TimeSpan.FromSeconds(seconds);
double swapAt = seconds / 2.0, swapSeen = double.NaN;
long versionAfter = versionBefore;

async Task Client(int id)
{
    var random = new Random(id);
    var period = rate > 0 ? TimeSpan.FromSeconds(1 / rate) : TimeSpan.Zero;
    var next = clock.Elapsed + TimeSpan.FromSeconds(random.NextDouble() * period.TotalSeconds);
    while (clock.Elapsed < end)
    {
        if (rate > 0)
        {
            var wait = next - clock.Elapsed;
            if (wait > TimeSpan.Zero)
                await Task.Delay(wait);
            next += period;
        }
        bool isScore = random.Next(5) != 0;
        var start = Stopwatch.GetTimestamp();
        try
        {
            if (isScore)
            {
                string text = corpus.Substring(random.Next(corpus.Length - 100), 100);
                using var response = await http.PostAsync("/score", new StringContent(JsonSerializer.Serialize(new { text }), Encoding.UTF8, "application/json"));
                string body = await response.Content.ReadAsStringAsync();
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException($"/score {(int)response.StatusCode}: {body}");
                using var json = JsonDocument.Parse(body);
                versions.AddOrUpdate(json.RootElement.GetProperty("modelVersion").GetInt64(), 1, (_, n) => n + 1);
                score.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            else
            {
                string prefix = corpus.Substring(random.Next(corpus.Length - 20), 20);
                using var request = new HttpRequestMessage(HttpMethod.Post, "/generate")
                {
                    Content = new StringContent(JsonSerializer.Serialize(new { prefix, maxNewTokens = 50, stopToken = (string?)null }), Encoding.UTF8, "application/json"),
                };
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
                if (!response.IsSuccessStatusCode)
                    throw new InvalidOperationException($"/generate {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
                using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
                bool first = true, done = false;
                int tokens = 0;
                while (await reader.ReadLineAsync() is string line)
                {
                    if (line == "event: token")
                    {
                        tokens++;
                        if (first)
                            firstToken.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
                        first = false;
                    }
                    else if (line.StartsWith("data: {\"tokens\":", StringComparison.Ordinal))
                    {
                        using var json = JsonDocument.Parse(line["data: ".Length..]);
                        versions.AddOrUpdate(json.RootElement.GetProperty("modelVersion").GetInt64(), 1, (_, n) => n + 1);
                        done = json.RootElement.GetProperty("tokens").GetInt32() == tokens && tokens == 50;
                    }
                }
                if (!done)
                    throw new InvalidOperationException($"/generate stream ended without a done event for its 50 tokens ({tokens} tokens)");
                generate.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
        }
        catch (Exception e)
        {
            errors.Enqueue($"{clock.Elapsed.TotalSeconds:F1} s: {e.GetType().Name}: {e.Message}");
        }
    }
}

var sampler = Task.Run(async () =>
{
    while (clock.Elapsed < end)
    {
        rss.Enqueue((clock.Elapsed.TotalSeconds, Rss()));
        await Task.Delay(1000);
    }
});
var swapper = Task.Run(async () =>
{
    await Task.Delay(TimeSpan.FromSeconds(swapAt));
    // The deployment step: the new file next to the old one, renamed over it.
    string temporary = modelPath + ".deploy.tmp";
    File.Copy(replacement, temporary, overwrite: true);
    File.Move(temporary, modelPath, overwrite: true);
    while (clock.Elapsed < end && (versionAfter = await VersionAsync()) == versionBefore)
        await Task.Delay(50);
    swapSeen = clock.Elapsed.TotalSeconds - swapAt;
});
await Task.WhenAll(Enumerable.Range(0, clients).Select(Client).Append(sampler).Append(swapper));
double elapsed = clock.Elapsed.TotalSeconds;
string loadAfter = LoadAverage();
long rssEnd = Rss();

static double Percentile(IEnumerable<double> values, double p)
{
    var sorted = values.OrderBy(v => v).ToArray();
    return sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p / 100 * sorted.Length) - 1)];
}
var drift = RssDrift.Measure(rss.ToArray(), seconds);
string Mib(double bytes) => (bytes / 1048576).ToString("F1");
int total = score.Count + generate.Count;

Console.WriteLine($"{clients} clients for {seconds} s ({(rate > 0 ? $"each at most {rate:G} requests/s" : "each as fast as answers come")}), against {url} (loopback); " +
    $"4 of 5 requests /score on 100 characters, 1 of 5 /generate of 50 streamed tokens after a 20-character prefix. Load average before {loadBefore}, after {loadAfter}.");
Console.WriteLine();
Console.WriteLine("| endpoint | requests | requests/s | p50 ms | p95 ms | p99 ms | max ms |");
Console.WriteLine("| --- | --- | --- | --- | --- | --- | --- |");
void Row(string name, ConcurrentBag<double> values) => Console.WriteLine(
    $"| {name} | {values.Count:N0} | {values.Count / elapsed:F1} | {Percentile(values, 50):F2} | {Percentile(values, 95):F2} | {Percentile(values, 99):F2} | {values.DefaultIfEmpty(double.NaN).Max():F2} |");
Row("/score (100 characters)", score);
Row("/generate (50 tokens, whole stream)", generate);
Row("/generate (first token)", firstToken);
Console.WriteLine();
Console.WriteLine($"- Requests: {total:N0} answered in {elapsed:F0} s ({total / elapsed:F1}/s), **{errors.Count} failed**; by model version: {string.Join(", ", versions.OrderBy(v => v.Key).Select(v => $"{v.Key}: {v.Value:N0}"))}.");
Console.WriteLine($"- Swap: at {swapAt:F0} s the model file was replaced by an atomic rename; /health showed version {versionAfter} (was {versionBefore}) {swapSeen * 1000:F0} ms later.");
Console.WriteLine($"- Server RSS: {Mib(rssStart)} MiB after warm-up, mean {Mib(drift.Early)} MiB from {drift.EarlyFrom:F0} to {drift.EarlyFrom + drift.Width:F0} s, " +
    $"{Mib(drift.Late)} MiB over the last {drift.Width:F0} s (drift {drift.Percent:+0.0;-0.0}%), {Mib(rssEnd)} MiB at the end.");
foreach (var error in errors.Take(10))
    Console.WriteLine($"  - {error}");
File.AppendAllText(summary, $"| {label} | {clients} | {total / elapsed:F1} | {errors.Count} | {Percentile(score, 50):F2} / {Percentile(score, 95):F2} / {Percentile(score, 99):F2} | " +
    $"{Percentile(generate, 50):F1} / {Percentile(generate, 95):F1} / {Percentile(generate, 99):F1} | {Percentile(firstToken, 50):F2} | " +
    $"{score.Count * 100 / elapsed:F0} | {generate.Count * 50 / elapsed:F0} | {drift.Percent:+0.0;-0.0}% | {(versionAfter == versionBefore + 1 ? $"{swapSeen * 1000:F0} ms" : "not seen")} |\n");
bool met = errors.IsEmpty && versionAfter == versionBefore + 1 && Math.Abs(drift.Percent) <= 5 && Percentile(score, 99) <= 10;
Console.WriteLine($"- Targets (0 failed, the swap served, RSS drift within 5%, /score p99 ≤ 10 ms): {(met ? "met" : "not all met")}.");
return 0;
