using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Sequence regressors and classifiers saved with mlContext.Model.Save: loaded in a fresh process they give
    /// bit-identical outputs, and a loaded model saves back to the same bytes.
    /// </summary>
    [TestClass]
    public sealed class SequenceModelPersistenceTests
    {
        private static readonly TimeSpan ChildTimeout = TimeSpan.FromSeconds(60);

        private string _directory = "";

        [TestInitialize]
        public void CreateDirectory() => _directory = TestData.TempDirectory();

        [TestCleanup]
        public void DeleteDirectory()
        {
            if (Directory.Exists(_directory))
                Directory.Delete(_directory, recursive: true);
        }

        /// <summary>A saved model, the in-process outputs of the inputs, and what the child process needs.</summary>
        private sealed record SavedModel(string Zip, string Kind, string Signature, string[] Inputs, List<string> Expected);

        private static float[] Univariate(int count) => Enumerable.Range(0, count).Select(t => (float)(Math.Sin(t * 0.3) + 0.5 * Math.Sin(t * 0.05))).ToArray();

        private static float[][] Bivariate(int count) => Enumerable.Range(0, count).Select(t => new[] { (float)Math.Sin(t * 0.3), (float)Math.Cos(t * 0.17) * 2 }).ToArray();

        /// <summary>Every window of a series, step-major, as the runner's input lines.</summary>
        private static string[] WindowLines(float[][] series, int windowSize)
            => Enumerable.Range(0, series.Length - windowSize + 1).Select(start => Runner.FormatWindow(series.Skip(start).Take(windowSize).SelectMany(step => step))).ToArray();

        private SavedModel Regressor(bool multivariate)
        {
            var ml = new MLContext(seed: 1);
            IDataView train;
            string[] inputs;
            var options = new RecurrentRegressionTrainer.Options { HiddenSize = 8, Epochs = 3, LearningRate = 0.01, Seed = 4 };
            if (multivariate)
            {
                var series = Bivariate(160);
                train = ml.Data.FromSeries(series[..140], windowSize: 6, horizon: 3, targetFeature: 0);
                options.FeaturesPerStep = 2;
                options.Cell = RecurrentCell.Gru;
                inputs = WindowLines(series[140..], 6);
            }
            else
            {
                var series = Univariate(160);
                train = ml.Data.FromSeries(series[..140], windowSize: 10);
                inputs = WindowLines(series[140..].Select(v => new[] { v }).ToArray(), 10);
            }
            var model = ml.Regression.Trainers.Recurrent(options).Fit(train);
            var zip = Path.Combine(_directory, multivariate ? "forecast.zip" : "regression.zip");
            ml.Model.Save(model, train.Schema, zip);
            string kind = multivariate ? "forecast" : "regression";
            return new SavedModel(zip, kind, "RNNREGRS", inputs, Runner.Predict(ml, model, kind, inputs, train.Schema).ToList());
        }

        private static TextWithClass[] Texts(int count, int seed)
        {
            // Three classes told apart by their alphabets; lengths 1 to 12.
            var alphabets = new Dictionary<string, string> { ["vowels"] = "aeiou", ["consonants"] = "bcdfghk", ["digits"] = "0123456789" };
            var names = alphabets.Keys.ToArray();
            var random = new Random(seed);
            return Enumerable.Range(0, count).Select(i =>
            {
                var name = names[i % names.Length];
                var alphabet = alphabets[name];
                return new TextWithClass { Class = name, Text = new string(Enumerable.Range(0, 1 + random.Next(12)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray()) };
            }).ToArray();
        }

        private SavedModel Classifier()
        {
            var ml = new MLContext(seed: 1);
            var data = ml.Data.LoadFromEnumerable(Texts(150, seed: 2));
            // The label is mapped outside the saved pipeline, so the loaded model scores rows with only a Text column.
            var keyed = ml.Transforms.Conversion.MapValueToKey("Label", nameof(TextWithClass.Class)).Fit(data).Transform(data);
            var model = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.MulticlassClassification.Trainers.Recurrent(new RecurrentClassificationTrainer.Options
                {
                    Bidirectional = true,
                    Pooling = SequencePooling.Mean,
                    HiddenSize = 8,
                    EmbeddingSize = 4,
                    Epochs = 3,
                    Seed = 5,
                }))
                .Fit(keyed);
            var zip = Path.Combine(_directory, "classifier.zip");
            ml.Model.Save(model, keyed.Schema, zip);
            // Seen and unseen characters, mixed classes, one character, and the empty text.
            string[] inputs = { "aeiou", "bcdfg", "0123", "a1b2c3", "zzz ✓", "e", "", "kkkkkkkkkkkkkkkkkkkkkkkkkkkkkk" };
            return new SavedModel(zip, "classifier", "RNNCLASS", inputs, Runner.Predict(ml, model, "classifier", inputs).ToList());
        }

        private SavedModel Save(string model) => model switch
        {
            "regression" => Regressor(multivariate: false),
            "forecast" => Regressor(multivariate: true),
            "classifier" => Classifier(),
            _ => throw new ArgumentOutOfRangeException(nameof(model)),
        };

        [TestMethod]
        [DataRow("regression")]
        [DataRow("forecast")]
        [DataRow("classifier")]
        public void LoadedInAFreshProcessGivesBitIdenticalOutputs(string model)
        {
            var saved = Save(model);
            Assert.HasCount(saved.Inputs.Length, saved.Expected);
            // Every input gives its own output, so the comparison exercises the network (at most the empty and the
            // one-character texts of the classifier could coincide).
            Assert.IsGreaterThanOrEqualTo(saved.Inputs.Length - 1, saved.Expected.Distinct().Count(), string.Join("\n", saved.Expected));

            var inputs = Path.Combine(_directory, "inputs.txt");
            File.WriteAllLines(inputs, saved.Inputs);
            Assert.AreSequenceEqual(saved.Inputs, File.ReadAllLines(inputs), "The inputs file must hold the inputs exactly.");
            var actual = ChildProcess.RunLines(ChildTimeout, ChildProcess.ModelRunnerDll, saved.Zip, saved.Kind, inputs);
            Assert.AreSequenceEqual(saved.Expected, actual);
        }

        [TestMethod]
        public void WindowLinesRoundTripEveryFloatExactly()
        {
            // The child reads windows back from text: the text must give the very same floats.
            var values = Univariate(50).Concat(new[] { float.Epsilon, -0f, 1e-30f, 3.4e38f, 0.1f, 1f / 3 }).ToArray();
            var parsed = Runner.FormatWindow(values).Split(',').Select(v => float.Parse(v, CultureInfo.InvariantCulture)).ToArray();
            Assert.AreSequenceEqual(values.Select(BitConverter.SingleToInt32Bits).ToArray(), parsed.Select(BitConverter.SingleToInt32Bits).ToArray());
        }

        [TestMethod]
        public void RegressorOutputsThroughTheRunnerAreTheTransformsScores()
        {
            // The runner's in-process output is the model's own Score column, formatted as float bits.
            var ml = new MLContext(seed: 1);
            var series = Bivariate(60);
            var data = ml.Data.FromSeries(series, windowSize: 6, horizon: 3, targetFeature: 0);
            var model = ml.Regression.Trainers.Recurrent(new RecurrentRegressionTrainer.Options { FeaturesPerStep = 2, HiddenSize = 4, Epochs = 1, Seed = 1 }).Fit(data);
            var scores = TestData.Vectors<float>(model.Transform(data), "Score");
            var lines = WindowLines(series, 6).Take(scores.Count).ToArray();
            Assert.HasCount(60 - 6 - 3 + 1, scores);
            var expected = scores.Select(s => "Score=[3:" + string.Join(",", s.DenseValues().Select((v, i) => $"{i}={BitConverter.SingleToInt32Bits(v):X8}")) + "]").ToArray();
            Assert.AreSequenceEqual(expected, Runner.Predict(ml, model, "forecast", lines, data.Schema).ToArray());
        }

        [TestMethod]
        [DataRow("regression")]
        [DataRow("forecast")]
        [DataRow("classifier")]
        public void ResavingALoadedModelGivesIdenticalEntries(string model)
        {
            var saved = Save(model);
            var ml = new MLContext(seed: 1);
            var loaded = ml.Model.Load(saved.Zip, out var schema);
            var resaved = Path.Combine(_directory, "resaved.zip");
            ml.Model.Save(loaded, schema, resaved);

            var first = ModelZip.ReadEntries(saved.Zip);
            var second = ModelZip.ReadEntries(resaved);
            Assert.AreSequenceEqual(first.Select(e => e.Name).ToArray(), second.Select(e => e.Name).ToArray());
            foreach (var ((name, a), (_, b)) in first.Zip(second))
                Assert.IsTrue(a.AsSpan().SequenceEqual(b), $"Entry {name} differs after a load and a save ({a.Length} and {b.Length} bytes).");
            // The recurrent model's entry and its weights are among those compared.
            var entry = ModelZip.FindEntry(first, saved.Signature);
            var weights = Path.GetDirectoryName(entry)!.Replace('\\', '/') + "/Weights";
            Assert.IsTrue(first.Any(e => e.Name.Replace('\\', '/') == weights), $"No {weights} entry: {string.Join(", ", first.Select(e => e.Name))}");

            // And the reloaded model scores as the original did.
            Assert.AreSequenceEqual(saved.Expected, Runner.Predict(ml, loaded, saved.Kind, saved.Inputs, schema).ToList());
        }
    }
}
