using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Text;
using Microsoft.ML;

namespace MlnetLstm.ModelRunner
{
    /// <summary>
    /// The soak run: trains a language model, then scores many rows one by one through a PredictionEngine (every
    /// output: generation, next-token probabilities, perplexity; the managed engine, no TorchSharp) and samples the
    /// process's resident memory. Memory that a prediction fails to free shows as RSS growth; the managed heap tells
    /// managed from native growth.
    /// </summary>
    public static class Soak
    {
        /// <summary>Rows scored before the first sample: JIT and the GC's heap sizing settle.</summary>
        private const int WarmUpRows = 10_000;

        private const int SampleEvery = 10_000;

        /// <summary>The largest drift of RSS (last sample vs the first after warm-up) the run passes with.</summary>
        private const double AllowedDriftPercent = 5;

        /// <summary>Rows of the calibration: scored again while one 1 KiB array per row is kept alive on purpose.</summary>
        private const int CalibrationRows = 20_000;

        private sealed record Sample(int Rows, long RssKiB, long ManagedKiB, TimeSpan Elapsed, string LoadAverage);

        /// <summary>Runs the soak and writes the report; returns 0, or 1 when RSS drifted more than allowed.</summary>
        public static int Run(int epochs, int rows, string reportPath)
        {
            if (rows < WarmUpRows + SampleEvery)
                throw new ArgumentOutOfRangeException(nameof(rows), rows, $"A soak scores at least {WarmUpRows + SampleEvery} rows.");
            var clock = Stopwatch.StartNew();
            var ml = new MLContext(seed: 1);
            var corpus = TinyLanguageModel.Corpus(20_000);
            var options = TinyLanguageModel.Options(epochs, hiddenSize: 64,
                epochCompleted: m => Console.WriteLine($"epoch {m.Epoch}: training loss {m.TrainingLoss:F4}, {m.ItemsPerSecond:F0} tokens/s"));
            // One TorchSharp thread for training: with one thread per core, another busy process on this 2-core machine
            // made training 70 times slower. Scoring does not use TorchSharp.
            options.NumberOfThreads = 1;
            var model = TinyLanguageModel.Pipeline(ml, options).Fit(TinyLanguageModel.Data(ml, corpus));
            var trainingTime = clock.Elapsed;
            Console.WriteLine($"trained in {trainingTime.TotalSeconds:F1} s; RSS {Rss()} KiB");

            // Prefixes of 1 to 40 characters cut from the corpus at random places, as a service would see them.
            var text = string.Join(" ", corpus);
            var random = new Random(2);
            var samples = new List<Sample> { new(0, Rss(), ManagedKiB(), TimeSpan.Zero, LoadAverage()) };
            var scoring = Stopwatch.StartNew();
            double checksum = 0;
            long calibrationBefore, calibrationAfter;
            TimeSpan scoringTime;
            using (var engine = ml.Model.CreatePredictionEngine<TextRow, LanguageModelOutput>(model))
            {
                var input = new TextRow();
                var output = new LanguageModelOutput();
                void Score()
                {
                    int length = random.Next(1, 41);
                    input.Text = text.Substring(random.Next(text.Length - length), length);
                    engine.Predict(input, ref output);
                    checksum += output.Perplexity + output.Generated.Length + output.NextTokenProbabilities.GetValues()[0];
                }
                for (int row = 1; row <= rows; row++)
                {
                    Score();
                    if (row >= WarmUpRows && row % SampleEvery == 0)
                    {
                        samples.Add(new Sample(row, Rss(), ManagedKiB(), scoring.Elapsed, LoadAverage()));
                        Console.WriteLine($"{row} rows: RSS {samples[^1].RssKiB} KiB, managed heap {samples[^1].ManagedKiB} KiB, {scoring.Elapsed.TotalSeconds:F1} s");
                    }
                }

                scoringTime = scoring.Elapsed;

                // Calibration: the same scoring with a deliberate leak of one 256-float array per row (what a buffer
                // kept alive per prediction costs), to show the measurement sees such a leak.
                var leaked = new List<float[]>(CalibrationRows);
                calibrationBefore = Rss();
                for (int row = 0; row < CalibrationRows; row++)
                {
                    Score();
                    leaked.Add(Enumerable.Repeat(1f, 256).ToArray());
                }
                calibrationAfter = Rss();
                Console.WriteLine($"calibration: {CalibrationRows} rows leaking 1 KiB each: RSS {calibrationBefore} → {calibrationAfter} KiB");
                GC.KeepAlive(leaked);
            }

            var afterWarmUp = samples[1];
            var last = samples[^1];
            double drift = 100.0 * (last.RssKiB - afterWarmUp.RssKiB) / afterWarmUp.RssKiB;
            bool passed = Math.Abs(drift) <= AllowedDriftPercent;
            File.WriteAllText(reportPath, Report(epochs, rows, corpus, trainingTime, scoringTime, samples, drift, passed, checksum, calibrationBefore, calibrationAfter));
            Console.WriteLine($"RSS drift {drift:+0.00;-0.00}% ({afterWarmUp.RssKiB} → {last.RssKiB} KiB); report written to {reportPath}");
            return passed ? 0 : 1;
        }

        /// <summary>The machine's 1-minute load average (/proc/loadavg): above the core count, other processes competed for the cores.</summary>
        private static string LoadAverage() => File.ReadAllText("/proc/loadavg").Split(' ')[0];

        /// <summary>The managed heap after the last garbage collection, in KiB.</summary>
        private static long ManagedKiB() => GC.GetGCMemoryInfo().HeapSizeBytes / 1024;

        /// <summary>The resident set size of this process, from /proc/self/status (VmRSS, in KiB).</summary>
        private static long Rss() => ProcessMemory.KiB("VmRSS");

        private static string Report(int epochs, int rows, string[] corpus, TimeSpan training, TimeSpan scoring, List<Sample> samples, double drift, bool passed,
            double checksum, long calibrationBefore, long calibrationAfter)
        {
            var culture = CultureInfo.InvariantCulture;
            var report = new StringBuilder();
            report.AppendLine("# Soak report");
            report.AppendLine();
            report.AppendLine("Written by `build/soak.sh` (the `soak` mode of test/ModelRunner); rerun it to refresh this file.");
            report.AppendLine();
            report.AppendLine(culture, $"- Run: {DateTime.UtcNow:yyyy-MM-dd HH:mm} UTC, {Environment.ProcessorCount} cores, .NET {Environment.Version}, {System.Runtime.InteropServices.RuntimeInformation.OSDescription}.");
            report.AppendLine(culture, $"- Model: character LSTM, hidden size 64, trained (on one TorchSharp thread) for {epochs} epochs on {corpus.Length:N0} generated sentences ({corpus.Sum(d => d.Length):N0} characters) in {training.TotalSeconds:F1} s.");
            report.AppendLine(culture, $"- Scoring: {rows:N0} rows, one at a time through one PredictionEngine on the managed engine (no TorchSharp), every output column (greedy generation of 5 tokens, next-token probabilities, perplexity); prefixes of 1–40 characters cut from the corpus at random; {scoring.TotalSeconds:F1} s ({rows / scoring.TotalSeconds:F0} rows/s).");
            report.AppendLine(culture, $"- Warm-up: the first {WarmUpRows:N0} rows; then RSS (VmRSS of /proc/self/status) every {SampleEvery:N0} rows. The managed heap is its size after the last garbage collection (GC.GetGCMemoryInfo().HeapSizeBytes), for telling managed from native growth; the load average (1 minute, /proc/loadavg) shows when other processes competed for the {Environment.ProcessorCount} cores.");
            report.AppendLine();
            report.AppendLine("| rows scored | RSS (KiB) | vs first after warm-up | managed heap (KiB) | scoring time (s) | load average |");
            report.AppendLine("| ---: | ---: | ---: | ---: | ---: | ---: |");
            var baseline = samples[1].RssKiB;
            foreach (var s in samples)
                report.AppendLine(culture, $"| {s.Rows:N0}{(s.Rows == 0 ? " (after training)" : s == samples[1] ? " (after warm-up)" : "")} | {s.RssKiB:N0} | {(s.Rows == 0 ? "" : $"{100.0 * (s.RssKiB - baseline) / baseline:+0.00;-0.00;0.00}%")} | {s.ManagedKiB:N0} | {s.Elapsed.TotalSeconds:F1} | {s.LoadAverage} |");
            report.AppendLine();
            report.AppendLine(culture, $"**RSS drift** (last sample vs the first after warm-up): **{drift:+0.00;-0.00;0.00}%** ({samples[1].RssKiB:N0} → {samples[^1].RssKiB:N0} KiB); allowed ±{AllowedDriftPercent}% — **{(passed ? "passed" : "FAILED")}**.");
            report.AppendLine();
            long leakGrowth = calibrationAfter - calibrationBefore, driftGrowth = samples[^1].RssKiB - samples[1].RssKiB;
            report.AppendLine(culture, $"**Calibration** (does the measurement see a leak?): {CalibrationRows:N0} more rows, each also keeping one 256-float array (1 KiB of data) alive on purpose, " +
                $"raise RSS from {calibrationBefore:N0} to {calibrationAfter:N0} KiB (+{leakGrowth:N0} KiB, {100.0 * leakGrowth / calibrationBefore:+0.00;-0.00;0.00}%, {leakGrowth * 1024.0 / CalibrationRows:F0} bytes per row; " +
                $"the garbage collector's heap grows in segments, so per row it is close to, not exactly, 1 KiB). The {rows - WarmUpRows:N0} rows measured above grew RSS by {driftGrowth:N0} KiB, " +
                $"{driftGrowth * 1024.0 / (rows - WarmUpRows):F1} bytes per row.");
            report.AppendLine();
            report.AppendLine(culture, $"(Output checksum {checksum:R}, so the scoring cannot be optimised away.)");
            return report.ToString();
        }
    }
}
