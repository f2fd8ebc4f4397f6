using System;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>Bad arguments to <see cref="ScoringEnginePool{TInput, TOutput}"/> fail at once, with typed exceptions.</summary>
    [TestClass]
    public sealed class ScoringEnginePoolTests
    {
        private sealed class WrongOutput
        {
            public VBuffer<float> Missing { get; set; }
        }

        private static (MLContext Ml, ITransformer Model) Tokenizer()
        {
            var ml = new MLContext(seed: 1);
            return (ml, ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, "hello")));
        }

        [TestMethod]
        public void NullContextOrModelIsRejected()
        {
            var (ml, model) = Tokenizer();
            Assert.AreEqual("ml", Assert.ThrowsExactly<ArgumentNullException>(() => new ScoringEnginePool<TextRow, TokenOutput>(null!, model)).ParamName);
            Assert.AreEqual("model", Assert.ThrowsExactly<ArgumentNullException>(() => new ScoringEnginePool<TextRow, TokenOutput>(ml, null!)).ParamName);
        }

        [TestMethod]
        [DataRow(0)]
        [DataRow(-3)]
        public void MaximumRetainedBelowOneIsRejected(int maximumRetained)
        {
            var (ml, model) = Tokenizer();
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ScoringEnginePool<TextRow, TokenOutput>(ml, model, maximumRetained));
            Assert.AreEqual("maximumRetained", e.ParamName);
            Assert.AreEqual(maximumRetained, e.ActualValue);
            Assert.Contains("must be at least 1", e.Message);
        }

        [TestMethod]
        public void OutputClassThatDoesNotFitTheModelFailsAtConstructionNotAtTheFirstRequest()
        {
            var (ml, model) = Tokenizer();
            // The pool creates its first engine in the constructor, so the check of the output class runs there; a property
            // that is not an output column is an error, not a value that silently stays at its default.
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ScoringEnginePool<TextRow, WrongOutput>(ml, model));
            Assert.Contains("Missing", e.Message);

            // ML.NET's own default, on request: the property stays at its default value.
            using var lenient = new ScoringEnginePool<TextRow, WrongOutput>(ml, model, ignoreMissingColumns: true);
            Assert.AreEqual(0, lenient.Predict(new TextRow { Text = "hello" }).Missing.Length);
        }

        [TestMethod]
        public void PredictAfterDisposeThrowsObjectDisposedException()
        {
            var (ml, model) = Tokenizer();
            var pool = new ScoringEnginePool<TextRow, TokenOutput>(ml, model);
            Assert.AreEqual(5, pool.Predict(new TextRow { Text = "hello" }).Tokens.Length);
            pool.Dispose();
            Assert.ThrowsExactly<ObjectDisposedException>(() => pool.Predict(new TextRow { Text = "hello" }));
        }
    }
}
