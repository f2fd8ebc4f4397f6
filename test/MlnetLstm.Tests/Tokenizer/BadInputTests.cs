using System;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>Every bad input fails with an exception of a known type whose message names the column or option and the fix.</summary>
    [TestClass]
    public sealed class BadInputTests
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

        private sealed class FloatRow
        {
            public float Text { get; set; }
        }

        private sealed class OtherRow
        {
            public string Other { get; set; } = "";
        }

        private static VocabularyTokenizingEstimator.Options Options(Action<VocabularyTokenizingEstimator.Options> change)
        {
            var options = new VocabularyTokenizingEstimator.Options { OutputColumnName = "Tokens", InputColumnName = "Text" };
            change(options);
            return options;
        }

        // *** Columns ***

        [TestMethod]
        public void MissingInputColumnAtFit()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() =>
                ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Missing").Fit(TestData.Texts(ml, "abc")));
            Assert.Contains("'Missing'", e.Message);
            Assert.Contains("not in the data", e.Message);
            Assert.Contains("text column", e.Message);
        }

        [TestMethod]
        public void MissingInputColumnAtGetOutputSchema()
        {
            var ml = new MLContext(seed: 1);
            var estimator = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Missing");
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(TestData.Shape(TestData.Texts(ml, "abc").Schema)));
            Assert.Contains("'Missing'", e.Message);
            Assert.Contains("not in the data", e.Message);

            var oneHot = ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Keys");
            var e2 = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => oneHot.GetOutputSchema(TestData.Shape(TestData.Texts(ml, "abc").Schema)));
            Assert.Contains("'Keys'", e2.Message);
            Assert.Contains("not in the data", e2.Message);
        }

        [TestMethod]
        public void MissingInputColumnWhenAFittedTransformerIsApplied()
        {
            var ml = new MLContext(seed: 1);
            var transformer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, "abc"));
            var other = ml.Data.LoadFromEnumerable(new[] { new OtherRow { Other = "abc" } });
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.GetOutputSchema(other.Schema));
            Assert.Contains("Text", e.Message);
            Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.Transform(other));
        }

        [TestMethod]
        public void WronglyTypedInputColumn()
        {
            var ml = new MLContext(seed: 1);
            var floats = ml.Data.LoadFromEnumerable(new[] { new FloatRow { Text = 1f } });
            var estimator = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text");
            var atFit = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(floats));
            Assert.Contains("'Text'", atFit.Message);
            Assert.Contains("must be a text (string) column", atFit.Message);
            Assert.Contains("Single", atFit.Message);
            var atSchema = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(TestData.Shape(floats.Schema)));
            Assert.Contains("'Text'", atSchema.Message);
            Assert.Contains("must be a text (string) column", atSchema.Message);

            var transformer = estimator.Fit(TestData.Texts(ml, "abc"));
            var atTransform = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => transformer.Transform(floats));
            Assert.Contains("'Text'", atTransform.Message);
            Assert.Contains("must be a text (string) column", atTransform.Message);
        }

        [TestMethod]
        public void OneHotOverANonKeyColumn()
        {
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, "abc");
            var estimator = ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Text");
            var atFit = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(data));
            Assert.Contains("'Text'", atFit.Message);
            Assert.Contains("must be a vector of UInt32 keys", atFit.Message);
            Assert.Contains("TokenizeWithCharacterVocabulary", atFit.Message);
            var atSchema = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(TestData.Shape(data.Schema)));
            Assert.Contains("'Text'", atSchema.Message);
            Assert.Contains("must be a vector of UInt32 keys", atSchema.Message);

            var floats = ml.Data.LoadFromEnumerable(new[] { new FloatRow { Text = 1f } });
            var atFloat = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(floats));
            Assert.Contains("must be a vector of UInt32 keys", atFloat.Message);
        }

        private sealed class ByteKeysRow
        {
            [KeyType(5)]
            [VectorType]
            public byte[] Keys { get; set; } = Array.Empty<byte>();
        }

        [TestMethod]
        public void OneHotOverKeysOfAnotherRawType()
        {
            // Byte keys: a key vector, but not of the UInt32 keys the transform reads.
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(new[] { new ByteKeysRow { Keys = new byte[] { 1, 3 } } });
            var estimator = ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Keys");
            var atFit = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(data));
            Assert.Contains("'Keys'", atFit.Message);
            Assert.Contains("must be a vector of UInt32 keys", atFit.Message);
            Assert.Contains("Byte", atFit.Message);
            var atSchema = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.GetOutputSchema(TestData.Shape(data.Schema)));
            Assert.Contains("'Keys'", atSchema.Message);
            Assert.Contains("must be a vector of UInt32 keys", atSchema.Message);
        }

        // *** Options ***

        [TestMethod]
        [DataRow(0)]
        [DataRow(-5)]
        [DataRow(2)]
        public void MaximumVocabularySizeNotAboveTheReservedCount(int size)
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text", maximumVocabularySize: size));
            Assert.Contains("MaximumVocabularySize", e.Message);
            Assert.Contains($"is {size}", e.Message);
            Assert.Contains("2 reserved tokens", e.Message);
            Assert.Contains("from 3", e.Message);

            var four = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.Text.TokenizeWithVocabulary(Options(o =>
            {
                o.ReservedTokens = new[] { "<unk>", "<eos>", "<pad>", "<bos>" };
                o.MaximumVocabularySize = 4;
            })));
            Assert.Contains("4 reserved tokens", four.Message);
            Assert.Contains("from 5", four.Message);
        }

        [TestMethod]
        [DataRow(0)]
        [DataRow(-1)]
        public void MinimumCountBelowOne(int count)
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text", minimumCount: count));
            Assert.Contains($"MinimumCount is {count}", e.Message);
            Assert.Contains("at least 1", e.Message);
        }

        [TestMethod]
        public void UnknownTokenNotAmongReservedTokens()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Text.TokenizeWithVocabulary(Options(o =>
            {
                o.ReservedTokens = new[] { "<eos>", "<pad>" };
                o.UnknownToken = "<unk>";
            })));
            Assert.Contains("UnknownToken '<unk>'", e.Message);
            Assert.Contains("must be one of ReservedTokens", e.Message);
            Assert.Contains("<eos>, <pad>", e.Message);
        }

        [TestMethod]
        public void DuplicateReservedTokens()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Text.TokenizeWithVocabulary(Options(o => o.ReservedTokens = new[] { "<unk>", "<eos>", "<unk>" })));
            Assert.Contains("ReservedTokens", e.Message);
            Assert.Contains("twice", e.Message);
            Assert.Contains("List each once", e.Message);
        }

        [TestMethod]
        public void ReservedTokenWithLoneSurrogate()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Text.TokenizeWithVocabulary(Options(o => o.ReservedTokens = new[] { "<unk>", "<e\uD800>" })));
            Assert.Contains("lone surrogate", e.Message);
            // A real replacement character is valid text, and so a valid reserved token.
            ml.Transforms.Text.TokenizeWithVocabulary(Options(o => o.ReservedTokens = new[] { "<unk>", "<\uFFFD>" }));
        }

        [TestMethod]
        public void ReservedTokenWithWhiteSpaceInWordMode()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Text.TokenizeWithVocabulary(Options(o =>
            {
                o.Level = TokenizerLevel.Word;
                o.ReservedTokens = new[] { "<unk>", "end of text" };
            })));
            Assert.Contains("'end of text' contains white space", e.Message);
            Assert.Contains("in word mode", e.Message);
            // In character mode such a token is fine: it never collides with a one-character token.
            ml.Transforms.Text.TokenizeWithVocabulary(Options(o => o.ReservedTokens = new[] { "<unk>", "end of text" }));
        }

        [TestMethod]
        public void NegativeMaximumLength()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Tokens", maximumLength: -1));
            Assert.Contains("maximumLength is -1", e.Message);
            Assert.Contains("use 0 for a variable-length output", e.Message);
        }

        // *** Training data ***

        [TestMethod]
        public void TrainingDataWithNoRows()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml)));
            Assert.Contains("'Text'", e.Message);
            Assert.Contains("no text to learn a vocabulary from", e.Message);
        }

        [TestMethod]
        public void TrainingDataWhereEveryTextIsEmpty()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, "", "", "")));
            Assert.Contains("'Text'", e.Message);
            Assert.Contains("no text to learn a vocabulary from", e.Message);

            var words = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.Text.TokenizeWithWordVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, " ", "\t\n")));
            Assert.Contains("no text to learn a vocabulary from", words.Message);
        }

        [TestMethod]
        public void TrainingDataWithNoTokenReachingMinimumCount()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text", minimumCount: 3).Fit(TestData.Texts(ml, "aabbc")));
            Assert.Contains("'Text'", e.Message);
            Assert.Contains("MinimumCount = 3", e.Message);
            Assert.Contains("lower MinimumCount", e.Message);
        }

        // *** Model files ***

        private string SaveModel(bool withOneHot)
        {
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, "hello world");
            IEstimator<ITransformer> pipeline = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text");
            if (withOneHot)
                pipeline = pipeline.Append(ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Tokens"));
            var zip = Path.Combine(_directory, "model.zip");
            ml.Model.Save(pipeline.Fit(data), data.Schema, zip);
            return zip;
        }

        /// <summary>
        /// Loads a model that must fail with our FormatException. ML.NET creates each component through reflection and
        /// does not unwrap, so Model.Load throws a TargetInvocationException (one per level of nesting: the chain, then
        /// the component) whose innermost exception is the component's.
        /// </summary>
        private static FormatException LoadFails(string zip)
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<TargetInvocationException>(() => ml.Model.Load(zip, out _));
            Exception inner = e;
            while (inner is TargetInvocationException { InnerException: { } next })
                inner = next;
            Assert.AreEqual(typeof(FormatException), inner.GetType(), inner.ToString());
            return (FormatException)inner;
        }

        [TestMethod]
        [DataRow("VOCBTOKN", "MlnetLstm Vocabulary Tokenizer")]
        [DataRow("ONEHOTSQ", "MlnetLstm One-Hot Sequence")]
        public void ModelWrittenByANewerFormatVersion(string signature, string component)
        {
            var zip = SaveModel(withOneHot: true);
            var entries = ModelZip.ReadEntries(zip);
            var name = ModelZip.FindEntry(entries, signature);
            Assert.AreEqual((0x00010005u, 0x00010005u), ModelZip.Versions(entries.Single(e => e.Name == name).Bytes));

            // A newer release that can no longer be read by this one: both versions move on.
            var newer = Path.Combine(_directory, "newer.zip");
            ModelZip.Rewrite(zip, newer, signature, entry => ModelZip.WithVersions(entry, written: 0x00020001, readable: 0x00020001));
            var e = LoadFails(newer);
            Assert.Contains(component, e.Message);
            Assert.Contains("newer", e.Message);
            Assert.Contains("0x00020001", e.Message);
            Assert.Contains(Path.GetDirectoryName(name)!.Replace('\\', '/'), e.Message.Replace('\\', '/'));
            Assert.Contains("Load the model with the MlnetLstm version that saved it", e.Message);
        }

        [TestMethod]
        public void ModelWrittenByANewerWriterThatThisVersionCanStillRead()
        {
            // A newer writer that declares its output readable by this version: verWritten moves on, verReadable does not.
            var zip = SaveModel(withOneHot: false);
            var newer = Path.Combine(_directory, "newer-readable.zip");
            ModelZip.Rewrite(zip, newer, "VOCBTOKN", entry => ModelZip.WithVersions(entry, written: 0x00010006, readable: null));
            var ml = new MLContext(seed: 1);
            var expected = Runner.Predict(ml, ml.Model.Load(zip, out _), "tokens", new[] { "hello", "xyz" }).ToList();
            var actual = Runner.Predict(ml, ml.Model.Load(newer, out _), "tokens", new[] { "hello", "xyz" }).ToList();
            Assert.AreSequenceEqual(expected, actual);
        }

        [TestMethod]
        [DataRow(1)]
        [DataRow(2)]
        [DataRow(10)]
        [DataRow(27)]
        public void TruncatedVocabularyEntry(int cut)
        {
            var zip = SaveModel(withOneHot: false);
            var entries = ModelZip.ReadEntries(zip);
            var name = ModelZip.FindEntry(entries, "VOCBTOKN");
            var fields = ModelZip.Fields(entries.Single(e => e.Name == name).Bytes);
            // "hello world": <unk>, <eos> (6 bytes each with the length byte) and 8 characters (2 bytes each), 28 bytes
            // of tokens, then the 4-byte number of reserved tokens, at the end of the fields; the cuts lose part of that
            // number, a token's text, a whole token, or several tokens. The checksum is made to match, so that the
            // vocabulary reader itself meets the truncation.
            Assert.IsGreaterThan(40, fields.Length);
            var truncated = Path.Combine(_directory, "truncated.zip");
            ModelZip.Rewrite(zip, truncated, "VOCBTOKN", entry => ModelZip.WithSignedFields(entry, fields[..^cut]));
            var e = LoadFails(truncated);
            Assert.Contains($"Model entry '{Path.GetDirectoryName(name)!.Replace('\\', '/')}' (MlnetLstm Vocabulary Tokenizer)", e.Message.Replace('\\', '/'));
            // Cutting a few bytes runs a token past the end; cutting more leaves fewer bytes than the claimed tokens need.
            Assert.IsTrue(e.Message.Contains("truncated or corrupt", StringComparison.Ordinal) || e.Message.Contains("too short to hold them", StringComparison.Ordinal), e.Message);
        }

        [TestMethod]
        public void VocabularyEntryClaimingMoreTokensThanItHolds()
        {
            var zip = SaveModel(withOneHot: false);
            var entries = ModelZip.ReadEntries(zip);
            var name = ModelZip.FindEntry(entries, "VOCBTOKN");
            var fields = ModelZip.Fields(entries.Single(e => e.Name == name).Bytes);
            // The fields end with the vocabulary; its token count is the int 8 bytes before the first token "<unk>" (then the unknown id).
            int first = IndexOf(fields, new byte[] { 5, (byte)'<', (byte)'u', (byte)'n', (byte)'k', (byte)'>' });
            int countOffset = first - 8;
            Assert.AreEqual(10, BitConverter.ToInt32(fields, countOffset), "The vocabulary of \"hello world\" has 10 tokens.");
            var changed = (byte[])fields.Clone();
            BitConverter.GetBytes(1_000_000).CopyTo(changed, countOffset);
            var corrupt = Path.Combine(_directory, "corrupt.zip");
            ModelZip.Rewrite(zip, corrupt, "VOCBTOKN", entry => ModelZip.WithSignedFields(entry, changed));
            var e = LoadFails(corrupt);
            Assert.Contains("MlnetLstm Vocabulary Tokenizer", e.Message);
            Assert.Contains("1000000 vocabulary tokens cannot fit", e.Message);
        }

        private static int IndexOf(byte[] haystack, byte[] needle)
        {
            for (int i = 0; i + needle.Length <= haystack.Length; i++)
                if (haystack.AsSpan(i, needle.Length).SequenceEqual(needle))
                    return i;
            Assert.Fail("Pattern not found.");
            return -1;
        }
    }
}
