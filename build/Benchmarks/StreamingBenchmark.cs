using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using System.Threading;
using Microsoft.ML;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Benchmarks
{
    /// <summary>
    /// The language model on more text than memory would hold as tensors: a generated corpus (Moby-Dick's paragraphs
    /// repeated, generated as the cursor reads them, so the input holds nothing) trained under a time budget, with
    /// the peak resident set, the disk the token cache takes, tokens/s and the time to the first batch; and the
    /// training throughput on Moby-Dick, which build/benchmark.sh --streaming measures with this build and with the
    /// build before the streamed token source, alternating, for the two rows side by side. Uses only public API, so the
    /// same file builds against either.
    /// </summary>
    internal static class StreamingBenchmark
    {
        /// <summary>The settings of every run: fixed, so no automatic measurement runs before the first batch.</summary>
        private static RecurrentLanguageModelTrainer.Options Options(TimeSpan budget, Action<EpochMetrics> epochCompleted) => new()
        {
            HiddenSize = 256,
            BatchSize = 32,
            SequenceLength = 35,
            Seed = 1,
            NumberOfThreads = Environment.ProcessorCount,
            TimeBudget = budget,
            EpochCompleted = epochCompleted,
        };

        public sealed record MobyDickResult(double TokensPerSecond, double PeakMiB, int Epochs);

        /// <summary>Tokens/s on Moby-Dick's paragraphs, weighted over the epochs of a <paramref name="budget"/> run, and the run's peak resident set.</summary>
        public static MobyDickResult MobyDick(TimeSpan budget)
        {
            var ml = new MLContext(seed: 1);
            var rows = Corpora.Paragraphs(Corpora.Read("moby-dick")).Select(p => new Corpora.Row { Text = p }).ToList();
            var epochs = new List<EpochMetrics>();
            ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Text.RecurrentLanguageModel(Options(budget, epochs.Add)))
                .Fit(ml.Data.LoadFromEnumerable(rows));
            // Tokens over time: each epoch's rate weighted by its duration, i.e. total tokens / total training seconds.
            var durations = epochs.Select((m, i) => (m.Elapsed - (i == 0 ? TimeSpan.Zero : epochs[i - 1].Elapsed)).TotalSeconds).ToList();
            double tokens = epochs.Select((m, i) => m.ItemsPerSecond * durations[i]).Sum();
            return new MobyDickResult(tokens / durations.Sum(), Machine.ResidentMiB().Peak, epochs.Count);
        }

        public sealed record GeneratedResult(long Characters, double BeforeMiB, double PeakMiB, long CacheBytes, double FirstBatchSeconds, double TokensPerSecond, double FitSeconds);

        /// <summary>Moby-Dick's paragraphs repeated to <paramref name="characters"/>, generated row by row as a cursor reads them.</summary>
        private static IEnumerable<Corpora.Row> Generated(IReadOnlyList<string> paragraphs, long characters)
        {
            for (long written = 0, i = 0; written < characters; i++)
            {
                var paragraph = paragraphs[(int)(i % paragraphs.Count)];
                written += paragraph.Length + 1;
                yield return new Corpora.Row { Text = paragraph };
            }
        }

        /// <summary>
        /// Fits the tokenizer and the language model on <paramref name="characters"/> of generated text under
        /// <paramref name="budget"/>, the token cache in <paramref name="folder"/> (its open files sampled every 100 ms
        /// for the disk they take). The first batch is when the training loop logs what it trains (with a fixed hidden size nothing is measured first).
        /// </summary>
        public static GeneratedResult Generate(long characters, TimeSpan budget, string folder)
        {
            Directory.CreateDirectory(folder);
            var ml = new MLContext(seed: 1) { TempFilePath = folder };
            var paragraphs = Corpora.Paragraphs(Corpora.Read("moby-dick"));
            var clock = Stopwatch.StartNew();
            double firstBatch = double.NaN;
            ml.Log += (_, e) =>
            {
                if (double.IsNaN(firstBatch) && e.Message.Contains("Training a language model on", StringComparison.Ordinal))
                    firstBatch = clock.Elapsed.TotalSeconds;
            };
            long cacheBytes = 0;
            using var sampler = new Timer(_ =>
            {
                // The cache is unlinked as soon as it is open: it shows among the process's descriptors, not in the folder.
                long bytes = Directory.EnumerateFiles("/proc/self/fd").Sum(d =>
                {
                    try
                    {
                        // Its size is the descriptor's offset: it is written front to back, then read with positioned reads only.
                        return new FileInfo(d).LinkTarget?.StartsWith(folder, StringComparison.Ordinal) == true
                            ? long.Parse(File.ReadLines($"/proc/self/fdinfo/{Path.GetFileName(d)}").First(l => l.StartsWith("pos:", StringComparison.Ordinal))[4..].Trim())
                            : 0;
                    }
                    catch (IOException)
                    {
                        return 0;
                    }
                });
                Interlocked.Exchange(ref cacheBytes, Math.Max(Interlocked.Read(ref cacheBytes), bytes));
            }, null, 0, 100);
            // A first small Fit loads what a process loads once (libtorch, the JIT): "before" is the process's baseline with them.
            var warmUp = new MLContext(seed: 1) { TempFilePath = folder };
            warmUp.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(warmUp.Transforms.Text.RecurrentLanguageModel(Options(TimeSpan.FromSeconds(5), _ => { })))
                .Fit(warmUp.Data.LoadFromEnumerable(Generated(paragraphs, 200_000)));
            GC.Collect();
            var epochs = new List<EpochMetrics>();
            double before = Machine.ResidentMiB().Current;
            clock.Restart();
            ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Text.RecurrentLanguageModel(Options(budget, epochs.Add)))
                .Fit(ml.Data.LoadFromEnumerable(Generated(paragraphs, characters)));
            double fit = clock.Elapsed.TotalSeconds;
            var first = epochs.FirstOrDefault() ?? throw new InvalidOperationException("The generated-corpus run recorded no epoch.");
            return new GeneratedResult(characters, before, Machine.ResidentMiB().Peak, Interlocked.Read(ref cacheBytes), firstBatch, first.ItemsPerSecond, fit);
        }
    }
}
