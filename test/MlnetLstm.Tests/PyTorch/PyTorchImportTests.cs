using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.PyTorchTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Models trained by PyTorch itself (d2l's RNNModel, test/Fixtures/PyTorch from build/make-pytorch-fixture.sh)
    /// imported with ml.Model.ImportPyTorchLanguageModel score what PyTorch scored, within 1e-5 per token, from the
    /// .pth and from the .safetensors; and the imported model is an ordinary one: it saves, loads and scores the same.
    /// </summary>
    [TestClass]
    public sealed class PyTorchImportTests
    {
        private const double Tolerance = 1e-5;

        public TestContext TestContext { get; set; } = null!;

        [TestMethod]
        [DataRow(Lstm, ".pth")]
        [DataRow(Lstm, ".safetensors")]
        [DataRow(Gru, ".pth")]
        public void ImportedModelScoresWhatPyTorchScored(string model, string extension)
        {
            var ml = new MLContext(seed: 1);
            var pipeline = ml.Model.ImportPyTorchLanguageModel(Options(model, File(model + extension)));
            double worstToken = 0, worstTotal = 0;
            foreach (var (text, ids, expected, expectedTotal) in Expected(model))
            {
                var (perToken, total) = Score(ml, pipeline, text, ids);
                Assert.AreEqual(expected.Length, perToken.Length, text);
                for (int i = 0; i < expected.Length; i++)
                    worstToken = Math.Max(worstToken, Math.Abs(perToken[i] - expected[i]));
                worstTotal = Math.Max(worstTotal, Math.Abs(total - expectedTotal));
            }
            TestContext.WriteLine($"{model}{extension}: max |Δ| against PyTorch {worstToken:G3} per token, {worstTotal:G3} on a text's log-likelihood");
            Assert.IsTrue(worstToken <= Tolerance, $"per-token log-probabilities differ from PyTorch's by up to {worstToken}");
            Assert.IsTrue(worstTotal <= 10 * Tolerance, $"log-likelihoods differ from PyTorch's by up to {worstTotal}");
        }

        [TestMethod]
        public void PthAndSafetensorsGiveTheSameWeights()
        {
            var ml = new MLContext(seed: 1);
            var fromPth = ml.Model.ImportPyTorchLanguageModel(Options(Lstm, File(Lstm + ".pth")));
            var fromSafetensors = ml.Model.ImportPyTorchLanguageModel(Options(Lstm, File(Lstm + ".safetensors")));
            AssertIdentical(Weights(fromPth), Weights(fromSafetensors));
        }

        [TestMethod]
        public void ImportedModelIsAnOrdinaryModelThatSavesLoadsAndScoresTheSame()
        {
            var ml = new MLContext(seed: 1);
            var pipeline = ml.Model.ImportPyTorchLanguageModel(Options(Lstm));
            var model = pipeline.LastTransformer;
            Assert.AreEqual(0, model.TrainingHistory.Count, "an imported model has no training history");
            Assert.AreEqual(4 * 64 * (56 + 64 + 2) + 56 * 65, model.ParameterCount);
            CollectionAssert.AreEqual(Tokens(Lstm), model.Vocabulary.ToArray());

            string path = Path.Combine(Path.GetTempPath(), $"pytorch-import-{Guid.NewGuid():N}.zip");
            try
            {
                ml.Model.Save(pipeline, TextSchema(ml), path);
                var loaded = new MLContext(seed: 2).Model.Load(path, out _);
                var before = ml.Model.CreatePredictionEngine<TextRow, GeneratedAndNextTokenScores>(pipeline).Predict(new TextRow { Text = "Call me " });
                var after = new MLContext().Model.CreatePredictionEngine<TextRow, GeneratedAndNextTokenScores>(loaded).Predict(new TextRow { Text = "Call me " });
                Assert.AreEqual(before.LogLikelihood, after.LogLikelihood);
                Assert.AreEqual(before.Generated, after.Generated);
                CollectionAssert.AreEqual(before.NextTokenProbabilities, after.NextTokenProbabilities);
                Assert.IsFalse(string.IsNullOrEmpty(before.Generated), "the imported model generates");
                AssertIdentical(Weights(pipeline), Weights(loaded));
            }
            finally
            {
                System.IO.File.Delete(path);
            }
        }

        [TestMethod]
        public void TokenizerFittedOnTheTrainingTextGivesTheSameModelAsTheTokenList()
        {
            var ml = new MLContext(seed: 1);
            var tokenizer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, TrainingParagraphs()));
            CollectionAssert.AreEqual(Tokens(Lstm), tokenizer.Vocabulary.Tokens.ToArray(), "the fixture script orders the vocabulary as TokenizeWithCharacterVocabulary does");
            var options = Options(Lstm);
            options.Vocabulary = null;
            options.Tokenizer = tokenizer;
            var withTokenizer = ml.Model.ImportPyTorchLanguageModel(options);
            Assert.AreSame(tokenizer, withTokenizer.First());
            var (text, ids, _, expectedTotal) = Expected(Lstm)[1];
            Assert.AreEqual(expectedTotal, Score(ml, withTokenizer, text, ids).LogLikelihood, 10 * Tolerance);
        }

        [TestMethod]
        public void OtherParameterNamesMapThroughNamesAndKeyMap()
        {
            // The fixture's tensors under the names of a model with self.lstm and self.fc.
            var entries = SafetensorsFile.Read(File(Lstm + ".safetensors"))
                .Select(e => e with { Key = e.Key.Replace("rnn.", "lstm.", StringComparison.Ordinal).Replace("linear.", "fc.", StringComparison.Ordinal) })
                .Reverse() // and in another order: keys are matched by name
                .ToList();
            string path = Path.Combine(Path.GetTempPath(), $"pytorch-renamed-{Guid.NewGuid():N}.safetensors");
            try
            {
                SafetensorsFile.Write(path, entries);
                var options = Options(Lstm, path);
                options.Names = new PyTorchParameterNames
                {
                    RecurrentModule = "lstm",
                    KeyMap = new Dictionary<string, string> { ["linear.weight"] = "fc.weight", ["linear.bias"] = "fc.bias" },
                };
                var ml = new MLContext(seed: 1);
                var pipeline = ml.Model.ImportPyTorchLanguageModel(options);
                var (text, ids, _, expectedTotal) = Expected(Lstm)[0];
                Assert.AreEqual(expectedTotal, Score(ml, pipeline, text, ids).LogLikelihood, 10 * Tolerance);

                options.Names = new PyTorchParameterNames { RecurrentModule = "lstm", Head = "fc" };
                Assert.AreEqual(expectedTotal, Score(ml, ml.Model.ImportPyTorchLanguageModel(options), text, ids).LogLikelihood, 10 * Tolerance);

                options.Names = new PyTorchParameterNames { KeyMap = new Dictionary<string, string> { ["head.weight"] = "fc.weight" } };
                var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Model.ImportPyTorchLanguageModel(options));
                StringAssert.Contains(e.Message, "KeyMap renames 'head.weight', which is not a key of this network; its keys are rnn.weight_ih_l0");
            }
            finally
            {
                System.IO.File.Delete(path);
            }
        }

        [TestMethod]
        public void OptionsThatDescribeNoModelAreRejectedNamingTheOption()
        {
            var ml = new MLContext(seed: 1);
            var options = Options(Lstm);
            options.HiddenSize = 0;
            Assert.AreEqual("HiddenSize", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Model.ImportPyTorchLanguageModel(options)).ParamName);
            options = Options(Lstm);
            options.Tokenizer = new MLContext().Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, "abc"));
            Assert.AreEqual("Vocabulary", Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Model.ImportPyTorchLanguageModel(options)).ParamName);
            options = Options(Lstm);
            options.EndOfTextToken = "<bos>";
            StringAssert.Contains(Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Model.ImportPyTorchLanguageModel(options)).Message, "EndOfTextToken '<bos>' is not in the vocabulary");
            options = Options(Lstm);
            options.WeightsPath = "/nonexistent/model.pth";
            StringAssert.Contains(Assert.ThrowsExactly<FileNotFoundException>(() => ml.Model.ImportPyTorchLanguageModel(options)).Message, "Option WeightsPath names '/nonexistent/model.pth'");
        }
    }
}
