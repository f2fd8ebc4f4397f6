using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using System.Text;
using System.Threading;
using Microsoft.ML;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static TorchSharp.torch;

namespace MlnetLstm.Benchmarks
{
    /// <summary>
    /// Training on a shared CPU (build/benchmark.sh --shared-cpu → docs/shared-cpu.md): the language model's defaults
    /// with HiddenSize 256 on Moby-Dick under a time budget, its thread count automatic, at TorchSharp's default and at
    /// one thread, on a quiet machine, beside one and two <c>yes &gt; /dev/null</c> and beside a second training (the
    /// hand-written TorchSharp loop at its default threads, in a process of its own). For each: the training speed,
    /// Fit's wall time against the budget, and what the automatic count decided.
    /// </summary>
    internal static class SharedCpuBenchmark
    {
        /// <summary>One Fit: the condition, the thread setting, the mean training speed over its epochs, its wall time and the thread decisions.</summary>
        public sealed record Row(string Condition, string Contender, double TokensPerSecond, double FitSeconds, string Threads, Machine.Sample Before, Machine.Sample After);

        /// <summary>The conditions, each a set of competing processes started before the runs and stopped after them.</summary>
        private static IReadOnlyList<(string Name, Func<IDisposable[]> Start)> Conditions(string self) => new (string, Func<IDisposable[]>)[]
        {
            ("quiet", () => Array.Empty<IDisposable>()),
            ("beside one `yes`", () => new[] { Machine.BusyProcess() }),
            ("beside two `yes`", () => new[] { Machine.BusyProcess(), Machine.BusyProcess() }),
            ("beside a second training", () => new[] { Machine.Start("dotnet", self, "compete") }),
        };

        public static List<Row> Run(TimeSpan budget)
        {
            var documents = Corpora.Paragraphs(Corpora.Read("moby-dick"));
            int defaultThreads = get_num_threads();
            var contenders = new (string Name, int? Threads)[] { ("automatic", null), ($"{defaultThreads} threads (TorchSharp's default)", defaultThreads), ("1 thread", 1) };
            string self = typeof(SharedCpuBenchmark).Assembly.Location;
            var rows = new List<Row>();
            foreach (var (condition, start) in Conditions(self))
            {
                var competitors = start();
                try
                {
                    // Let the competitors reach their steady state (the second training reads its corpus first).
                    Thread.Sleep(TimeSpan.FromSeconds(competitors.Length == 0 ? 0 : 5));
                    foreach (var (name, threads) in contenders)
                    {
                        Console.WriteLine($"shared CPU: {condition}, {name}…");
                        var before = Machine.Sample.Take();
                        var (speed, seconds, decisions) = Fit(documents, budget, threads);
                        var row = new Row(condition, name, speed, seconds, decisions, before, Machine.Sample.Take());
                        Console.WriteLine($"  {row.TokensPerSecond:N0} tokens/s, Fit {row.FitSeconds:F1} s; {row.Threads}");
                        rows.Add(row);
                    }
                }
                finally
                {
                    foreach (var competitor in competitors)
                        competitor.Dispose();
                }
            }
            return rows;
        }

        /// <summary>The competing training of the last condition: the hand-written loop at TorchSharp's default threads, until killed.</summary>
        public static void Compete()
        {
            var ml = new MLContext(seed: 1);
            var (ids, vocabulary) = Corpora.Tokenize(ml, Corpora.Read("moby-dick"));
            using var loop = new HandWrittenLoop(vocabulary.Count, 256, 1, lstm: true, learningRate: 0.002, seed: 1, adam: true);
            for (long batch = 0; ; batch += 100)
                loop.Train(ids, 32, 32, 100, 0, batch);
        }

        private static (double TokensPerSecond, double FitSeconds, string Threads) Fit(IReadOnlyList<string> documents, TimeSpan budget, int? threads)
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(documents.Select(t => new Corpora.Row { Text = t }));
            var options = new RecurrentLanguageModelTrainer.Options { TimeBudget = budget, HiddenSize = 256, NumberOfThreads = threads, Seed = 1 };
            var pipeline = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Append(ml.Transforms.Text.RecurrentLanguageModel(options));
            var clock = Stopwatch.StartNew();
            var model = pipeline.Fit(data).LastTransformer;
            double seconds = clock.Elapsed.TotalSeconds;
            // The epochs' speeds weighted by their durations: the run's mean training speed.
            var history = model.TrainingHistory;
            var durations = history.Select((m, i) => (m.Elapsed - (i == 0 ? TimeSpan.Zero : history[i - 1].Elapsed)).TotalSeconds).ToList();
            double speed = history.Select((m, i) => m.ItemsPerSecond * durations[i]).Sum() / durations.Sum();
            return (speed, seconds, model.TrainingSettings["NumberOfThreads"]);
        }

        /// <summary>docs/shared-cpu.md: the speeds, their ratios to the quiet machine's, Fit's wall time, and the targets.</summary>
        public static string Report(IReadOnlyList<Row> rows, TimeSpan budget, string commandLine)
        {
            double Quiet(string contender) => rows.Single(r => r.Condition == "quiet" && r.Contender == contender).TokensPerSecond;
            var report = new StringBuilder();
            report.AppendLine("# Training on a shared CPU").AppendLine()
                .AppendLine($"Produced by `{commandLine}` on {DateTime.UtcNow:yyyy-MM-dd}. Machine: {Machine.Describe()}.").AppendLine()
                .AppendLine($"The language model's defaults with HiddenSize 256 (LSTM 1×256, Adam, T 32, B 32) on Moby-Dick's paragraphs, a TimeBudget of {budget.TotalSeconds:F0} s, " +
                    "through an ML.NET pipeline, in one run: each condition's competing processes start, then the three thread settings train one after the other beside them. " +
                    "Tokens/s is the mean of the epochs' training speeds weighted by their durations; Fit is the wall time of the whole pipeline's Fit (tokenizer, data, measuring, training, validation).").AppendLine()
                .AppendLine("| condition | threads | tokens/s | / the same setting quiet | / automatic quiet | Fit (s) | load before → after, others' share, steal | automatic count's decisions |")
                .AppendLine("| --- | --- | --- | --- | --- | --- | --- | --- |");
            foreach (var r in rows)
                report.AppendLine($"| {r.Condition} | {r.Contender} | {r.TokensPerSecond:N0} | {r.TokensPerSecond / Quiet(r.Contender):F2} | {r.TokensPerSecond / Quiet("automatic"):F2} | {r.FitSeconds:F1} | " +
                    $"{r.Before.Load1:F2} → {r.After.Load1:F2}, {r.Before.OthersShare(r.After):P0}, {r.Before.StealShare(r.After):P0} | {(r.Contender == "automatic" ? Shorten(r.Threads) : "")} |");
            var automatic = rows.Where(r => r.Contender == "automatic").ToDictionary(r => r.Condition);
            var one = rows.Where(r => r.Contender == "1 thread").ToDictionary(r => r.Condition);
            string defaultName = rows.First(r => r.Contender.EndsWith("(TorchSharp's default)", StringComparison.Ordinal)).Contender;
            report.AppendLine().AppendLine("Targets (automatic threads):").AppendLine()
                .AppendLine($"- beside one `yes`, at least 0.55× its quiet speed: {automatic["beside one `yes`"].TokensPerSecond / Quiet("automatic"):F2}×")
                .AppendLine($"- beside two `yes`, at least 0.35×: {automatic["beside two `yes`"].TokensPerSecond / Quiet("automatic"):F2}×")
                .AppendLine($"- beside a second training, not below one thread there: {automatic["beside a second training"].TokensPerSecond:N0} against {one["beside a second training"].TokensPerSecond:N0} tokens/s " +
                    $"({automatic["beside a second training"].TokensPerSecond / one["beside a second training"].TokensPerSecond:F2}×)")
                .AppendLine($"- quiet, at least 0.97× TorchSharp's default count: {Quiet("automatic") / Quiet(defaultName):F2}×")
                .AppendLine($"- Fit within the budget + 5% ({budget.TotalSeconds * 1.05:F0} s), quiet and loaded: longest {rows.Max(r => r.FitSeconds):F1} s");
            return report.ToString();
        }

        private static string Shorten(string decisions) => decisions.Length <= 300 ? decisions : decisions[..300] + " …";
    }
}
