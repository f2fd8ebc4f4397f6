using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>The learned BPE tokenizer: merges against a hand-worked example, losslessness, reserved tokens, the zip round trip, bad input.</summary>
    [TestClass]
    public sealed class BpeTokenizerTests
    {
        private string _directory = "";

        [TestInitialize]
        public void CreateDirectory() => _directory = TestData.TempDirectory();

        [TestCleanup]
        public void DeleteDirectory()
        {
            if (Directory.Exists(_directory))
                Directory.Delete(_directory, recursive: true);
        }

        private static BpeTokenizingTransformer Fit(MLContext ml, int vocabularySize, params string[] texts)
            => ml.Transforms.Text.TokenizeWithLearnedBpe("Tokens", "Text", vocabularySize).Fit(TestData.Texts(ml, texts));

        // "ab ab ab abc": pieces ab ×3, ' ' ×3, abc. Characters by count: a 4, b 4, ' ' 3, c 1 → ids 2..5.
        // Pairs: (a,b) 4, (b,c) 1 → merge ab (id 6); then (ab,c) 1 → merge abc (id 7); then no pair is left.
        [TestMethod]
        public void LearnsTheMergesOfAHandWorkedExample()
        {
            var ml = new MLContext(seed: 1);
            var vocabulary = Fit(ml, 8, "ab ab ab abc").Vocabulary;
            CollectionAssert.AreEqual(new[] { "<unk>", "<eos>", "a", "b", " ", "c", "ab", "abc" }, vocabulary.Tokens.ToArray());
            CollectionAssert.AreEqual(new[] { ("a", "b"), ("ab", "c") }, vocabulary.Merges.ToArray());
            CollectionAssert.AreEqual(new[] { 6, 4, 7 }, vocabulary.Encode("ab abc", out int unknown));
            Assert.AreEqual(0, unknown);
            // One piece "abcab": a b c a b → ab c ab → abc ab.
            CollectionAssert.AreEqual(new[] { 7, 6 }, vocabulary.Encode("abcab", out _));
            // The Microsoft.ML.Tokenizers tokenizer encodes and decodes the same way.
            CollectionAssert.AreEqual(new[] { 7, 6 }, vocabulary.Tokenizer.EncodeToIds("abcab").ToArray());
            Assert.AreEqual("ab abc", vocabulary.Tokenizer.Decode(new[] { 6, 4, 7 }));
        }

        // With MinimumCount 2 on "ab ab ab abc": c (seen once) stays out, so "abc" is ab + <unk>, and (ab, c) is never a pair.
        [TestMethod]
        public void MinimumCountLeavesOutRareCharactersAndPairs()
        {
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, "ab ab ab abc");
            var options = new BpeTokenizingEstimator.Options { InputColumnName = "Text", VocabularySize = 6, MinimumCount = 2 };
            var vocabulary = ml.Transforms.Text.TokenizeWithLearnedBpe(options).Fit(data).Vocabulary;
            CollectionAssert.AreEqual(new[] { "<unk>", "<eos>", "a", "b", " ", "ab" }, vocabulary.Tokens.ToArray());
            CollectionAssert.AreEqual(new[] { 5, 0 }, vocabulary.Encode("abc", out int unknown));
            Assert.AreEqual(1, unknown);

            options.VocabularySize = 7;
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.Text.TokenizeWithLearnedBpe(options).Fit(data));
            Assert.Contains("seen at least MinimumCount = 2 times", e.Message);
            Assert.Contains("at most 6, lower MinimumCount", e.Message);
        }

        [TestMethod]
        public void IsLosslessAndTheSameForTheSameData()
        {
            var corpus = TinyLanguageModel.Corpus(3000, seed: 5).Append("Æsop's 12 fables, 3½ 😀 naïve — done.\n\tEnd").ToArray();
            var first = Fit(new MLContext(seed: 1), 120, corpus).Vocabulary;
            var second = Fit(new MLContext(seed: 9), 120, corpus).Vocabulary;
            Assert.AreEqual(120, first.Count);
            CollectionAssert.AreEqual(first.Tokens.ToArray(), second.Tokens.ToArray());
            CollectionAssert.AreEqual(first.Merges.ToArray(), second.Merges.ToArray());
            Assert.IsTrue(first.Tokens.Any(t => t.Length >= 4), "a vocabulary of 120 on these words learns whole words");
            foreach (var text in corpus)
            {
                var ids = first.Encode(text, out int unknown);
                Assert.AreEqual(0, unknown, text);
                Assert.AreEqual(text, first.Decode(ids));
                Assert.AreEqual(text, first.Tokenizer.Decode(ids));
                Assert.IsLessThan(text.Length, ids.Length + 0.0, "subwords are fewer than characters");
            }
        }

        [TestMethod]
        public void ReservedTokensTypedInTextAreNotControlTokens()
        {
            var ml = new MLContext(seed: 1);
            var options = new BpeTokenizingEstimator.Options { InputColumnName = "Text", VocabularySize = 14, ReservedTokens = new[] { "<unk>", "<eos>", "|" } };
            var vocabulary = ml.Transforms.Text.TokenizeWithLearnedBpe(options).Fit(TestData.Texts(ml, "<eos> <eos> <eos> a|b|c")).Vocabulary;
            var ids = vocabulary.Encode("<eos>", out int unknown);
            Assert.AreEqual(0, unknown);
            Assert.IsTrue(ids.All(id => id >= vocabulary.ReservedCount), string.Join(",", ids));
            Assert.AreEqual("<eos>", vocabulary.Decode(ids));
            // A one-character reserved token typed in text is unknown, not the reserved token.
            var bar = vocabulary.Encode("a|b", out unknown);
            Assert.AreEqual(1, unknown);
            Assert.AreEqual(vocabulary.UnknownId, bar[1]);
        }

        [TestMethod]
        public void UnseenCharactersAndLoneSurrogatesAreUnknownAndSurrogatePairsWhole()
        {
            var ml = new MLContext(seed: 1);
            var vocabulary = Fit(ml, 8, "😀😀ab ab").Vocabulary;
            Assert.IsTrue(vocabulary.Tokens.Contains("😀"));
            Assert.IsTrue(vocabulary.Tokens.All(t => !char.IsSurrogate(t[0]) || (t.Length >= 2 && char.IsSurrogatePair(t[0], t[1]))));
            var ids = vocabulary.Encode("ab😀z\uD800", out int unknown);
            Assert.AreEqual(2, unknown);
            Assert.AreEqual("ab😀<unk><unk>", vocabulary.Decode(ids));
        }

        [TestMethod]
        public void RoundTripsThroughTheModelZip()
        {
            var ml = new MLContext(seed: 1);
            var corpus = TinyLanguageModel.Corpus(2000, seed: 2);
            var data = TestData.Texts(ml, corpus);
            var fitted = ml.Transforms.Text.TokenizeWithLearnedBpe("Tokens", "Text", 80).Fit(data);
            string path = Path.Combine(_directory, "bpe.zip");
            ml.Model.Save(fitted, data.Schema, path);

            var loaded = new MLContext().Model.Load(path, out _);
            var vocabulary = TransformerChains.Flatten(loaded).OfType<BpeTokenizingTransformer>().Single().Vocabulary;
            CollectionAssert.AreEqual(fitted.Vocabulary.Tokens.ToArray(), vocabulary.Tokens.ToArray());
            CollectionAssert.AreEqual(fitted.Vocabulary.Merges.ToArray(), vocabulary.Merges.ToArray());
            var before = TestData.Vectors<uint>(fitted.Transform(data), "Tokens").Select(v => v.DenseValues().ToArray()).ToList();
            var after = TestData.Vectors<uint>(loaded.Transform(data), "Tokens").Select(v => v.DenseValues().ToArray()).ToList();
            Assert.HasCount(corpus.Length, after);
            for (int i = 0; i < corpus.Length; i++)
            {
                CollectionAssert.AreEqual(before[i], after[i]);
                Assert.AreEqual(corpus[i], vocabulary.Decode(after[i].Select(k => (int)k - 1).ToArray()));
            }
            var column = loaded.Transform(data).Schema["Tokens"];
            VBuffer<ReadOnlyMemory<char>> keyValues = default;
            column.GetKeyValues(ref keyValues);
            CollectionAssert.AreEqual(vocabulary.Tokens.ToArray(), keyValues.DenseValues().Select(v => v.ToString()).ToArray());
        }

        // *** Bad input ***

        [TestMethod]
        public void VocabularySizeOutOfRangeNamesTheOption()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.Text.TokenizeWithLearnedBpe("Tokens", "Text", vocabularySize: 2));
            Assert.Contains("VocabularySize is 2", e.Message);
            Assert.Contains("from 3", e.Message);
        }

        [TestMethod]
        public void VocabularySizeLargerThanTheDataAllowsNamesTheLargest()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(ml, 9, "ab ab ab abc"));
            Assert.Contains("VocabularySize is 9", e.Message);
            Assert.Contains("column 'Text'", e.Message);
            Assert.Contains("at most 8", e.Message);
        }

        [TestMethod]
        public void EmptyDataNamesTheColumn()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(ml, 10, "", ""));
            Assert.Contains("'Text'", e.Message);
            Assert.Contains("no text", e.Message);
        }

        [TestMethod]
        public void ReservedTokenOptionsAreCheckedAsForTheCharacterTokenizer()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Text.TokenizeWithLearnedBpe(new BpeTokenizingEstimator.Options { UnknownToken = "<oov>" }));
            Assert.Contains("UnknownToken '<oov>' must be one of ReservedTokens", e.Message);
        }

        [TestMethod]
        public void DamagedEntryNamesTheEntry()
        {
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, "ab ab ab abc");
            string path = Path.Combine(_directory, "bpe.zip"), flipped = Path.Combine(_directory, "flipped.zip"), inconsistent = Path.Combine(_directory, "inconsistent.zip");
            ml.Model.Save(Fit(ml, 8, "ab ab ab abc"), data.Schema, path);

            ModelZip.Rewrite(path, flipped, "BPETOKEN", entry =>
            {
                var blob = ModelZip.Blob(entry);
                blob[40] ^= 0x20;
                return ModelZip.WithBlob(entry, blob);
            });
            var e = LoadError(flipped);
            Assert.Contains("MlnetLstm BPE Tokenizer", e.Message);
            Assert.Contains("checksum", e.Message);

            // A validly signed entry whose last merge joins "ab" and "a" (the vocabulary has no "aba"): refused by name.
            ModelZip.Rewrite(path, inconsistent, "BPETOKEN", entry =>
            {
                var fields = ModelZip.Fields(entry);
                var tail = new byte[] { 2, (byte)'a', (byte)'b', 1, (byte)'a' };
                var head = new byte[] { 2, (byte)'a', (byte)'b', 1, (byte)'c' };
                int at = LastIndexOf(fields, head);
                Assert.IsGreaterThan(0, at);
                tail.CopyTo(fields, at);
                return ModelZip.WithSignedFields(entry, fields);
            });
            var e2 = LoadError(inconsistent);
            Assert.Contains("MlnetLstm BPE Tokenizer", e2.Message);
            Assert.Contains("Merge 1 ('ab' + 'a')", e2.Message);
        }

        [TestMethod]
        public void OnnxExportNamesTheWayOut()
        {
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, "ab ab ab abc");
            var fitted = Fit(ml, 8, "ab ab ab abc");
            using var stream = new MemoryStream();
            var e = Assert.ThrowsExactly<NotSupportedException>(() => OnnxTestKit.Convert(ml, fitted, data));
            Assert.Contains("column 'Text'", e.Message);
            Assert.Contains("ExportOnnxGenerator", e.Message);
            Assert.Contains("BpeTokenizer", e.Message);
        }

        /// <summary>The FormatException loading a zip fails with (ML.NET wraps a component's exception in TargetInvocationException).</summary>
        private static FormatException LoadError(string path)
        {
            Exception e = Assert.Throws<Exception>(() => new MLContext().Model.Load(path, out _));
            while (e is System.Reflection.TargetInvocationException { InnerException: { } inner })
                e = inner;
            Assert.IsInstanceOfType<FormatException>(e, e.ToString());
            return (FormatException)e;
        }

        private static int LastIndexOf(byte[] data, byte[] pattern)
        {
            for (int i = data.Length - pattern.Length; i >= 0; i--)
                if (data.AsSpan(i, pattern.Length).SequenceEqual(pattern))
                    return i;
            return -1;
        }
    }
}
