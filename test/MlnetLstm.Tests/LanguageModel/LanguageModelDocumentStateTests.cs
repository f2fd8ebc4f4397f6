using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Training and validation see documents as users score them: every document from the zero state. The training
    /// loop's per-document validation figure is what a PredictionEngine gives for each validation document on its own.
    /// </summary>
    [TestClass]
    public sealed class LanguageModelDocumentStateTests
    {
        /// <summary>
        /// Documents cut from one endless "abcdefg…": each continues the cycle where the previous one ended, so a model
        /// that carried its state across documents could predict a document's first letter; from the zero state it
        /// cannot (log₂ 7 bits), and everything after it is determined.
        /// </summary>
        private static string[] Documents(int count, int seed)
        {
            var random = new Random(seed);
            var documents = new List<string>();
            int phase = 0;
            for (int i = 0; i < count; i++)
            {
                int length = 8 + random.Next(13);
                documents.Add(string.Concat(Enumerable.Range(phase, length).Select(k => Period[k % Period.Length])));
                phase = (phase + length) % Period.Length;
            }
            return documents.ToArray();
        }

        [TestMethod]
        public void PerDocumentValidationIsWhatAPredictionEngineGivesForEachDocument()
        {
            var ml = new MLContext(seed: 1);
            var validation = Documents(60, seed: 2);
            var options = SmallOptions(epochs: 6);
            var tokenizer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, Documents(300, seed: 1)));
            options.ValidationData = tokenizer.Transform(TestData.Texts(ml, validation));
            var model = tokenizer.Append(ml.Transforms.Text.RecurrentLanguageModel(options).Fit(tokenizer.Transform(TestData.Texts(ml, Documents(300, seed: 1)))));
            var last = model.LastTransformer.TrainingHistory[^1];

            using var engine = ml.Model.CreatePredictionEngine<TextRow, LanguageModelOutput>(model);
            double logLikelihood = 0;
            long tokens = 0;
            foreach (var document in validation)
            {
                logLikelihood += engine.Predict(new TextRow { Text = document }).LogLikelihood;
                tokens += document.Length;
            }
            double engineBits = -logLikelihood / tokens / Math.Log(2);
            Console.WriteLine($"validation bits/token: per document {last.ValidationBitsPerToken:F4}, as one stream {last.ValidationStreamLoss / Math.Log(2):F4}; " +
                $"PredictionEngine, each document on its own: {engineBits:F4}");
            Assert.IsNotNull(last.ValidationStreamLoss, "a language model reports the stream figure too");
            Assert.IsLessThan(1.0, engineBits, "the model learned the cycle");
            Assert.IsLessThan(0.05, Math.Abs(last.ValidationBitsPerToken!.Value - engineBits), "per-document validation vs PredictionEngine, bits/token");
        }
    }
}
