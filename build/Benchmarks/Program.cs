// MlnetLstm benchmarks (build/benchmark.sh) and the seeds' d2l reproduction (build/reproduce-d2l.sh).
//   benchmarks [--quick] [--output docs/benchmarks.md]     throughput, scoring latency, quality, memory, GFLOP/s, data path
//   benchmarks --only TEXT                                 only the throughput configurations whose name contains TEXT, no report
//   scoring [--quick] [--output docs/scoring-benchmarks.md] scoring latency on a quiet machine and beside a CPU-bound process,
//                                                           against ONNX Runtime, and under concurrency with and without batching
//   shared-cpu [--seconds 60] [--output docs/shared-cpu.md] training beside other CPU-bound processes, by thread setting
//   compete                                                the second training of shared-cpu (a child process, until killed)
//   d2l [--epochs 500] [--output docs/d2l-reproduction.md]  the d2l experiment for every seed variant
//   recipe [--budgets 60,300] [--corpora moby-dick,songci] [--only TEXT] [--output docs/recipe.md]
//                                                          the language model's recipe study (build/recipe.sh); its
//                                                          measurements go to docs/recipe.json
//   streaming [--megabytes 1000] [--seconds 300] --baseline FILE --current FILE [--output docs/benchmarks.md]
//                                                          the language model on a generated corpus larger than memory as
//                                                          tensors, and the Moby-Dick rows FILEs hold; its section of docs/benchmarks.md
//   streaming-moby-dick [--seconds 60] --result FILE       one Moby-Dick throughput measurement, appended to FILE
//   recipe --report                                        docs/recipe.md again from docs/recipe.json
//   recipe --only TEXT --update [--budgets ...]            re-measure those rows, keep the others of docs/recipe.json
using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using MlnetLstm.Benchmarks;

string command = args.Length > 0 ? args[0] : "benchmarks";
string? Option(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
bool quick = args.Contains("--quick");
string commandLine = "bash build/" + (command switch { "d2l" => "reproduce-d2l.sh", "recipe" => "recipe.sh", _ => "benchmark.sh" }) + (command switch { "scoring" => " --scoring", "shared-cpu" => " --shared-cpu", "streaming" => " --streaming", _ => "" }) + (args.Length > 1 ? " " + string.Join(' ', args.Skip(1)) : "");
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;

switch (command)
{
    case "d2l":
    {
        int epochs = int.Parse(Option("--epochs") ?? "500");
        string output = Option("--output") ?? "docs/d2l-reproduction.md";
        var report = new StringBuilder();
        report.AppendLine("# The seeds' d2l experiment, reproduced").AppendLine()
            .AppendLine($"First 10,000 characters of Moby-Dick lower-cased to letters and spaces; 256 hidden units, batch 32, 35 steps, SGD learning rate 1, " +
                $"gradient clipping 1, sequential partitioning, {epochs} epochs, CPU. Final training perplexity as d2l reports it (exp of the mean cross-entropy of the last epoch); " +
                "tokens/s is the median over the epochs after the first.").AppendLine()
            .AppendLine("| variant | vocabulary | final training perplexity | seeds' reference (CUDA GPU, The Time Machine) | tokens/s | greedy continuation of \"call me ishmael\" |")
            .AppendLine("| --- | --- | --- | --- | --- | --- |");
        var reference = new[] { "1.3", "1.0", "1.1", "1.1 (as LSTM)", "1.0" };
        var results = D2lReproduction.Variants.Select(v => { Console.WriteLine($"running {v.Name}…"); var r = D2lReproduction.Run(v, epochs); Console.WriteLine($"  {r.Perplexity:F2}, {r.TokensPerSecond:F0} tokens/s"); return r; }).ToList();
        for (int i = 0; i < results.Count; i++)
            report.AppendLine($"| {results[i].Variant.Name} | {results[i].Vocabulary} | {results[i].Perplexity:F2} | {reference[i]} | {results[i].TokensPerSecond:N0} | `{results[i].Sample}` |");
        double fused = results.Single(r => r.Variant.Name == "LSTM (nn)").TokensPerSecond, gate = results.Single(r => r.Variant.Name == "LSTM (gate-level)").TokensPerSecond;
        report.AppendLine().AppendLine($"Gate-level / fused LSTM training speed: {gate / fused:F2} (same run, same machine).").AppendLine()
            .AppendLine($"Machine: {Machine.Describe()}. Date: {DateTime.UtcNow:yyyy-MM-dd}. Command: `{commandLine}`.");
        Write(output, report.ToString());
        break;
    }
    case "recipe":
    {
        var budgets = (Option("--budgets") ?? "60,300").Split(',').Select(b => TimeSpan.FromSeconds(double.Parse(b))).ToList();
        var corpora = (Option("--corpora") ?? "moby-dick,songci").Split(',');
        string? only = Option("--only");
        var heldOut = Corpora.Paragraphs(Corpora.Read("fdr-state-of-the-union"));
        string output = Option("--output") ?? "docs/recipe.md";
        string measurements = Path.ChangeExtension(output, ".json");
        // --update re-measures the --only rows and keeps every other row of the saved measurements.
        bool update = args.Contains("--update");
        var results = update ? System.Text.Json.JsonSerializer.Deserialize<List<RecipeStudy.Result>>(File.ReadAllText(measurements))! : new List<RecipeStudy.Result>();
        if (args.Contains("--report"))
        {
            // The report again from the saved measurements (after a change to its text), without training anything.
            var saved = System.Text.Json.JsonSerializer.Deserialize<List<RecipeStudy.Result>>(File.ReadAllText(measurements))!;
            Write(output, RecipeReport.Write(saved, commandLine.Replace(" --report", "")));
            break;
        }
        // --only names one candidate exactly, or else every candidate whose name contains it.
        bool exact = only is not null && RecipeStudy.Candidates.Any(c => c.Name.Equals(only, StringComparison.OrdinalIgnoreCase));
        foreach (var (corpus, candidate) in RecipeStudy.Plan(corpora).Where(p => only is null
            || (exact ? p.Candidate.Name.Equals(only, StringComparison.OrdinalIgnoreCase) : p.Candidate.Name.Contains(only, StringComparison.OrdinalIgnoreCase))))
        {
            foreach (var budget in budgets.Where(candidate.MeasuredAt))
            {
                // A measurement that shared the cores is repeated once, and marked if it shares them again.
                RecipeStudy.Result result = null!;
                for (int attempt = 0; attempt < 2; attempt++)
                {
                    Console.WriteLine($"{corpus}, {candidate.Name}, {budget.TotalSeconds:F0} s{(attempt > 0 ? " (again: the machine was busy)" : "")}…");
                    result = RecipeStudy.Run(corpus, candidate, budget, corpus == "moby-dick" && budget == budgets.Max() ? heldOut : null);
                    Console.WriteLine($"  per document {result.DocumentBits:F3}, stream {result.StreamBits:F3}, held-out {result.HeldOutBits?.ToString("F3") ?? "-"} bits/char; " +
                        $"{result.TokensPerSecond:F0} tokens/s, {result.Epochs} epochs; load {result.Before.Load1:F2} → {result.After.Load1:F2}, " +
                        $"others {result.Before.OthersShare(result.After):P1}, steal {result.Before.StealShare(result.After):P1}; {result.Settings}");
                    if (!Machine.Noisy(result.Before, result.After))
                        break;
                }
                int saved = results.FindIndex(r => r.Corpus == result.Corpus && r.Candidate == result.Candidate && r.Budget == result.Budget);
                if (saved >= 0)
                    results[saved] = result;
                else
                    results.Add(result);
            }
            // After every candidate, so that an interrupted study keeps what it measured.
            if (only is null || update)
            {
                File.WriteAllText(measurements, System.Text.Json.JsonSerializer.Serialize(results, new System.Text.Json.JsonSerializerOptions { WriteIndented = true }));
                File.WriteAllText(output, RecipeReport.Write(results, commandLine.Split(" --only")[0]));
            }
        }
        if (only is null || update)
            Write(output, RecipeReport.Write(results, commandLine.Split(" --only")[0]));
        break;
    }
    case "shared-cpu":
    {
        var budget = TimeSpan.FromSeconds(double.Parse(Option("--seconds") ?? "60", CultureInfo.InvariantCulture));
        var rows = SharedCpuBenchmark.Run(budget);
        Write(Option("--output") ?? "docs/shared-cpu.md", SharedCpuBenchmark.Report(rows, budget, commandLine));
        break;
    }
    case "streaming-moby-dick":
    {
        var result = StreamingBenchmark.MobyDick(TimeSpan.FromSeconds(double.Parse(Option("--seconds") ?? "60", CultureInfo.InvariantCulture)));
        Console.WriteLine($"Moby-Dick: {result.TokensPerSecond:F0} tokens/s over {result.Epochs} epochs, peak resident {result.PeakMiB:F0} MiB");
        File.AppendAllText(Option("--result") ?? throw new ArgumentException("streaming-moby-dick needs --result FILE."),
            FormattableString.Invariant($"{result.TokensPerSecond} {result.PeakMiB} {result.Epochs}\n"));
        break;
    }
    case "streaming":
    {
        long characters = (long)(double.Parse(Option("--megabytes") ?? "1000", CultureInfo.InvariantCulture) * 1_000_000);
        // The budget holds for the whole Fit of the language model, writing the token cache included (about a minute or two for 1 GB).
        var budget = TimeSpan.FromSeconds(double.Parse(Option("--seconds") ?? "300", CultureInfo.InvariantCulture));
        string folder = Path.Combine(Path.GetTempPath(), $"mlnetlstm-streaming-{Environment.ProcessId}");
        string load = Machine.LoadAverage();
        Console.WriteLine($"training on {characters:N0} generated characters for {budget.TotalSeconds:F0} s…");
        var generated = StreamingBenchmark.Generate(characters, budget, folder);
        Directory.Delete(folder, recursive: true);
        string loadAfter = Machine.LoadAverage();
        // Each file holds one line per round: tokens/s, peak MiB, epochs.
        static double[][] Rounds(string? file) => file is null ? Array.Empty<double[]>()
            : File.ReadAllLines(file).Where(l => l.Length > 0).Select(l => l.Split(' ').Select(v => double.Parse(v, CultureInfo.InvariantCulture)).ToArray()).ToArray();
        static double Median(IEnumerable<double> values) { var v = values.Order().ToArray(); return v.Length == 0 ? double.NaN : (v[(v.Length - 1) / 2] + v[v.Length / 2]) / 2; }
        var baseline = Rounds(Option("--baseline"));
        var current = Rounds(Option("--current"));
        var section = new StringBuilder();
        string run = System.Text.RegularExpressions.Regex.Replace(commandLine, @" --(baseline|current) \S+", "");
        section.AppendLine("## Training on a corpus larger than memory (the streamed token source)").AppendLine()
            .AppendLine($"Produced by `{run}` on {DateTime.UtcNow:yyyy-MM-dd}. Machine: {Machine.Describe()}; load average before {load}, after {loadAfter}.").AppendLine()
            .AppendLine("The language model reads its tokens from an on-disk cache written once per Fit (2 bytes per token, in MLContext.TempFilePath, deleted after Fit), " +
                "a window at a time. Settings: hidden size 256, batch 32, 35 steps, one-hot input, Adam, cosine schedule, " + Environment.ProcessorCount + " threads, seed 1.").AppendLine()
            .AppendLine("| corpus | characters | time budget (the language model's whole Fit, the cache written included) | resident before Fit (after a warm-up Fit) | peak resident | peak over before | token cache on disk | time to the first batch (tokenizer fit + cache written) | tokens/s | Fit took |")
            .AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
            .AppendLine($"| Moby-Dick paragraphs repeated, generated as read | {generated.Characters:N0} | {budget.TotalSeconds:F0} s | {generated.BeforeMiB:F0} MiB | {generated.PeakMiB:F0} MiB | " +
                $"{generated.PeakMiB - generated.BeforeMiB:F0} MiB | {generated.CacheBytes / 1048576.0:N0} MiB | {generated.FirstBatchSeconds:F1} s | {generated.TokensPerSecond:N0} | {generated.FitSeconds:F0} s |").AppendLine()
            .AppendLine($"Moby-Dick throughput, the build before the streamed source (tokens as one long tensor, batches as its views) against this build, " +
                $"alternating process by process, {Math.Max(baseline.Length, current.Length)} rounds each, median:").AppendLine()
            .AppendLine("| token source | tokens/s (median) | rounds | peak resident (median) |").AppendLine("| --- | --- | --- | --- |")
            .AppendLine($"| in memory (before) | {Median(baseline.Select(r => r[0])):N0} | {string.Join(", ", baseline.Select(r => r[0].ToString("N0")))} | {Median(baseline.Select(r => r[1])):F0} MiB |")
            .AppendLine($"| streamed (this build) | {Median(current.Select(r => r[0])):N0} | {string.Join(", ", current.Select(r => r[0].ToString("N0")))} | {Median(current.Select(r => r[1])):F0} MiB |")
            .AppendLine().AppendLine($"Streamed / in memory: {Median(current.Select(r => r[0])) / Median(baseline.Select(r => r[0])):F3} (the goal is at least 0.95).");
        string output = Option("--output") ?? "docs/benchmarks.md";
        string existing = File.Exists(output) ? File.ReadAllText(output) : "# Benchmarks\n";
        Write(output, ReplaceSection(existing, "## Training on a corpus larger than memory", section.ToString()));
        break;
    }
    case "compete":
        SharedCpuBenchmark.Compete();
        break;
    case "scoring":
    {
        string output = Option("--output") ?? "docs/scoring-benchmarks.md";
        int calls = quick ? 200 : 1000;
        string quietLoad = Machine.LoadAverage();
        var quiet = ScoringBenchmark.Configurations.SelectMany(c => { Console.WriteLine($"scoring {c}…"); return ScoringBenchmark.Measure(c, calls); }).ToList();
        string quietLoadAfter = Machine.LoadAverage();
        Console.WriteLine("scoring beside a CPU-bound process…");
        List<ScoringBenchmark.Latency> loaded;
        string loadedLoad, loadedLoadAfter;
        using (Machine.BusyProcess())
        {
            System.Threading.Thread.Sleep(5000);
            loadedLoad = Machine.LoadAverage();
            loaded = ScoringBenchmark.Measure(ScoringBenchmark.Configurations[0], calls);
            loadedLoadAfter = Machine.LoadAverage();
        }
        var memory = ScoringBenchmark.Memory(quick ? 10_000 : 100_000);
        var batched = ScoringBenchmark.Configurations.Take(quick ? 1 : 2).Select(c =>
        {
            Console.WriteLine($"ONNX Runtime and batching, {c}…");
            return BatchedScoringBenchmark.Measure(c, calls, TimeSpan.FromSeconds(quick ? 1 : 3), quick ? 3 : 5);
        }).ToList();
        string batchedLoad = Machine.LoadAverage();
        var report = new StringBuilder();
        report.AppendLine("# Scoring benchmarks").AppendLine()
            .AppendLine($"Produced by `{commandLine}` on {DateTime.UtcNow:yyyy-MM-dd}. Machine: {Machine.Describe()}.").AppendLine()
            .AppendLine("MlnetLstm scores with its managed engine (single-threaded per call, no libtorch) through an ML.NET PredictionEngine; the baseline is raw " +
                "TorchSharp calls on an nn.LSTM + Linear of the same shape (one-hot input, as the model's), with TorchSharp's default threads. The two alternate call by call; " +
                $"p50 and p99 over {calls:N0} calls ({Math.Max(20, calls / 20)} for generation) after 10 warm-up calls.").AppendLine()
            .AppendLine($"## On a quiet machine (load average before {quietLoad}, after {quietLoadAfter})").AppendLine();
        ScoringTable(report, quiet);
        report.AppendLine().AppendLine($"## Beside one CPU-bound process (`yes > /dev/null`; load average before {loadedLoad}, after {loadedLoadAfter})").AppendLine();
        ScoringTable(report, loaded);
        report.AppendLine().AppendLine($"## Memory").AppendLine()
            .AppendLine($"Resident set after 1,000 next-token predictions {memory.RssAfter1k:F0} MiB, after {(quick ? 10_000 : 100_000):N0} predictions {memory.RssAfterAll:F0} MiB " +
                $"({100 * (memory.RssAfterAll - memory.RssAfter1k) / memory.RssAfter1k:+0.00;-0.00}%; this process also holds TorchSharp, for the baseline and for training the model).");
        BatchedTables(report, batched, calls, quick, batchedLoad);
        Write(output, report.ToString());
        break;
    }
    case "benchmarks":
    {
        string output = Option("--output") ?? "docs/benchmarks.md";
        double sgemm = Machine.SgemmGflops();
        Console.WriteLine($"sgemm {sgemm:F1} GFLOP/s");
        var pytorch = PyTorchBaseline.Find();
        string? only = Option("--only");
        var throughput = ThroughputBenchmark.Configurations(quick).Where(c => only is null || c.ToString().Contains(only, StringComparison.OrdinalIgnoreCase)).Select(c =>
        {
            Console.WriteLine($"throughput {c}…");
            var r = ThroughputBenchmark.Measure(c, pytorch.Measure);
            Console.WriteLine($"  ours {r.Ours:F0}, hand-written {r.HandWritten:F0}, PyTorch {r.PyTorch?.ToString("F0") ?? "-"} tokens/s; windows spread {r.Spread:P0}; " +
                $"load {r.Before.Load1:F2} → {r.After.Load1:F2}, others {r.Before.OthersShare(r.After):P1}, steal {r.Before.StealShare(r.After):P1}{(r.Noisy ? "; NOISY" : "")}");
            return r;
        }).ToList();
        if (only is not null)
            break;
        Console.WriteLine("data path…");
        var dataPath = new[] { "moby-dick", "songci" }.Select(c => DataPathBenchmark.Run(c, TimeSpan.FromSeconds(quick ? 10 : 20))).ToList();
        Console.WriteLine("scoring…");
        var latencies = ScoringBenchmark.Configurations.SelectMany(c => ScoringBenchmark.Measure(c, quick ? 200 : 1000)).ToList();
        double peakTraining = Machine.ResidentMiB().Peak;
        var memory = ScoringBenchmark.Memory(quick ? 10_000 : 100_000);
        var budget = TimeSpan.FromSeconds(quick ? 30 : 120);
        Console.WriteLine("quality…");
        var quality = QualityBenchmark.Run(budget);

        var report = new StringBuilder();
        report.AppendLine("# Benchmarks").AppendLine()
            .AppendLine($"Produced by `{commandLine}` on {DateTime.UtcNow:yyyy-MM-dd}. Machine: {Machine.Describe()}; TorchSharp sgemm peak {sgemm:F1} GFLOP/s.").AppendLine();
        if (throughput.Any(r => r.Noisy) || Machine.Noisy(quality.Ours.Before, quality.HandWritten.After))
            report.AppendLine("**Noisy: during the rows marked † other processes or the hypervisor took more than 5% of the cores, twice. They are not results; re-run on a quiet machine.**").AppendLine();
        report
            .AppendLine("## Ratios (MlnetLstm / baseline, measured side by side in this run)").AppendLine()
            .AppendLine("| configuration | vocabulary | MlnetLstm / hand-written TorchSharp | MlnetLstm / PyTorch | ceiling: output layer alone / hand-written |").AppendLine("| --- | --- | --- | --- | --- |");
        foreach (var r in throughput)
            report.AppendLine($"| training: {r.Config} | {r.Vocabulary} | {r.Ours / r.HandWritten:F2} | {(r.PyTorch is double p ? (r.Ours / p).ToString("F2") : "n/a")} | {r.OutputLayerOnly / r.HandWritten:F1} |");
        foreach (var l in latencies)
            report.AppendLine($"| scoring p50: {l.Operation}, {l.Config} | {l.Vocabulary} | {l.RawP50Ms / l.P50Ms:F2} (speed; latency ratio {l.P50Ms / l.RawP50Ms:F2}) | | |");
        report.AppendLine($"| quality after {budget.TotalSeconds:F0} s: validation bits/char per paragraph, defaults vs hand-written Adam loop (lower is better) | | {quality.Ours.DocumentBits:F3} vs {quality.HandWritten.DocumentBits:F3} | | |").AppendLine()
            .AppendLine("The ceiling column: every contender pays for the output layer (H×V logits, cross-entropy, their gradients); timed alone, it bounds " +
                "how far any input path can get ahead of the hand-written loop. The one-hot input itself is a gather of W_ih's columns here (no dense one-hot " +
                "product) once V > 4H; below, the fused kernel on a dense one-hot is faster and both contenders run the same kernels.").AppendLine()
            .AppendLine(pytorch.Note + $" PyTorch runs in its own process after the two TorchSharp contenders, median of {PyTorchBaseline.Windows} windows of {PyTorchBaseline.BatchesPerWindow} batches after a warm-up window (it is the slowest contender by far).").AppendLine()
            .AppendLine($"## Training throughput (tokens/s, median of {ThroughputBenchmark.Windows} windows of {ThroughputBenchmark.BatchesPerWindow} batches after a warm-up window, the contenders alternating window by window; T={ThroughputBenchmark.Steps}, B={ThroughputBenchmark.BatchSize}, SGD lr 1, clip 1)").AppendLine()
            .AppendLine("| configuration | vocabulary | MlnetLstm | hand-written | PyTorch | MlnetLstm GFLOP/s (share of sgemm peak) | windows spread | load before → after, others, steal |")
            .AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
        foreach (var r in throughput)
            report.AppendLine($"| {r.Config}{(r.Noisy ? " †" : "")} | {r.Vocabulary} | {r.Ours:N0} | {r.HandWritten:N0} | {r.PyTorch?.ToString("N0") ?? "n/a"} | {r.Ours * r.FlopsPerToken / 1e9:F1} ({r.Ours * r.FlopsPerToken / 1e9 / sgemm:P0}) | " +
                $"{r.Spread:P0} | {r.Before.Load1:F2} → {r.After.Load1:F2}, {r.Before.OthersShare(r.After):P0}, {r.Before.StealShare(r.After):P0} |");
        report.AppendLine().AppendLine("FLOPs per token count the model's own math (6 × multiply-adds of the recurrent and output products; a one-hot input projection is a lookup). " +
                "The sgemm peak is TorchSharp's square matmul; oneDNN's fused LSTM kernels can run faster than it (above 100%).")
            .AppendLine().AppendLine("## The ML.NET data path").AppendLine()
            .AppendLine("Everything a language-model `Fit` does before its first batch, on the whole corpus (one row per paragraph): fitting the tokenizer, cursoring the " +
                "tokenized rows into the on-disk token cache (2 bytes per token), building the network. Batches read windows of that cache, so this is paid once per Fit; " +
                "the per-batch work outside the model's math is what the MlnetLstm / hand-written ratio of the dense configurations (same TorchSharp kernels) shows.").AppendLine()
            .AppendLine("| corpus | rows | tokens | data path (s) | one epoch at the measured rate (s) | data path, % of data path + one epoch |").AppendLine("| --- | --- | --- | --- | --- | --- |");
        foreach (var d in dataPath)
            report.AppendLine($"| {d.Corpus} | {d.Rows:N0} | {d.Tokens:N0} | {d.DataPathSeconds:F2} | {d.EpochSeconds:F1} | {d.SharePercent:F2} |");
        report.AppendLine()
            .AppendLine("## Scoring latency (ms): PredictionEngine on the managed engine vs raw TorchSharp calls").AppendLine();
        ScoringTable(report, latencies);
        report.AppendLine().AppendLine("## Memory").AppendLine()
            .AppendLine($"Peak resident set after training the benchmark's models: {peakTraining:F0} MiB. " +
                $"Resident set after 1,000 predictions {memory.RssAfter1k:F0} MiB, after {(quick ? 10_000 : 100_000):N0} predictions {memory.RssAfterAll:F0} MiB " +
                $"({100 * (memory.RssAfterAll - memory.RssAfter1k) / memory.RssAfter1k:+0.0;-0.0}%).");
        // The streamed-source section comes from its own run (benchmark.sh --streaming): kept as it is.
        const string streamingHeading = "## Training on a corpus larger than memory";
        string previous = File.Exists(output) ? File.ReadAllText(output) : "";
        int kept = previous.IndexOf(streamingHeading, StringComparison.Ordinal);
        if (kept >= 0)
        {
            int next = previous.IndexOf("\n## ", kept + streamingHeading.Length, StringComparison.Ordinal);
            report.AppendLine().Append(next < 0 ? previous[kept..] : previous[kept..(next + 1)]);
        }
        Write(output, report.ToString());
        break;
    }
    default:
        Console.Error.WriteLine("usage: MlnetLstm.Benchmarks benchmarks [--quick] [--output FILE] | d2l [--epochs N] [--output FILE]");
        return 2;
}
return 0;

static void ScoringTable(StringBuilder report, IReadOnlyList<ScoringBenchmark.Latency> latencies)
{
    report.AppendLine("| model | V | operation | MlnetLstm p50 | p99 | raw TorchSharp p50 | p99 | speed-up (p50) |").AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
    foreach (var l in latencies)
        report.AppendLine($"| {l.Config} | {l.Vocabulary:N0} | {l.Operation} | {l.P50Ms:F3} | {l.P99Ms:F3} | {l.RawP50Ms:F3} | {l.RawP99Ms:F3} | {l.RawP50Ms / l.P50Ms:F1}× |");
    report.AppendLine();
    foreach (var g in latencies.Where(l => l.Operation.StartsWith("greedy", StringComparison.Ordinal)))
        report.AppendLine($"- Generation, {g.Config}: {200 / (g.P50Ms / 1000):N0} characters/s through PredictionEngine, {200 / (g.RawP50Ms / 1000):N0} raw TorchSharp.");
}

// The document with the section that starts with heading (up to the next "## " heading) replaced, or appended.
static string ReplaceSection(string document, string heading, string section)
{
    int start = document.IndexOf(heading, StringComparison.Ordinal);
    if (start < 0)
        return document.TrimEnd() + "\n\n" + section;
    int end = document.IndexOf("\n## ", start + heading.Length, StringComparison.Ordinal);
    return document[..start] + section + (end < 0 ? "" : document[(end + 1)..].Insert(0, "\n"));
}

static void BatchedTables(StringBuilder report, List<(BatchedScoringBenchmark.SingleCall Single, List<BatchedScoringBenchmark.Concurrent> Concurrent)> results, int calls, bool quick,
    string loadAfter)
{
    report.AppendLine().AppendLine($"## Log-likelihood of 100 characters: one call, against ONNX Runtime (load average after {loadAfter})").AppendLine()
        .AppendLine("ONNX Runtime runs ML.NET's ConvertToOnnx export of the same pipeline (its string input tokenized in the graph), with one intra-op thread and with its " +
            $"default (one per core); the three alternate call by call, p50 and p99 over {calls:N0} calls after 10 warm-up calls.").AppendLine()
        .AppendLine("| model | MlnetLstm p50 | p99 | ONNX Runtime 1 thread p50 | p99 | ONNX Runtime default p50 | p99 | MlnetLstm / ONNX Runtime default (p50) |")
        .AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
    foreach (var (s, _) in results)
        report.AppendLine($"| {s.Config} | {s.ManagedP50:F3} | {s.ManagedP99:F3} | {s.OnnxOneP50:F3} | {s.OnnxOneP99:F3} | {s.OnnxDefaultP50:F3} | {s.OnnxDefaultP99:F3} | {s.ManagedP50 / s.OnnxDefaultP50:F2} |");
    report.AppendLine().AppendLine("## Log-likelihood of 100 characters: concurrent callers, each call alone and calls stepped together").AppendLine()
        .AppendLine("N threads call back to back: *alone* is ScoringEnginePool.Predict (a PredictionEngine per call, as a service without batching), *batched* is " +
            "LanguageModelBatcher.ScoreAsync (default options: batches of up to 16, a 200 µs wait for company, one worker per core). The two alternate window by window; " +
            $"median of {(quick ? 3 : 5)} windows of {(quick ? 1 : 3)} s after a 1 s warm-up each, latencies of that window.").AppendLine()
        .AppendLine("| model | callers | alone texts/s | p50 ms | p99 ms | batched texts/s | p50 ms | p99 ms | batched / alone (texts/s) |")
        .AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
    foreach (var (_, rows) in results)
        foreach (var r in rows)
            report.AppendLine($"| {r.Config} | {r.Callers} | {r.PoolPerSecond:F0} | {r.PoolP50:F2} | {r.PoolP99:F2} | {r.BatchedPerSecond:F0} | {r.BatchedP50:F2} | {r.BatchedP99:F2} | {r.BatchedPerSecond / r.PoolPerSecond:F2} |");
}

static void Write(string path, string text)
{
    Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
    File.WriteAllText(path, text);
    Console.WriteLine(text);
    Console.WriteLine($"Wrote {path}.");
}
