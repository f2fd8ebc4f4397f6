using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Training memory does not grow with the corpus: the language model reads its tokens from an on-disk cache a
    /// window at a time, so Fit on 100 MB of text peaks where Fit on 10 MB does (holding the tokens as int[] and long
    /// tensors took about 26.5 bytes per character: 2.6 GB more for the larger corpus).
    /// </summary>
    [TestClass]
    public sealed class StreamedTrainingMemoryTests
    {
        /// <summary>Seeded paragraphs of words over a–z, about a kilobyte each, that the corpora repeat.</summary>
        private static readonly string[] Paragraphs = MakeParagraphs(200, seed: 26);

        private static string[] MakeParagraphs(int count, int seed)
        {
            var random = new Random(seed);
            var paragraphs = new string[count];
            var text = new StringBuilder();
            for (int p = 0; p < count; p++)
            {
                text.Clear();
                while (text.Length < 1000)
                {
                    int letters = random.Next(1, 9);
                    for (int i = 0; i < letters; i++)
                        text.Append((char)('a' + random.Next(26)));
                    text.Append(random.Next(12) == 0 ? ". " : " ");
                }
                paragraphs[p] = text.ToString();
            }
            return paragraphs;
        }

        /// <summary>Rows of text totalling <paramref name="characters"/>, generated as the cursor reads them (nothing held).</summary>
        private static IEnumerable<TextRow> Corpus(long characters)
        {
            for (long written = 0, row = 0; written < characters; row++)
            {
                var paragraph = Paragraphs[row % Paragraphs.Length];
                written += paragraph.Length;
                yield return new TextRow { Text = paragraph };
            }
        }

        /// <summary>A tiny network trained for a fixed number of clock readings (the fake clock makes it machine-independent).</summary>
        private static RecurrentLanguageModelTrainer.Options Options() => new()
        {
            HiddenSize = 16,
            BatchSize = 32,
            SequenceLength = 32,
            Seed = 1,
            NumberOfThreads = 1,
            TimeBudget = TimeSpan.FromSeconds(4),
            TimeProvider = new SteppingClock(TimeSpan.FromMilliseconds(20)),
            Generation = new GenerationOptions { MaximumNewTokens = 5 },
        };

        /// <summary>How far the resident set rose above its level before, at its peak, while fitting the pipeline on <paramref name="characters"/> of text.</summary>
        private static long FitPeakGrowth(long characters, out RecurrentLanguageModelTransformer model)
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Corpus(characters));
            RecurrentLanguageModelTransformer? fitted = null;
            long growth = ProcessMemory.PeakGrowthKiB(() => fitted = LanguageModelTestKit.LanguageModel(LanguageModelTestKit.Pipeline(ml, Options()).Fit(data))) * 1024;
            model = fitted!;
            return growth;
        }

        [TestMethod]
        public void PeakMemoryOfFitIsTheSameForTenAndAHundredMegabytesOfText()
        {
            // A first small Fit pays for what a process loads once (TorchSharp, the JIT), which the others must not count.
            FitPeakGrowth(1_000_000, out _);
            long ten = FitPeakGrowth(10_000_000, out var tenModel);
            long hundred = FitPeakGrowth(100_000_000, out var hundredModel);
            Console.WriteLine($"peak resident growth of Fit: 10 MB of text {ten >> 20} MiB, 100 MB {hundred >> 20} MiB");
            foreach (var model in new[] { tenModel, hundredModel })
                Assert.IsGreaterThan(0, model.TrainingHistory.Count, "epochs trained");
            Assert.IsLessThan(256L << 20, hundred, "bytes of resident growth while fitting on 100 MB of text");
            Assert.IsLessThan(ten + (64L << 20), hundred, "bytes of resident growth on 100 MB vs on 10 MB of text (+64 MiB)");
        }
    }
}
