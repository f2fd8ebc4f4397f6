using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>Vocabulary learning, encoding, decoding and the key-typed output column of the vocabulary tokenizer.</summary>
    [TestClass]
    public sealed class VocabularyTokenizerTests
    {
        private static readonly string[] DefaultReserved = { "<unk>", "<eos>" };

        private static VocabularyTokenizingTransformer FitCharacters(MLContext ml, params string[] texts)
            => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, texts));

        /// <summary>The vocabulary the tests expect: reserved tokens, then tokens by count (descending), ties by ordinal order.</summary>
        private static string[] ExpectedVocabulary(IEnumerable<string> tokens, int minimumCount = 1, int maximumSize = int.MaxValue, string[]? reserved = null)
        {
            reserved ??= DefaultReserved;
            return reserved.Concat(tokens
                    .GroupBy(t => t, StringComparer.Ordinal)
                    .Where(g => g.Count() >= minimumCount)
                    .OrderByDescending(g => g.Count())
                    .ThenBy(g => g.Key, StringComparer.Ordinal)
                    .Select(g => g.Key)
                    .Take(maximumSize - reserved.Length))
                .ToArray();
        }

        [TestMethod]
        public void VocabularyIsOrderedByCountThenOrdinalAfterReservedTokens()
        {
            var ml = new MLContext(seed: 1);
            string[] texts = { "the quick brown fox", "jumps over the lazy dog", "THE END 😀😀 𠀀 ÿé" };
            var transformer = FitCharacters(ml, texts);

            var expected = ExpectedVocabulary(texts.SelectMany(TestData.CodePoints));
            // Spot checks that the expectation itself is what it should be: reserved first, then ' ' (the most frequent).
            Assert.AreEqual("<unk>", expected[0]);
            Assert.AreEqual("<eos>", expected[1]);
            Assert.AreEqual(" ", expected[2]);
            Assert.AreSequenceEqual(expected, transformer.Vocabulary.Tokens.ToArray());
            Assert.AreEqual(0, transformer.Vocabulary.UnknownId);
            Assert.AreEqual("<unk>", transformer.Vocabulary.UnknownToken);
        }

        [TestMethod]
        public void TiesAreBrokenByOrdinalOrderNotByCultureOrFirstOccurrence()
        {
            var ml = new MLContext(seed: 1);
            // Each character occurs twice. Ordinal order: 'B' (0x42) < 'a' (0x61) < 'b' < 'é' (0xE9) < '😀' (0xD83D...),
            // unlike culture-aware order (a, b, B, é) or first occurrence (😀, é, b, a, B).
            var transformer = FitCharacters(ml, "😀ébaB", "Bab😀é");
            Assert.AreSequenceEqual(new[] { "<unk>", "<eos>", "B", "a", "b", "é", "😀" }, transformer.Vocabulary.Tokens.ToArray());
        }

        [TestMethod]
        public void CustomReservedTokensComeFirstInTheirOrderAndUnknownTokenIsTheNamedOne()
        {
            var ml = new MLContext(seed: 1);
            var options = new VocabularyTokenizingEstimator.Options
            {
                OutputColumnName = "Tokens",
                InputColumnName = "Text",
                ReservedTokens = new[] { "<pad>", "<unk>", "<eos>", "<bos>" },
                UnknownToken = "<unk>",
            };
            var transformer = ml.Transforms.Text.TokenizeWithVocabulary(options).Fit(TestData.Texts(ml, "abba"));
            Assert.AreSequenceEqual(new[] { "<pad>", "<unk>", "<eos>", "<bos>", "a", "b" }, transformer.Vocabulary.Tokens.ToArray());
            Assert.AreEqual(1, transformer.Vocabulary.UnknownId);
            // 'z' was never seen: it maps to <unk>, id 1, key 2.
            var keys = TestData.Keys(transformer.Transform(TestData.Texts(ml, "zab")));
            Assert.AreSequenceEqual(new uint[] { 2, 5, 6 }, keys.Single());
        }

        /// <summary>Text never maps to a reserved id: a typed "&lt;eos&gt;" must not insert a document break.</summary>
        [TestMethod]
        public void TextEqualToAReservedTokenMapsToTheUnknownToken()
        {
            var ml = new MLContext(seed: 1);
            var words = ml.Transforms.Text.TokenizeWithWordVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, "the whale <eos> the sea"));
            Assert.AreSequenceEqual(new[] { "<unk>", "<eos>", "the", "sea", "whale" }, words.Vocabulary.Tokens.ToArray());
            Assert.AreEqual(2, words.Vocabulary.ReservedCount);
            Assert.AreSequenceEqual(new uint[] { 3, 1, 1, 5 }, TestData.Keys(words.Transform(TestData.Texts(ml, "the <eos> <unk> whale"))).Single());

            // A one-character reserved token in a character vocabulary, and after a save and a load.
            var options = new VocabularyTokenizingEstimator.Options { OutputColumnName = "Tokens", InputColumnName = "Text", ReservedTokens = new[] { "<unk>", "§" } };
            var characters = ml.Transforms.Text.TokenizeWithVocabulary(options).Fit(TestData.Texts(ml, "ab§"));
            string zip = System.IO.Path.Combine(TestData.TempDirectory("reserved"), "tokenizer.zip");
            ml.Model.Save(characters, TestData.Texts(ml, "a").Schema, zip);
            var loaded = ml.Model.Load(zip, out _);
            Assert.AreSequenceEqual(new uint[] { 3, 1, 4 }, TestData.Keys(loaded.Transform(TestData.Texts(ml, "a§b"))).Single());
        }

        [TestMethod]
        public void MinimumCountLeavesOutRareTokens()
        {
            var ml = new MLContext(seed: 1);
            var transformer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text", minimumCount: 3)
                .Fit(TestData.Texts(ml, "aaab", "bbcc", "d"));
            // a: 3, b: 3, c: 2, d: 1.
            Assert.AreSequenceEqual(new[] { "<unk>", "<eos>", "a", "b" }, transformer.Vocabulary.Tokens.ToArray());
            var keys = TestData.Keys(transformer.Transform(TestData.Texts(ml, "abcd")));
            Assert.AreSequenceEqual(new uint[] { 3, 4, 1, 1 }, keys.Single());
        }

        [TestMethod]
        public void MaximumVocabularySizeCountsReservedTokensAndKeepsTheMostFrequent()
        {
            var ml = new MLContext(seed: 1);
            string text = "eeeeedddddcccbbbbaaaf";
            var transformer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text", maximumVocabularySize: 5)
                .Fit(TestData.Texts(ml, text));
            var expected = ExpectedVocabulary(TestData.CodePoints(text), maximumSize: 5);
            Assert.HasCount(5, expected);
            Assert.AreSequenceEqual(new[] { "<unk>", "<eos>", "d", "e", "b" }, expected); // d and e tie at 5: 'd' first.
            Assert.AreSequenceEqual(expected, transformer.Vocabulary.Tokens.ToArray());

            // The smallest allowed size: the reserved tokens and one more.
            var smallest = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text", maximumVocabularySize: 3).Fit(TestData.Texts(ml, text));
            Assert.AreSequenceEqual(new[] { "<unk>", "<eos>", "d" }, smallest.Vocabulary.Tokens.ToArray());
        }

        [TestMethod]
        public void FittingIsDeterministicAndIndependentOfRowOrder()
        {
            string[] rows = { "zebra crossing", "apple pie", "😀 and 𠀀", "Zebra", "pie pie pie" };
            var first = FitCharacters(new MLContext(seed: 1), rows).Vocabulary.Tokens.ToArray();
            var again = FitCharacters(new MLContext(seed: 2), rows).Vocabulary.Tokens.ToArray();
            var reversed = FitCharacters(new MLContext(seed: 1), rows.Reverse().ToArray()).Vocabulary.Tokens.ToArray();
            var shuffled = FitCharacters(new MLContext(seed: 1), rows[3], rows[0], rows[4], rows[2], rows[1]).Vocabulary.Tokens.ToArray();
            Assert.AreSequenceEqual(first, again);
            Assert.AreSequenceEqual(first, reversed);
            Assert.AreSequenceEqual(first, shuffled);

            var words = new MLContext(seed: 1).Transforms.Text.TokenizeWithWordVocabulary("Tokens", "Text");
            var wordsForward = words.Fit(TestData.Texts(new MLContext(seed: 1), rows)).Vocabulary.Tokens.ToArray();
            var wordsReversed = words.Fit(TestData.Texts(new MLContext(seed: 1), rows.Reverse())).Vocabulary.Tokens.ToArray();
            Assert.AreSequenceEqual(wordsForward, wordsReversed);
        }

        [TestMethod]
        public void AstralCharactersAreOneTokenEach()
        {
            var ml = new MLContext(seed: 1);
            const string emoji = "\U0001F600"; // 😀, two UTF-16 code units.
            const string rareCjk = "\U00020000"; // 𠀀, CJK Extension B.
            Assert.AreEqual(2, emoji.Length);
            Assert.AreEqual(2, rareCjk.Length);
            var transformer = FitCharacters(ml, "a" + emoji + emoji + rareCjk);
            Assert.AreSequenceEqual(new[] { "<unk>", "<eos>", emoji, "a", rareCjk }, transformer.Vocabulary.Tokens.ToArray());
            Assert.IsFalse(transformer.Vocabulary.Tokens.Any(t => t.Length == 1 && char.IsSurrogate(t[0])), "A surrogate half became a token.");

            var keys = TestData.Keys(transformer.Transform(TestData.Texts(ml, rareCjk + "a" + emoji)));
            Assert.AreSequenceEqual(new uint[] { 5, 4, 3 }, keys.Single());
        }

        [TestMethod]
        public void CaseFoldingLowerCasesBeforeCountingAndLookup()
        {
            var ml = new MLContext(seed: 1);
            const string deseretCapital = "\U00010400"; // 𐐀 DESERET CAPITAL LETTER LONG I, outside the BMP.
            const string deseretSmall = "\U00010428"; // 𐐨, its lower case.
            var transformer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text", caseFolding: true)
                .Fit(TestData.Texts(ml, "AaAb", "ÉÉé" + deseretCapital));
            // a: 3, é: 3, b: 1, 𐐨: 1.
            Assert.AreSequenceEqual(new[] { "<unk>", "<eos>", "a", "é", "b", deseretSmall }, transformer.Vocabulary.Tokens.ToArray());
            Assert.IsTrue(transformer.Vocabulary.CaseFolding);

            var keys = TestData.Keys(transformer.Transform(TestData.Texts(ml, "BAÉ" + deseretCapital, "baé" + deseretSmall)));
            Assert.AreSequenceEqual(new uint[] { 5, 3, 4, 6 }, keys[0]);
            Assert.AreSequenceEqual(keys[0], keys[1]);

            var cased = FitCharacters(ml, "AaAb");
            Assert.AreSequenceEqual(new[] { "<unk>", "<eos>", "A", "a", "b" }, cased.Vocabulary.Tokens.ToArray());
        }

        [TestMethod]
        public void WordModeSplitsOnWhiteSpaceAndDecodesWithOneSpace()
        {
            var ml = new MLContext(seed: 1);
            string[] texts = { "the cat  sat\ton the\nmat", "  the dog\u00A0sat  ", "😀 cat" };
            var transformer = ml.Transforms.Text.TokenizeWithWordVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, texts));

            // U+00A0 (no-break space) is white space for char.IsWhiteSpace.
            var words = texts.SelectMany(t => t.Split(new[] { ' ', '\t', '\n', '\u00A0' }, StringSplitOptions.RemoveEmptyEntries)).ToList();
            Assert.HasCount(11, words);
            Assert.AreSequenceEqual(ExpectedVocabulary(words), transformer.Vocabulary.Tokens.ToArray());
            Assert.AreEqual(" ", transformer.Vocabulary.Separator);

            var keys = TestData.Keys(transformer.Transform(TestData.Texts(ml, "the   cat\tsat", "a dog")));
            var tokens = transformer.Vocabulary.Tokens;
            Assert.AreSequenceEqual(new[] { "the", "cat", "sat" }, keys[0].Select(k => tokens[(int)k - 1]).ToArray());
            Assert.AreEqual("the cat sat", transformer.Vocabulary.DecodeKeys(keys[0]));
            Assert.AreEqual("<unk> dog", transformer.Vocabulary.DecodeKeys(keys[1]));
            Assert.AreEqual("<unk> dog", transformer.Vocabulary.Decode(transformer.Vocabulary.Encode("a dog")));
        }

        [TestMethod]
        public void UnseenCharactersMapToUnknownAndAreCountedNeverDropped()
        {
            var ml = new MLContext(seed: 1);
            var transformer = FitCharacters(ml, "abcabc");
            Assert.AreSequenceEqual(new[] { "<unk>", "<eos>", "a", "b", "c" }, transformer.Vocabulary.Tokens.ToArray());
            var keys = TestData.Keys(transformer.Transform(TestData.Texts(ml, "axbyc", "😀", "abc")));
            Assert.AreSequenceEqual(new uint[] { 3, 1, 4, 1, 5 }, keys[0]);
            Assert.AreSequenceEqual(new uint[] { 1 }, keys[1]); // One astral character, one unknown token.
            Assert.AreSequenceEqual(new uint[] { 3, 4, 5 }, keys[2]);

            var ids = transformer.Vocabulary.Encode("x😀a", out int unknown);
            Assert.AreSequenceEqual(new[] { 0, 0, 2 }, ids);
            Assert.AreEqual(2, unknown);
        }

        [TestMethod]
        [DataRow("hello world")]
        [DataRow("")]
        [DataRow("😀𠀀 mixed é 😀")]
        [DataRow("<unk><eos>")]
        public void DecodeOfEncodeIsTheTextForInVocabularyText(string text)
        {
            var ml = new MLContext(seed: 1);
            var transformer = FitCharacters(ml, "hello world", "😀𠀀 mixed é", "<unk><eos>");
            var vocabulary = transformer.Vocabulary;
            var ids = vocabulary.Encode(text, out int unknown);
            Assert.AreEqual(0, unknown);
            Assert.HasCount(TestData.CodePoints(text).Count, ids);
            Assert.AreEqual(text, vocabulary.Decode(ids));

            var keys = TestData.Keys(transformer.Transform(TestData.Texts(ml, text))).Single();
            Assert.AreSequenceEqual(ids.Select(id => (uint)id + 1).ToArray(), keys);
            Assert.AreEqual(text, vocabulary.DecodeKeys(keys));
        }

        [TestMethod]
        public void ColumnHoldsKeysWithTheVocabularyAsKeyValues()
        {
            var ml = new MLContext(seed: 1);
            string[] texts = { "banana", "bandana 😀" };
            var transformer = FitCharacters(ml, texts);
            var output = transformer.Transform(TestData.Texts(ml, "nab😀"));
            var column = output.Schema["Tokens"];

            var expected = ExpectedVocabulary(texts.SelectMany(TestData.CodePoints));
            var type = (VectorDataViewType)column.Type;
            Assert.AreEqual(0, type.Size, "The token column is variable-length.");
            Assert.AreEqual((ulong)expected.Length, ((KeyDataViewType)type.ItemType).Count);
            Assert.IsTrue(column.HasKeyValues());
            VBuffer<ReadOnlyMemory<char>> keyValues = default;
            column.GetKeyValues(ref keyValues);
            Assert.AreSequenceEqual(expected, keyValues.DenseValues().Select(v => v.ToString()).ToArray());
            Assert.AreEqual("", TestData.TextAnnotation(column, SequenceAnnotations.TokenSeparator));
            Assert.AreEqual("<unk>", TestData.TextAnnotation(column, SequenceAnnotations.UnknownToken));

            // Key = index in the key values + 1.
            var keys = TestData.Keys(output).Single();
            Assert.AreSequenceEqual(new[] { "n", "a", "b", "😀" }, keys.Select(k => expected[(int)k - 1]).ToArray());
        }

        [TestMethod]
        public void MapKeyToValueMapsKeysBackToTokenText()
        {
            var ml = new MLContext(seed: 1);
            var pipeline = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Conversion.MapKeyToValue("Decoded", "Tokens"));
            var model = pipeline.Fit(TestData.Texts(ml, "héllo 😀 𠀀"));
            var output = model.Transform(TestData.Texts(ml, "𠀀 olé?"));
            var decoded = TestData.Vectors<ReadOnlyMemory<char>>(output, "Decoded").Single().DenseValues().Select(v => v.ToString()).ToArray();
            Assert.AreSequenceEqual(new[] { "𠀀", " ", "o", "l", "é", "<unk>" }, decoded);
        }

        [TestMethod]
        public void LoneSurrogateReadsAsReplacementCharacter()
        {
            var ml = new MLContext(seed: 1);
            var transformer = FitCharacters(ml, "a\uD800b", "c\uDC00");
            CollectionAssert.Contains(transformer.Vocabulary.Tokens.ToArray(), "\uFFFD");
            Assert.IsFalse(transformer.Vocabulary.Tokens.Any(t => t.Any(char.IsSurrogate)), "A lone surrogate became (part of) a token.");
            var ids = transformer.Vocabulary.Encode("a\uD800b", out int unknown);
            Assert.HasCount(3, ids);
            Assert.AreEqual(0, unknown);
            Assert.AreEqual("a\uFFFDb", transformer.Vocabulary.Decode(ids));
            // An unpaired high surrogate followed by a valid pair: the pair stays one character.
            Assert.AreEqual("\uFFFDa", transformer.Vocabulary.Decode(transformer.Vocabulary.Encode("\uDBFFa")));
        }

        [TestMethod]
        [DataRow(false)]
        [DataRow(true)]
        public void LoneSurrogateInAWordReadsAsReplacementCharacter(bool caseFolding)
        {
            var ml = new MLContext(seed: 1);
            var transformer = ml.Transforms.Text.TokenizeWithWordVocabulary("Tokens", "Text", caseFolding: caseFolding)
                .Fit(TestData.Texts(ml, "a\uD800b c"));
            Assert.AreSequenceEqual(new[] { "<unk>", "<eos>", "a\uFFFDb", "c" }, transformer.Vocabulary.Tokens.ToArray());
            var ids = transformer.Vocabulary.Encode("c a\uD800b", out int unknown);
            Assert.AreEqual(0, unknown);
            Assert.AreEqual("c a\uFFFDb", transformer.Vocabulary.Decode(ids));
        }

        [TestMethod]
        public void EmptyTextGivesAnEmptyVector()
        {
            var ml = new MLContext(seed: 1);
            var transformer = FitCharacters(ml, "abc", "");
            var rows = TestData.Vectors<uint>(transformer.Transform(TestData.Texts(ml, "", "a", "")), "Tokens");
            Assert.HasCount(3, rows);
            Assert.AreEqual(0, rows[0].Length);
            Assert.AreEqual(1, rows[1].Length);
            Assert.AreEqual(0, rows[2].Length);
            Assert.IsEmpty(transformer.Vocabulary.Encode(""));

            var words = new MLContext(seed: 1).Transforms.Text.TokenizeWithWordVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, "a b"));
            Assert.AreEqual(0, TestData.Vectors<uint>(words.Transform(TestData.Texts(ml, "  \t ")), "Tokens").Single().Length);
        }
    }
}
