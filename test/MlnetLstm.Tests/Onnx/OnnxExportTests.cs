using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// ML.NET's ConvertToOnnx on pipelines of our components: ONNX Runtime and ApplyOnnxModel give what the
    /// PredictionEngine gives, within <see cref="OnnxTestKit.Tolerance"/>.
    /// </summary>
    [TestClass]
    public sealed class OnnxExportTests
    {
        /// <summary>Texts to score: in the alphabet, with unknown characters, a single character, repeats, empty (NaN perplexity in both).</summary>
        private static readonly string[] Probes = { "abcdefgabc", "gfedcba", "a", "xbcz defa", "ggggggggggggggggggggabcdefg", "" };

        private static RecurrentLanguageModelTrainer.Options LanguageModelOptions(RecurrentCell cell, int layers, TokenInputEncoding encoding) => new()
        {
            Cell = cell,
            Layers = layers,
            InputEncoding = encoding,
            EmbeddingSize = encoding == TokenInputEncoding.Embedding ? 6 : 0,
            HiddenSize = 12,
            Epochs = 2,
            BatchSize = 4,
            SequenceLength = 10,
            Optimizer = Optimizer.Adam,
            LearningRate = 0.03,
            Seed = 5,
            NumberOfThreads = 1,
        };

        [TestMethod]
        [DataRow(RecurrentCell.Lstm, 1, TokenInputEncoding.OneHot)]
        [DataRow(RecurrentCell.Lstm, 2, TokenInputEncoding.Embedding)]
        [DataRow(RecurrentCell.Gru, 1, TokenInputEncoding.Embedding)]
        [DataRow(RecurrentCell.Gru, 2, TokenInputEncoding.OneHot)]
        [DataRow(RecurrentCell.RnnTanh, 1, TokenInputEncoding.OneHot)]
        [DataRow(RecurrentCell.RnnRelu, 2, TokenInputEncoding.Embedding)]
        public void LanguageModelColumnsMatchThePredictionEngine(RecurrentCell cell, int layers, TokenInputEncoding encoding)
        {
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, LanguageModelTestKit.PeriodicText(12), "gfedcba gfedcba");
            var model = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Text.RecurrentLanguageModel(LanguageModelOptions(cell, layers, encoding)))
                .Fit(data).WithoutGeneratedColumn();
            double delta = CheckLanguageModel(ml, model, data, Probes);
            Console.WriteLine($"language model {cell} {layers} layer(s) {encoding}: max |Δ| {delta:E2}");
        }

        [TestMethod]
        public void WordTokenizerAndOneHotSequenceExport()
        {
            // Words split at every white-space character .NET knows (tabs, no-break spaces, runs of them); the model reads
            // the variable-length one-hot sequence of the words.
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, string.Join(" ", Enumerable.Repeat("the cat sat on the mat", 8)));
            var options = LanguageModelOptions(RecurrentCell.Lstm, 1, TokenInputEncoding.OneHot);
            options.TokenColumnName = "OneHot";
            var model = ml.Transforms.Text.TokenizeWithWordVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Tokens"))
                .Append(ml.Transforms.Text.RecurrentLanguageModel(options))
                .Fit(data).WithoutGeneratedColumn();
            double delta = CheckLanguageModel(ml, model, data, new[] { "the cat", "  the\tmat\u00A0sat  ", "dog on the mat", "cat", "" });
            Console.WriteLine($"word language model on one-hot sequences: max |Δ| {delta:E2}");
        }

        [TestMethod]
        public void CaseFoldingCharacterTokenizerExport()
        {
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, LanguageModelTestKit.PeriodicText(10) + "ÀÉ");
            var model = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text", caseFolding: true)
                .Append(ml.Transforms.Text.RecurrentLanguageModel(LanguageModelOptions(RecurrentCell.Gru, 1, TokenInputEncoding.OneHot)))
                .Fit(data).WithoutGeneratedColumn();
            CheckLanguageModel(ml, model, data, new[] { "ABCdef", "àÉèg", "ΣABC" });
        }

        [TestMethod]
        public void FixedLengthOneHotSequenceMatchesTheTransform()
        {
            var ml = new MLContext(seed: 1);
            var data = TestData.Texts(ml, "abcab", "ca", "");
            var model = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Categorical.OneHotEncodeSequence("OneHot", "Tokens", maximumLength: 6)).Fit(data);
            var onnx = OnnxTestKit.Convert(ml, model, data);
            using var session = OnnxTestKit.Session(onnx);
            foreach (var text in new[] { "abcab", "ca", "", "cxc" })
            {
                var expected = OnnxTestKit.ReadColumn(model.Transform(TestData.Texts(ml, text)), "OneHot")[0];
                using var input = OnnxTestKit.Text(text);
                var actual = OnnxTestKit.Run(session, new Dictionary<string, OrtValue> { ["Text"] = input })["OneHot.output"].Values;
                CollectionAssert.AreEqual(expected, actual, $"one-hot sequence of '{text}'");
            }
        }

        [TestMethod]
        public void RegressorScoreMatchesThePredictionEngine()
        {
            var ml = new MLContext(seed: 1);
            var series = Enumerable.Range(0, 200).Select(t => (float)(10 + 3 * Math.Sin(t * 0.5263))).ToArray();
            var data = ml.Data.FromSeries(series, windowSize: 9);
            var model = ml.Regression.Trainers.Recurrent(new RecurrentRegressionTrainer.Options
            {
                Cell = RecurrentCell.Lstm, Layers = 2, HiddenSize = 8, Epochs = 2, Seed = 1, NumberOfThreads = 1,
            }).Fit(data);
            var onnx = OnnxTestKit.Convert(ml, model, data);
            var expected = OnnxTestKit.ReadColumn(model.Transform(data), "Score").Select(r => r[0]).ToArray();
            var features = OnnxTestKit.ReadColumn(data, "Features");
            var labels = OnnxTestKit.ReadColumn(data, "Label");
            double delta = 0;
            using (var session = OnnxTestKit.Session(onnx))
                for (int row = 0; row < expected.Length; row += 17)
                {
                    using var x = OnnxTestKit.Floats(features[row].Select(v => (float)v).ToArray(), 1, features[row].Length);
                    using var y = OnnxTestKit.Floats(labels[row].Select(v => (float)v).ToArray(), 1, labels[row].Length);
                    var score = OnnxTestKit.Run(session, new Dictionary<string, OrtValue> { ["Features"] = x, ["Label"] = y })["Score.output"].Values;
                    delta = Math.Max(delta, OnnxTestKit.MaxAbsDiff(new[] { expected[row] }, score, $"Score of row {row}"));
                }
            var applied = OnnxTestKit.ApplyOnnxModel(ml, onnx, data, TestData.TempDirectory("onnx-regressor"), "Score.output")["Score.output"];
            delta = Math.Max(delta, OnnxTestKit.MaxAbsDiff(expected, applied.Select(r => r[0]).ToArray(), "ApplyOnnxModel Score"));
            Console.WriteLine($"regressor (LSTM 2 layers): max |Δ| {delta:E2}");
            Assert.IsTrue(delta < OnnxTestKit.Tolerance, $"max |Δ| {delta}");
        }

        [TestMethod]
        [DataRow(SequencePooling.Last, RecurrentCell.Lstm, 2)]
        [DataRow(SequencePooling.Mean, RecurrentCell.Gru, 1)]
        [DataRow(SequencePooling.Max, RecurrentCell.RnnTanh, 1)]
        public void BidirectionalClassifierMatchesThePredictionEngine(SequencePooling pooling, RecurrentCell cell, int layers)
        {
            var ml = new MLContext(seed: 1);
            var rows = new[] { "abcabc", "cbacba", "aabbcc", "ccbbaa", "abcab", "cbac" }
                .Select((t, i) => new TextWithLanguage { Text = t, Language = i % 2 == 0 ? "up" : "down" }).ToArray();
            var data = ml.Data.LoadFromEnumerable(rows);
            var model = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Language"))
                .Append(ml.MulticlassClassification.Trainers.Recurrent(new RecurrentClassificationTrainer.Options
                {
                    Bidirectional = true, Pooling = pooling, Cell = cell, Layers = layers, HiddenSize = 8, EmbeddingSize = 4,
                    InputEncoding = TokenInputEncoding.Embedding, Epochs = 2, Seed = 2, NumberOfThreads = 1, ValidationFraction = 0,
                })).Fit(data);
            var onnx = OnnxTestKit.Convert(ml, model, data);
            using var engine = ml.Model.CreatePredictionEngine<TextWithLanguage, ClassifierScores>(model);
            var probes = new[] { "abc", "cba", "a", "bxb", "abcabcabcabcacb", "" };
            double delta = 0;
            using (var session = OnnxTestKit.Session(onnx))
                foreach (var text in probes)
                {
                    var expected = engine.Predict(new TextWithLanguage { Text = text, Language = "up" });
                    using var input = OnnxTestKit.Text(text);
                    using var language = OnnxTestKit.Text("up");
                    var outputs = OnnxTestKit.Run(session, new Dictionary<string, OrtValue> { ["Text"] = input, ["Language"] = language });
                    delta = Math.Max(delta, OnnxTestKit.MaxAbsDiff(expected.Score.Select(v => (double)v).ToArray(), outputs["Score.output"].Values, $"Score of '{text}'"));
                    Assert.AreEqual((double)expected.PredictedLabel, outputs["PredictedLabel.output"].Values.Single(), $"PredictedLabel of '{text}'");
                }
            var probeData = ml.Data.LoadFromEnumerable(probes.Select(t => new TextWithLanguage { Text = t, Language = "up" }));
            var applied = OnnxTestKit.ApplyOnnxModel(ml, onnx, probeData, TestData.TempDirectory("onnx-classifier"), "Score.output", "PredictedLabel.output");
            var predicted = ml.Data.CreateEnumerable<ClassifierScores>(model.Transform(probeData), reuseRowObject: false).ToArray();
            for (int i = 0; i < probes.Length; i++)
            {
                delta = Math.Max(delta, OnnxTestKit.MaxAbsDiff(predicted[i].Score.Select(v => (double)v).ToArray(), applied["Score.output"][i], $"ApplyOnnxModel Score of '{probes[i]}'"));
                Assert.AreEqual((double)predicted[i].PredictedLabel, applied["PredictedLabel.output"][i].Single(), $"ApplyOnnxModel PredictedLabel of '{probes[i]}'");
            }
            Console.WriteLine($"bidirectional classifier {cell} {layers} layer(s), {pooling} pooling: max |Δ| {delta:E2}");
            Assert.IsTrue(delta < OnnxTestKit.Tolerance, $"max |Δ| {delta}");
        }

        /// <summary>
        /// Converts a language-model pipeline and checks ONNX Runtime and ApplyOnnxModel against the PredictionEngine
        /// on every probe; returns the largest |Δ| over all columns.
        /// </summary>
        private static double CheckLanguageModel(MLContext ml, ITransformer model, IDataView data, string[] probes)
        {
            var onnx = OnnxTestKit.Convert(ml, model, data);
            using var engine = ml.Model.CreatePredictionEngine<TextRow, ScoredText>(model);
            var expected = probes.Select(p => engine.Predict(new TextRow { Text = p })).ToArray();
            static double[] Columns(ScoredText s) => s.NextTokenProbabilities.Select(v => (double)v).Append(s.LogLikelihood).Append(s.Perplexity).Append(s.BitsPerToken).ToArray();
            double delta = 0;
            using (var session = OnnxTestKit.Session(onnx))
                for (int i = 0; i < probes.Length; i++)
                {
                    using var input = OnnxTestKit.Text(probes[i]);
                    var outputs = OnnxTestKit.Run(session, new Dictionary<string, OrtValue> { ["Text"] = input });
                    var actual = outputs["NextTokenProbabilities.output"].Values.Concat(outputs["LogLikelihood.output"].Values)
                        .Concat(outputs["Perplexity.output"].Values).Concat(outputs["BitsPerToken.output"].Values).ToArray();
                    delta = Math.Max(delta, OnnxTestKit.MaxAbsDiff(Columns(expected[i]), actual, $"ONNX Runtime on '{probes[i]}'"));
                }
            var applied = OnnxTestKit.ApplyOnnxModel(ml, onnx, TestData.Texts(ml, probes), TestData.TempDirectory("onnx-language-model"),
                "NextTokenProbabilities.output", "LogLikelihood.output", "Perplexity.output", "BitsPerToken.output");
            for (int i = 0; i < probes.Length; i++)
            {
                var actual = applied["NextTokenProbabilities.output"][i].Concat(applied["LogLikelihood.output"][i])
                    .Concat(applied["Perplexity.output"][i]).Concat(applied["BitsPerToken.output"][i]).ToArray();
                delta = Math.Max(delta, OnnxTestKit.MaxAbsDiff(Columns(expected[i]), actual, $"ApplyOnnxModel on '{probes[i]}'"));
            }
            Assert.IsTrue(delta < OnnxTestKit.Tolerance, $"max |Δ| {delta}");
            return delta;
        }
    }
}
