using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>The sparse one-hot sequence transform: values, sparsity, fixed and variable length, annotations.</summary>
    [TestClass]
    public sealed class OneHotSequenceTests
    {
        // Fitted on "abcab": a and b twice, c once, so the vocabulary is <unk>, <eos>, a, b, c (V = 5) and the keys
        // are <unk> = 1, a = 3, b = 4, c = 5.
        private const int V = 5;
        private static readonly string[] Vocabulary = { "<unk>", "<eos>", "a", "b", "c" };

        private static ITransformer Fit(MLContext ml, int maximumLength = 0)
            => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Tokens", maximumLength))
                .Fit(TestData.Texts(ml, "abcab"));

        private static void AssertOneHot(VBuffer<float> row, int length, params int[] indices)
        {
            Assert.AreEqual(length, row.Length);
            Assert.IsFalse(row.IsDense, "A one-hot sequence must be stored sparse.");
            var items = row.Items().ToArray();
            Assert.AreSequenceEqual(indices, items.Select(i => i.Key).ToArray());
            Assert.IsTrue(items.All(i => i.Value == 1f), $"Non-zeros must be 1: {string.Join(", ", items.Select(i => i.Value))}");
            Assert.AreEqual(indices.Length, row.GetValues().Length);
        }

        [TestMethod]
        public void EachPositionHasOneNonZeroAtTimesVocabularyPlusKeyMinusOne()
        {
            var ml = new MLContext(seed: 1);
            var output = Fit(ml).Transform(TestData.Texts(ml, "cab", "xa", "bbbb"));
            var rows = TestData.Vectors<float>(output, "OneHot");
            Assert.HasCount(3, rows);
            // "cab": keys 5, 3, 4 → 0·5 + 4, 1·5 + 2, 2·5 + 3.
            AssertOneHot(rows[0], 3 * V, 4, 7, 13);
            // "xa": x is unseen (key 1) → 0·5 + 0, then 1·5 + 2.
            AssertOneHot(rows[1], 2 * V, 0, 7);
            AssertOneHot(rows[2], 4 * V, 3, 8, 13, 18);

            var type = (VectorDataViewType)output.Schema["OneHot"].Type;
            Assert.AreEqual(NumberDataViewType.Single, type.ItemType);
            Assert.AreEqual(0, type.Size, "Without maximumLength the output is variable-length.");
        }

        [TestMethod]
        public void EmptyTextGivesAnEmptyOneHotSequence()
        {
            var ml = new MLContext(seed: 1);
            var variable = TestData.Vectors<float>(Fit(ml).Transform(TestData.Texts(ml, "")), "OneHot").Single();
            Assert.AreEqual(0, variable.Length);

            var fixedRow = TestData.Vectors<float>(Fit(ml, maximumLength: 3).Transform(TestData.Texts(ml, "")), "OneHot").Single();
            Assert.AreEqual(3 * V, fixedRow.Length);
            Assert.AreEqual(0, fixedRow.GetValues().Length);
        }

        [TestMethod]
        public void FixedMaximumLengthGivesSizeLTimesVWithSlotNames()
        {
            var ml = new MLContext(seed: 1);
            const int L = 4;
            var output = Fit(ml, maximumLength: L).Transform(TestData.Texts(ml, "cab", "abca", "a"));
            var column = output.Schema["OneHot"];
            Assert.AreEqual(L * V, ((VectorDataViewType)column.Type).Size);

            var rows = TestData.Vectors<float>(output, "OneHot");
            AssertOneHot(rows[0], L * V, 4, 7, 13);
            AssertOneHot(rows[1], L * V, 2, 8, 14, 17);
            AssertOneHot(rows[2], L * V, 2);

            var slotNames = TestData.TextVectorAnnotation(column, "SlotNames");
            var expected = Enumerable.Range(0, L).SelectMany(t => Vocabulary.Select(token => $"{t}:{token}")).ToArray();
            Assert.AreSequenceEqual(expected, slotNames);
            Assert.AreEqual("0:<unk>", slotNames[0]);
            Assert.AreEqual("3:c", slotNames[L * V - 1]);
        }

        [TestMethod]
        public void RowLongerThanMaximumLengthThrowsAndIsNeverTruncated()
        {
            var ml = new MLContext(seed: 1);
            var model = Fit(ml, maximumLength: 3);
            using var engine = ml.Model.CreatePredictionEngine<ModelRunner.TextRow, ModelRunner.OneHotOutput>(model);
            AssertOneHot(engine.Predict(new ModelRunner.TextRow { Text = "abc" }).OneHot, 3 * V, 2, 8, 14);
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => engine.Predict(new ModelRunner.TextRow { Text = "abca" }));
            Assert.Contains("'Tokens'", e.Message);
            Assert.Contains("4 tokens", e.Message);
            Assert.Contains("maximumLength of 3", e.Message);
            Assert.Contains("Raise maximumLength", e.Message);

            // Through a cursor ML.NET may read rows on worker threads and wrap the exception in its own
            // InvalidOperationException; ours is then the inner one.
            var output = model.Transform(TestData.Texts(ml, "abc", "abca"));
            var cursorError = Assert.ThrowsExactly<InvalidOperationException>(() => TestData.Vectors<float>(output, "OneHot"));
            var ours = cursorError.Message.Contains("maximumLength") ? cursorError : cursorError.InnerException;
            Assert.IsNotNull(ours, cursorError.ToString());
            Assert.AreEqual(typeof(InvalidOperationException), ours.GetType());
            Assert.Contains("'Tokens'", ours.Message);
            Assert.Contains("maximumLength of 3", ours.Message);
        }

        [TestMethod]
        public void OutputCarriesTheTokenVocabulary()
        {
            var ml = new MLContext(seed: 1);
            foreach (int maximumLength in new[] { 0, 6 })
            {
                var column = Fit(ml, maximumLength).GetOutputSchema(TestData.Texts(ml, "a").Schema)["OneHot"];
                Assert.AreSequenceEqual(Vocabulary, TestData.TextVectorAnnotation(column, SequenceAnnotations.TokenVocabulary));
                Assert.AreEqual("", TestData.TextAnnotation(column, SequenceAnnotations.TokenSeparator));
                Assert.AreEqual(maximumLength > 0, column.Annotations.Schema.GetColumnOrNull("SlotNames") is not null);
            }

            var words = ml.Transforms.Text.TokenizeWithWordVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Tokens"))
                .Fit(TestData.Texts(ml, "to be or not to be"));
            var wordColumn = words.GetOutputSchema(TestData.Texts(ml, "a").Schema)["OneHot"];
            Assert.AreSequenceEqual(new[] { "<unk>", "<eos>", "be", "to", "not", "or" }, TestData.TextVectorAnnotation(wordColumn, SequenceAnnotations.TokenVocabulary));
            Assert.AreEqual(" ", TestData.TextAnnotation(wordColumn, SequenceAnnotations.TokenSeparator));
        }

        private sealed class WordsRow
        {
            [VectorType]
            public string[] Words { get; set; } = Array.Empty<string>();
        }

        [TestMethod]
        public void WorksOnMapValueToKeyOutputAndLeavesMissingKeysAllZero()
        {
            var ml = new MLContext(seed: 1);
            var training = ml.Data.LoadFromEnumerable(new[] { new WordsRow { Words = new[] { "x", "y", "z" } } });
            var model = ml.Transforms.Conversion.MapValueToKey("Keys", "Words")
                .Append(ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Keys"))
                .Fit(training);
            var output = model.Transform(ml.Data.LoadFromEnumerable(new[] { new WordsRow { Words = new[] { "z", "new", "x" } } }));
            // MapValueToKey numbers values in order of appearance: x = 1, y = 2, z = 3; "new" is missing (key 0).
            Assert.AreSequenceEqual(new uint[] { 3, 0, 1 }, TestData.Keys(output, "Keys").Single());
            var row = TestData.Vectors<float>(output, "OneHot").Single();
            AssertOneHot(row, 3 * 3, 2, 6);
            Assert.AreSequenceEqual(new[] { "x", "y", "z" }, TestData.TextVectorAnnotation(output.Schema["OneHot"], SequenceAnnotations.TokenVocabulary));
        }
    }
}
