using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The language model's on-disk token cache: in MLContext.TempFilePath while Fit runs (unlinked as soon as it is
    /// open, on Linux), 2 bytes per token (4 past 65,536 tokens), closed when Fit ends or fails, a clear error for a
    /// folder it cannot use; and the seeded
    /// permutation that shuffles random windows without an array of them.
    /// </summary>
    [TestClass]
    public sealed class TokenCacheTests
    {
        private static string[] CacheFiles(string folder) => Directory.GetFiles(folder, "mlnetlstm-tokens-*.cache");

        /// <summary>
        /// The token caches this process holds open in <paramref name="folder"/> and their sizes: on Linux the file is
        /// unlinked as soon as it is open, so it shows only among the process's descriptors, as "… (deleted)". The size
        /// is the descriptor's offset (/proc/self/fdinfo): the cache is written front to back, then read only with
        /// positioned reads, which leave the offset where writing ended.
        /// </summary>
        private static List<(string Name, long Bytes)> OpenCaches(string folder)
        {
            var open = new List<(string, long)>();
            foreach (var descriptor in Directory.GetFiles("/proc/self/fd"))
            {
                string? target = null;
                try
                {
                    target = new FileInfo(descriptor).LinkTarget;
                }
                catch (IOException)
                {
                }
                if (target is not null && target.StartsWith(Path.Combine(folder, "mlnetlstm-tokens-"), StringComparison.Ordinal))
                    open.Add((Path.GetFileName(target), Offset(Path.GetFileName(descriptor))));
            }
            return open;
        }

        private static long Offset(string descriptor) => long.Parse(File.ReadLines($"/proc/self/fdinfo/{descriptor}")
            .First(l => l.StartsWith("pos:", StringComparison.Ordinal))[4..].Trim(), System.Globalization.CultureInfo.InvariantCulture);

        [TestMethod]
        public void TheCacheIsInTempFilePathWhileFitRunsTwoBytesPerTokenAndDeletedAfter()
        {
            string folder = TestData.TempDirectory("token-cache");
            var ml = new MLContext(seed: 1) { TempFilePath = folder };
            var seen = new List<(string Name, long Bytes)>();
            var options = SmallOptions(epochs: 2);
            var listed = new List<string>();
            options.EpochCompleted = _ =>
            {
                seen.AddRange(OpenCaches(folder));
                listed.AddRange(CacheFiles(folder));
            };
            Fit(ml, options, PeriodicText(20), PeriodicText(10));

            // Two epochs, each seeing the one cache: 140 + 70 characters and an end-of-text token after each row, 2 bytes each.
            Assert.HasCount(2, seen, string.Join(", ", seen));
            Assert.AreEqual(seen[0], seen[1]);
            Assert.EndsWith(".cache (deleted)", seen[0].Name, "an open cache is already unlinked, so a killed process leaves nothing behind");
            Assert.AreEqual(2L * (140 + 1 + 70 + 1), seen[0].Bytes, "bytes of the token cache");
            Assert.IsEmpty(listed, "cache files listed in the folder while Fit runs");
            Assert.IsEmpty(OpenCaches(folder), "caches still open after Fit");
            Assert.IsEmpty(CacheFiles(folder), "cache files left after Fit");
        }

        [TestMethod]
        public void ValidationDataGetsACacheOfItsOwn()
        {
            string folder = TestData.TempDirectory("token-cache");
            var ml = new MLContext(seed: 1) { TempFilePath = folder };
            var tokenizer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, PeriodicText(20)));
            var sizes = new List<long>();
            var options = SmallOptions(epochs: 1);
            options.ValidationData = tokenizer.Transform(TestData.Texts(ml, PeriodicText(3)));
            options.EpochCompleted = _ => sizes.AddRange(OpenCaches(folder).Select(c => c.Bytes).Order());
            ml.Transforms.Text.RecurrentLanguageModel(options).Fit(tokenizer.Transform(TestData.Texts(ml, PeriodicText(20))));
            CollectionAssert.AreEqual(new[] { 2L * (21 + 1), 2L * (140 + 1) }, sizes, "bytes of the validation and training caches");
            Assert.IsEmpty(OpenCaches(folder), "caches still open after Fit");
        }

        [TestMethod]
        public void AFitThatFailsAfterCachingDeletesItsCache()
        {
            string folder = TestData.TempDirectory("token-cache");
            var ml = new MLContext(seed: 1) { TempFilePath = folder };
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(ml, SmallOptions(), "abc"));
            StringAssert.Contains(e.Message, "fewer than the 41 one batch needs");
            Assert.IsEmpty(OpenCaches(folder), "caches still open after a failed Fit");
            Assert.IsEmpty(CacheFiles(folder), "cache files left after a failed Fit");
        }

        [TestMethod]
        public void ATempFilePathThatDoesNotExistIsAClearErrorBeforeTraining()
        {
            string folder = Path.Combine(TestData.TempDirectory("token-cache"), "missing");
            var ml = new MLContext(seed: 1) { TempFilePath = folder };
            int epochs = 0;
            var options = SmallOptions();
            options.EpochCompleted = _ => epochs++;
            var e = Assert.ThrowsExactly<IOException>(() => Fit(ml, options, PeriodicText(20)));
            StringAssert.Contains(e.Message, $"Cannot create the token cache of the training data in '{folder}'");
            StringAssert.Contains(e.Message, "set MLContext.TempFilePath to a folder that exists and can be written to");
            Assert.AreEqual(0, epochs, "epochs trained");
        }

        [TestMethod]
        public void AVocabularyPast65536TokensIsCachedFourBytesPerTokenAndReadBackExactly()
        {
            var ml = new MLContext(seed: 1);
            // 70,000 distinct words: more ids than two bytes hold.
            var rows = Enumerable.Range(0, 700).Select(r => string.Join(" ", Enumerable.Range(r * 100, 100).Select(w => $"w{w}"))).ToArray();
            var data = ml.Transforms.Text.TokenizeWithWordVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, rows)).Transform(TestData.Texts(ml, rows));
            var column = TokenColumn.Bind(data.Schema, "Tokens");
            Assert.IsGreaterThan(1 << 16, column.Tokens.Length, "vocabulary size");
            int endOfText = Array.IndexOf(column.Tokens, "<eos>");
            var expected = TestData.Keys(data).SelectMany(keys => keys.Select(k => (long)k - 1).Append(endOfText)).ToArray();

            using var cache = TokenCache.Write(data, column, endOfText, TestData.TempDirectory("token-cache"), "training data");
            Assert.AreEqual(4L * expected.Length, cache.Bytes, "bytes of the token cache");
            var read = new long[expected.Length];
            cache.Stream.Read(0, read);
            CollectionAssert.AreEqual(expected, read);
            Assert.IsGreaterThan(65_536L, read.Max(), "the largest id read back");
            var tail = new long[10];
            cache.Stream.Slice(expected.Length - 20, 20).Read(10, tail);
            CollectionAssert.AreEqual(expected[^10..], tail, "ten tokens read at an offset into a slice");
            Assert.AreEqual(100, cache.Stream.IndexOf(endOfText, 0), "the first end-of-text token");
            Assert.AreEqual(expected.Length, cache.Stream.IndexOf(endOfText + 100_000, 0), "a token that is not there");
        }

        [TestMethod]
        public void TheWindowPermutationVisitsEveryPositionOnceInASeededOrder()
        {
            foreach (long count in new long[] { 1, 2, 3, 5, 16, 17, 1000, 4097 })
            {
                var permutation = new RandomPermutation(count, new Random(7));
                var values = Enumerable.Range(0, (int)count).Select(i => permutation[i]).ToArray();
                CollectionAssert.AreEqual(Enumerable.Range(0, (int)count).Select(i => (long)i).ToArray(), values.Order().ToArray(), $"the values of a permutation of {count}");
            }
            var first = new RandomPermutation(1000, new Random(7));
            var again = new RandomPermutation(1000, new Random(7));
            var other = new RandomPermutation(1000, new Random(8));
            var order = Enumerable.Range(0, 1000).Select(i => first[i]).ToArray();
            CollectionAssert.AreEqual(order, Enumerable.Range(0, 1000).Select(i => again[i]).ToArray(), "the same seed, the same order");
            int same = Enumerable.Range(0, 1000).Count(i => other[i] == order[i]);
            Assert.IsLessThan(20, same, "positions where another seed gives the same value (about 1 expected)");
            int fixedPoints = Enumerable.Range(0, 1000).Count(i => order[i] == i);
            Assert.IsLessThan(20, fixedPoints, "positions left in place (about 1 expected for a random order)");
            // A shuffled order has no long runs of consecutive windows: adjacent values are rarely neighbours.
            int neighbours = Enumerable.Range(1, 999).Count(i => Math.Abs(order[i] - order[i - 1]) == 1);
            Assert.IsLessThan(20, neighbours, "adjacent positions holding consecutive values (about 2 expected)");
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => first[1000]);
        }
    }
}
