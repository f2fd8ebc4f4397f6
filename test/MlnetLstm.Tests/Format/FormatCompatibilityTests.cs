using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Model zips written before the managed runtime (test/Fixtures/Format1, by commit 084cc40, scored there with
    /// TorchSharp) still load and score the same, and re-saving one writes today's format.
    /// </summary>
    [TestClass]
    public sealed class FormatCompatibilityTests
    {
        private sealed class WindowRow
        {
            [VectorType(8)]
            public float[] Features { get; set; } = Array.Empty<float>();
        }

        private static double Parse(string value) => double.Parse(value, NumberStyles.Float, CultureInfo.InvariantCulture);

        private static void AssertClose(double expected, double actual, double tolerance, string what)
            => Assert.IsLessThanOrEqualTo(tolerance, Math.Abs(expected - actual), $"{what}: expected {expected:R}, got {actual:R}");

        [TestMethod]
        public void LanguageModelOfFormat1ScoresAsTorchSharpDid()
        {
            var ml = new MLContext(seed: 1);
            var model = ml.Model.Load(TestData.Fixture("Format1/language-model.zip"), out _);
            var outputs = AssertScoresAsRecorded(ml, model);
            var languageModel = ((IEnumerable<ITransformer>)model).OfType<RecurrentLanguageModelTransformer>().Single();
            Assert.HasCount(0, languageModel.TrainingSettings, "a model saved before format 0x00010004 has no training settings to show");

            // Re-saved, it is a model of today's format, which loads and scores bit for bit the same.
            string directory = TestData.TempDirectory("format1");
            string resaved = Path.Combine(directory, "resaved.zip");
            ml.Model.Save(model, TestData.Texts(ml, "a").Schema, resaved);
            var entries = ModelZip.ReadEntries(resaved);
            var entry = entries.Single(e => e.Name == ModelZip.FindEntry(entries, "RNNLANGM"));
            Assert.AreEqual((0x00010005u, 0x00010005u), ModelZip.Versions(entry.Bytes));
            var again = AssertScoresAsRecorded(ml, ml.Model.Load(resaved, out _));
            for (int i = 0; i < outputs.Length; i++)
            {
                Assert.AreEqual(outputs[i].LogLikelihood, again[i].LogLikelihood);
                CollectionAssert.AreEqual(outputs[i].NextTokenProbabilities, again[i].NextTokenProbabilities);
                Assert.AreEqual(outputs[i].Generated, again[i].Generated);
            }
        }

        private static ScoredAndGeneratedText[] AssertScoresAsRecorded(MLContext ml, ITransformer model)
        {
            using var engine = ml.Model.CreatePredictionEngine<TextRow, ScoredAndGeneratedText>(model);
            return File.ReadAllLines(TestData.Fixture("Format1/language-model.expected.tsv")).Select(line =>
            {
                var f = line.Split('\t');
                var output = engine.Predict(new TextRow { Text = f[0] });
                // The log-likelihood sums one term per token (at most 11 here), each within 1e-5 of TorchSharp's.
                AssertClose(Parse(f[1]), output.LogLikelihood, 1e-4, $"'{f[0]}' log-likelihood");
                AssertClose(Parse(f[2]), output.Perplexity, 1e-4 * Parse(f[2]), $"'{f[0]}' perplexity");
                AssertClose(Parse(f[3]), output.BitsPerToken, 1e-5, $"'{f[0]}' bits per token");
                var probabilities = f[4].Split(',').Select(Parse).ToArray();
                Assert.HasCount(probabilities.Length, output.NextTokenProbabilities);
                for (int i = 0; i < probabilities.Length; i++)
                    AssertClose(probabilities[i], output.NextTokenProbabilities[i], 1e-5, $"'{f[0]}' next-token probability {i}");
                Assert.AreEqual(f[5], output.Generated, $"greedy continuation of '{f[0]}'");
                return output;
            }).ToArray();
        }

        [TestMethod]
        public void RegressorOfFormat1ScoresAsTorchSharpDid()
        {
            var ml = new MLContext(seed: 1);
            var model = ml.Model.Load(TestData.Fixture("Format1/regressor.zip"), out _);
            var series = Enumerable.Range(0, 20).Select(i => (float)Math.Sin(i * 0.3) * 3 + 10).ToArray();
            var expected = File.ReadAllLines(TestData.Fixture("Format1/regressor.expected.tsv")).Select(Parse).ToArray();
            using var engine = ml.Model.CreatePredictionEngine<WindowRow, RegressionOutput>(model);
            Assert.HasCount(series.Length - 8, expected);
            for (int i = 0; i < expected.Length; i++)
                AssertClose(expected[i], engine.Predict(new WindowRow { Features = series[i..(i + 8)] }).Score, 1e-5 * Math.Abs(expected[i]), $"window {i}");
        }

        [TestMethod]
        public void ClassifierOfFormat1ScoresAsTorchSharpDid()
        {
            var ml = new MLContext(seed: 1);
            var model = ml.Model.Load(TestData.Fixture("Format1/classifier.zip"), out _);
            using var engine = ml.Model.CreatePredictionEngine<TextWithLanguage, ClassifierScores>(model);
            foreach (var line in File.ReadAllLines(TestData.Fixture("Format1/classifier.expected.tsv")))
            {
                var f = line.Split('\t');
                var output = engine.Predict(new TextWithLanguage { Text = f[0], Language = "en" });
                var scores = f[1].Split(',').Select(Parse).ToArray();
                Assert.HasCount(scores.Length, output.Score);
                for (int i = 0; i < scores.Length; i++)
                    AssertClose(scores[i], output.Score[i], 1e-5, $"'{f[0]}' score {i}");
                Assert.AreEqual(uint.Parse(f[2], CultureInfo.InvariantCulture), output.PredictedLabel, $"'{f[0]}' predicted label");
            }
        }
    }
}
