using System;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.PyTorchTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// ml.Model.ExportToPyTorch writes weights under the names of d2l's RNNModel (rnn.*, linear.*), in the order and shapes PyTorch's own
    /// state_dict() has, and import(export(model)) gives the very same weights (bit for bit) and scores. That PyTorch
    /// loads the export (torch.load(weights_only=True), load_state_dict) and scores it as the original is checked by
    /// build/make-pytorch-fixture.sh with real PyTorch, on what <see cref="ExportOfTheImportedFixture"/> writes.
    /// </summary>
    [TestClass]
    public sealed class PyTorchExportTests
    {
        private string _directory = "";

        [TestInitialize]
        public void CreateDirectory() => _directory = Directory.CreateTempSubdirectory("pytorch-export-").FullName;

        [TestCleanup]
        public void DeleteDirectory() => Directory.Delete(_directory, recursive: true);

        private static JsonElement ReadJson(string path) => JsonDocument.Parse(System.IO.File.ReadAllText(path)).RootElement;

        private static string[] Strings(JsonElement array) => array.EnumerateArray().Select(e => e.GetString()!).ToArray();

        /// <summary>Imports the fixture, exports it (into $MLNETLSTM_PYTORCH_EXPORT_DIR when set, for build/make-pytorch-fixture.sh), and imports the export again.</summary>
        [TestMethod]
        [DataRow(Lstm)]
        [DataRow(Gru)]
        public void ExportOfTheImportedFixture(string model)
        {
            string directory = Environment.GetEnvironmentVariable("MLNETLSTM_PYTORCH_EXPORT_DIR") is { Length: > 0 } target ? target : _directory;
            var ml = new MLContext(seed: 1);
            var imported = ml.Model.ImportPyTorchLanguageModel(Options(model));
            string path = Path.Combine(directory, model);
            var written = ml.Model.ExportToPyTorch(imported, path);
            CollectionAssert.AreEqual(new[] { path + ".safetensors", path + ".pth", path + ".json" }, written.ToArray());

            // The keys and shapes PyTorch's state_dict() gave (the fixture script wrote them from it), in its order.
            var pytorchKeys = Manifest(model).GetProperty("keys").EnumerateObject().Select(p => $"{p.Name} [{string.Join(", ", p.Value.EnumerateArray().Select(d => d.GetInt64()))}]").ToArray();
            var manifest = ReadJson(path + ".json");
            CollectionAssert.AreEqual(pytorchKeys, manifest.GetProperty("keys").EnumerateObject().Select(p => $"{p.Name} [{string.Join(", ", p.Value.EnumerateArray().Select(d => d.GetInt64()))}]").ToArray());
            CollectionAssert.AreEqual(Tokens(model), Strings(manifest.GetProperty("vocabulary").GetProperty("tokens")));
            Assert.AreEqual("<eos>", manifest.GetProperty("vocabulary").GetProperty("end_of_text").GetString());
            Assert.AreEqual(Manifest(model).GetProperty("cell").GetString(), manifest.GetProperty("cell").GetString());

            foreach (var extension in new[] { ".pth", ".safetensors" })
                AssertIdentical(Weights(imported), Weights(ml.Model.ImportPyTorchLanguageModel(Options(model, path + extension))));
        }

        [TestMethod]
        public void ExportedPthIsATorchSaveArchiveOfWholeTensors()
        {
            var ml = new MLContext(seed: 1);
            string path = Path.Combine(_directory, "lstm");
            ml.Model.ExportToPyTorch(ml.Model.ImportPyTorchLanguageModel(Options(Lstm)), path, new PyTorchExportOptions { WriteSafetensors = false });
            Assert.IsFalse(System.IO.File.Exists(path + ".safetensors"));
            using var zip = ZipFile.OpenRead(path + ".pth");
            var pickle = zip.Entries.Single(e => e.Name == "data.pkl");
            using var stream = pickle.Open();
            using var bytes = new MemoryStream();
            stream.CopyTo(bytes);
            var tensors = PickleScanner.ScanStateDict(bytes.ToArray(), path);
            CollectionAssert.AreEqual(Manifest(Lstm).GetProperty("keys").EnumerateObject().Select(p => p.Name).ToArray(), tensors.Select(t => t.Key).ToArray());
            Assert.IsTrue(tensors.All(t => t.StorageType == "FloatStorage" && t.IsWholeContiguousStorage));
            Assert.IsNotNull(zip.GetEntry(pickle.FullName[..^"data.pkl".Length] + "version"), "torch.load reads the version record");
        }

        [TestMethod]
        public void LanguageModelTrainedHereSurvivesExportAndImportBitForBit()
        {
            var ml = new MLContext(seed: 1);
            var options = LanguageModelTestKit.SmallOptions();
            options.Layers = 2;
            options.Cell = RecurrentCell.RnnRelu;
            var trained = LanguageModelTestKit.Fit(ml, options, LanguageModelTestKit.PeriodicText(30));
            string path = Path.Combine(_directory, "periodic");
            ml.Model.ExportToPyTorch(trained, path, new PyTorchExportOptions { Names = new PyTorchParameterNames { RecurrentModule = "lstm", Head = "fc" } });
            var manifest = ReadJson(path + ".json");
            Assert.AreEqual("RNN_RELU", manifest.GetProperty("cell").GetString());
            CollectionAssert.AreEqual(new[] { "lstm.weight_ih_l0", "lstm.weight_hh_l0", "lstm.bias_ih_l0", "lstm.bias_hh_l0", "lstm.weight_ih_l1", "lstm.weight_hh_l1",
                "lstm.bias_ih_l1", "lstm.bias_hh_l1", "fc.weight", "fc.bias" }, manifest.GetProperty("keys").EnumerateObject().Select(p => p.Name).ToArray());
            foreach (var extension in new[] { ".pth", ".safetensors" })
            {
                var imported = ml.Model.ImportPyTorchLanguageModel(new PyTorchLanguageModelImportOptions
                {
                    WeightsPath = path + extension,
                    Vocabulary = Strings(manifest.GetProperty("vocabulary").GetProperty("tokens")),
                    Cell = RecurrentCell.RnnRelu,
                    HiddenSize = manifest.GetProperty("hidden_size").GetInt32(),
                    Layers = 2,
                    Names = new PyTorchParameterNames { RecurrentModule = "lstm", Head = "fc" },
                    Generation = new GenerationOptions { MaximumNewTokens = 20 },
                });
                AssertIdentical(Weights(trained), Weights(imported));
                var before = LanguageModelTestKit.Predict(ml, trained, "abcd");
                var after = LanguageModelTestKit.Predict(ml, imported, "abcd");
                Assert.AreEqual(before.LogLikelihood, after.LogLikelihood);
                Assert.AreEqual(before.Generated, after.Generated);
            }
        }

        [TestMethod]
        public void ClassifierSurvivesExportAndImport()
        {
            var ml = new MLContext(seed: 1);
            var rows = new[] { "abab", "baba", "abba", "cdcd", "dcdc", "cddc", "aabb", "ccdd" }
                .Select(t => new TextWithLanguage { Text = t, Language = t.Contains('a') ? "ab" : "cd" }).ToArray();
            var data = ml.Data.LoadFromEnumerable(rows);
            var trained = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Language"))
                .Append(ml.MulticlassClassification.Trainers.Recurrent(new RecurrentClassificationTrainer.Options
                {
                    Cell = RecurrentCell.Gru, Bidirectional = true, Layers = 2, HiddenSize = 8, EmbeddingSize = 4, Epochs = 3, BatchSize = 4,
                    Pooling = SequencePooling.Mean, ValidationFraction = 0, Seed = 2, NumberOfThreads = 1,
                })).Fit(data);
            string path = Path.Combine(_directory, "classifier");
            ml.Model.ExportToPyTorch(trained, path);
            var manifest = ReadJson(path + ".json");
            Assert.AreEqual("mean", manifest.GetProperty("pooling").GetString());
            Assert.IsTrue(manifest.GetProperty("keys").TryGetProperty("rnn.weight_hh_l1_reverse", out _));
            Assert.IsTrue(manifest.GetProperty("keys").TryGetProperty("embedding.weight", out _));
            var imported = ml.Model.ImportPyTorchClassifier(new PyTorchClassifierImportOptions
            {
                WeightsPath = path + ".pth",
                Vocabulary = Strings(manifest.GetProperty("vocabulary").GetProperty("tokens")),
                ClassNames = Strings(manifest.GetProperty("classes")),
                Cell = RecurrentCell.Gru,
                Bidirectional = true,
                Layers = 2,
                HiddenSize = 8,
                InputEncoding = TokenInputEncoding.Embedding,
                EmbeddingSize = 4,
                Pooling = SequencePooling.Mean,
            });
            AssertIdentical(Weights(trained), Weights(imported));
            var expected = ml.Model.CreatePredictionEngine<TextWithLanguage, ClassifierScores>(trained);
            var actual = ml.Model.CreatePredictionEngine<TextRow, ClassifierScores>(imported);
            foreach (var text in new[] { "abab", "dcdd", "acbd" })
                CollectionAssert.AreEqual(expected.Predict(new TextWithLanguage { Text = text }).Score, actual.Predict(new TextRow { Text = text }).Score, text);
        }

        [TestMethod]
        public void LearnedBpeLanguageModelExportsItsMerges()
        {
            var ml = new MLContext(seed: 1);
            var options = LanguageModelTestKit.SmallOptions(epochs: 1);
            var trained = ml.Transforms.Text.TokenizeWithLearnedBpe("Tokens", "Text", 40)
                .Append(ml.Transforms.Text.RecurrentLanguageModel(options))
                .Fit(TestData.Texts(ml, TinyLanguageModel.Corpus(600, seed: 3)));
            var vocabulary = trained.OfType<BpeTokenizingTransformer>().Single().Vocabulary;
            string path = Path.Combine(_directory, "bpe");
            ml.Model.ExportToPyTorch(trained, path);
            var manifest = ReadJson(path + ".json").GetProperty("vocabulary");
            // Without the merges a PyTorch script would read the subwords as characters ("level": "character" before).
            Assert.AreEqual("bpe", manifest.GetProperty("level").GetString());
            Assert.AreEqual("", manifest.GetProperty("separator").GetString());
            CollectionAssert.AreEqual(vocabulary.Tokens.ToArray(), Strings(manifest.GetProperty("tokens")));
            CollectionAssert.AreEqual(vocabulary.Merges.Select(m => $"{m.Left} {m.Right}").ToArray(),
                manifest.GetProperty("merges").EnumerateArray().Select(m => string.Join(" ", Strings(m))).ToArray());
            Assert.AreEqual("<unk>", manifest.GetProperty("unknown").GetString());
        }

        [TestMethod]
        public void RegressorSurvivesExportAndImportWithItsScaling()
        {
            var ml = new MLContext(seed: 1);
            var series = Enumerable.Range(0, 300).Select(t => 5 + 3 * (float)Math.Sin(t * 0.3)).ToArray();
            var windows = ml.Data.FromSeries(series, windowSize: 12);
            var trained = ml.Regression.Trainers.Recurrent(new RecurrentRegressionTrainer.Options
            {
                HiddenSize = 8, Epochs = 3, Seed = 1, NumberOfThreads = 1, Cell = RecurrentCell.Lstm,
            }).Fit(windows);
            string path = Path.Combine(_directory, "regressor");
            ml.Model.ExportToPyTorch(trained, path);
            var manifest = ReadJson(path + ".json");
            float[] Floats(string name) => manifest.GetProperty(name).EnumerateArray().Select(e => (float)e.GetDouble()).ToArray();
            var imported = ml.Model.ImportPyTorchRegressor(new PyTorchRegressorImportOptions
            {
                WeightsPath = path + ".safetensors",
                HiddenSize = 8,
                WindowLength = manifest.GetProperty("window_length").GetInt32(),
                FeatureMean = Floats("feature_mean"),
                FeatureStandardDeviation = Floats("feature_std"),
                LabelMean = Floats("label_mean"),
                LabelStandardDeviation = Floats("label_std"),
            });
            AssertIdentical(Weights(trained), Weights(imported));
            var expected = ml.Data.CreateEnumerable<RegressionOutput>(trained.Transform(windows), reuseRowObject: false).Select(s => s.Score).ToArray();
            var actual = ml.Data.CreateEnumerable<RegressionOutput>(imported.Transform(windows), reuseRowObject: false).Select(s => s.Score).ToArray();
            CollectionAssert.AreEqual(expected, actual);
            Assert.IsTrue(Math.Abs(expected.Average() - 5) < 2, "the scaling is applied: predictions are in the series' units");
        }

        [TestMethod]
        public void ExportOfSomethingThatIsNotARecurrentModelIsRefused()
        {
            var ml = new MLContext(seed: 1);
            var tokenizer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, "abc"));
            StringAssert.Contains(Assert.ThrowsExactly<ArgumentException>(() => ml.Model.ExportToPyTorch(tokenizer, Path.Combine(_directory, "x"))).Message,
                "holds 0 recurrent models");
            var model = ml.Model.ImportPyTorchLanguageModel(Options(Lstm));
            StringAssert.Contains(Assert.ThrowsExactly<DirectoryNotFoundException>(() => ml.Model.ExportToPyTorch(model, Path.Combine(_directory, "missing", "x"))).Message,
                "which does not exist");
        }
    }
}
