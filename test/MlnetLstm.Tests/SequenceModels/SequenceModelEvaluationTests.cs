using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// ML.NET's own evaluators work unchanged on the sequence models' outputs: the metrics they report are the ones
    /// the test computes itself from the Score, PredictedLabel and Label columns.
    /// </summary>
    [TestClass]
    public sealed class SequenceModelEvaluationTests
    {
        private sealed class ClassName
        {
            public string Class { get; set; } = "";
        }

        private static void AreClose(double expected, double actual, string metric)
            => Assert.AreEqual(expected, actual, 1e-9 + 1e-6 * Math.Abs(expected), $"{metric}: computed {expected}, ML.NET {actual}");

        // *** Regression ***

        [TestMethod]
        [DataRow(false)]
        [DataRow(true)]
        public void RegressionEvaluateMatchesMetricsFromTheScores(bool customColumnNames)
        {
            var ml = new MLContext(seed: 1);
            var series = Enumerable.Range(0, 260).Select(t => (float)(10 + 3 * Math.Sin(t * 0.4) + 0.01 * t)).ToArray();
            IDataView train = ml.Data.FromSeries(series[..200], windowSize: 8), test = ml.Data.FromSeries(series[200..], windowSize: 8);
            var options = new RecurrentRegressionTrainer.Options { HiddenSize = 8, Epochs = 6, LearningRate = 0.01, Seed = 3 };
            string label = "Label", score = "Score";
            if (customColumnNames)
            {
                var rename = ml.Transforms.CopyColumns("Next", "Label").Append(ml.Transforms.CopyColumns("Window", "Features"));
                (train, test) = (rename.Fit(train).Transform(train), rename.Fit(test).Transform(test));
                (options.LabelColumnName, options.FeatureColumnName, options.ScoreColumnName) = ("Next", "Window", "Forecast");
                (label, score) = ("Next", "Forecast");
            }
            var scored = ml.Regression.Trainers.Recurrent(options).Fit(train).Transform(test);
            var metrics = ml.Regression.Evaluate(scored, labelColumnName: label, scoreColumnName: score);

            var labels = scored.GetColumn<float>(label).Select(v => (double)v).ToArray();
            var scores = scored.GetColumn<float>(score).Select(v => (double)v).ToArray();
            Assert.HasCount(260 - 200 - 8, labels);
            Assert.HasCount(labels.Length, scores);
            double mse = labels.Zip(scores, (y, p) => (y - p) * (y - p)).Average();
            double mae = labels.Zip(scores, (y, p) => Math.Abs(y - p)).Average();
            double mean = labels.Average();
            double r2 = 1 - mse / labels.Average(y => (y - mean) * (y - mean));
            Console.WriteLine($"MSE {mse:G4}, MAE {mae:G4}, R² {r2:F3}");
            AreClose(mse, metrics.MeanSquaredError, "MSE");
            AreClose(Math.Sqrt(mse), metrics.RootMeanSquaredError, "RMSE");
            AreClose(mae, metrics.MeanAbsoluteError, "MAE");
            AreClose(mse, metrics.LossFunction, "loss (squared by default)");
            AreClose(r2, metrics.RSquared, "R²");
            // The scores are forecasts, not noise: the model explains most of the variance of the held-out values.
            Assert.IsGreaterThan(0.8, r2);
        }

        // *** Classification ***

        private static readonly string[] Classes = { "vowels", "consonants", "digits", "symbols" };

        private static readonly Dictionary<string, string> Alphabets = new()
        {
            ["vowels"] = "aeiou",
            ["consonants"] = "bcdfghk",
            ["digits"] = "0123456789",
            ["symbols"] = "!?#%&",
        };

        private static TextWithClass[] Texts(int count, int seed, string[] classes)
        {
            var random = new Random(seed);
            return Enumerable.Range(0, count).Select(i =>
            {
                var name = classes[i % classes.Length];
                var alphabet = Alphabets[name];
                // Mostly the class's alphabet, with one character of another class's now and then.
                var chars = Enumerable.Range(0, 2 + random.Next(9)).Select(_ => alphabet[random.Next(alphabet.Length)]).ToArray();
                if (random.Next(3) == 0)
                    chars[random.Next(chars.Length)] = "aeiou0123bcd"[random.Next(12)];
                return new TextWithClass { Class = name, Text = new string(chars) };
            }).ToArray();
        }

        /// <summary>
        /// A classifier over four classes, the last of which ("symbols") has no training rows; scored on test data of
        /// all four. The label keys come from a fixed class list, so their order is <see cref="Classes"/>.
        /// </summary>
        private static (MLContext Ml, IDataView Scored) TrainAndScore(SequencePooling pooling)
        {
            var ml = new MLContext(seed: 1);
            var train = ml.Data.LoadFromEnumerable(Texts(240, seed: 1, Classes[..3]));
            var test = ml.Data.LoadFromEnumerable(Texts(80, seed: 2, Classes));
            var keyData = ml.Data.LoadFromEnumerable(Classes.Select(c => new ClassName { Class = c }).ToList());
            var model = ml.Transforms.Conversion.MapValueToKey("Label", nameof(TextWithClass.Class), keyData: keyData)
                .Append(ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text"))
                .Append(ml.MulticlassClassification.Trainers.Recurrent(new RecurrentClassificationTrainer.Options
                {
                    Pooling = pooling,
                    Cell = RecurrentCell.Gru,
                    HiddenSize = 12,
                    EmbeddingSize = 6,
                    Epochs = 4,
                    LearningRate = 0.02,
                    Seed = 2,
                }))
                .Fit(train);
            return (ml, model.Transform(test));
        }

        private static uint ArgMax(float[] values) => (uint)Array.IndexOf(values, values.Max()) + 1;

        [TestMethod]
        [DataRow(SequencePooling.Last)]
        [DataRow(SequencePooling.Mean)]
        [DataRow(SequencePooling.Max)]
        public void MulticlassEvaluateMatchesMetricsFromTheScores(SequencePooling pooling)
        {
            var (ml, scored) = TrainAndScore(pooling);
            var metrics = ml.MulticlassClassification.Evaluate(scored);

            var labels = scored.GetColumn<uint>("Label").ToArray();
            var predicted = scored.GetColumn<uint>("PredictedLabel").ToArray();
            var scores = TestData.Vectors<float>(scored, "Score").Select(v => v.DenseValues().ToArray()).ToArray();
            int n = labels.Length, k = Classes.Length;
            Assert.AreEqual(80, n);
            Assert.IsTrue(labels.All(l => l >= 1 && l <= k), "Every test label is one of the four classes.");
            for (int i = 0; i < n; i++)
            {
                Assert.HasCount(k, scores[i]);
                Assert.AreEqual(1.0, scores[i].Sum(), 1e-5, $"row {i}: the scores are probabilities");
                Assert.AreEqual(ArgMax(scores[i]), predicted[i], $"row {i}: PredictedLabel is the most probable class");
            }

            var confusion = new double[k, k];
            for (int i = 0; i < n; i++)
                confusion[labels[i] - 1, predicted[i] - 1]++;
            double micro = Enumerable.Range(0, n).Count(i => labels[i] == predicted[i]) / (double)n;
            var present = Enumerable.Range(0, k).Where(c => labels.Any(l => l == c + 1)).ToArray();
            double macro = present.Average(c => confusion[c, c] / labels.Count(l => l == c + 1));
            double RowLogLoss(int i) => -Math.Log(Math.Max(scores[i][labels[i] - 1], 1e-15));
            double logLoss = Enumerable.Range(0, n).Average(RowLogLoss);
            Console.WriteLine($"{pooling}: micro accuracy {micro:F3}, macro accuracy {macro:F3}, log-loss {logLoss:F3}");

            AreClose(micro, metrics.MicroAccuracy, "micro accuracy");
            AreClose(macro, metrics.MacroAccuracy, "macro accuracy");
            AreClose(logLoss, metrics.LogLoss, "log-loss");
            Assert.AreEqual(k, metrics.ConfusionMatrix.NumberOfClasses);
            for (int t = 0; t < k; t++)
            {
                for (int p = 0; p < k; p++)
                    Assert.AreEqual(confusion[t, p], metrics.ConfusionMatrix.Counts[t][p], $"confusion[{Classes[t]}, {Classes[p]}]");
                var rows = Enumerable.Range(0, n).Where(i => labels[i] == t + 1).ToArray();
                AreClose(rows.Average(RowLogLoss), metrics.PerClassLogLoss[t], $"log-loss of {Classes[t]}");
            }

            // The three trained classes are learned: (almost) all their test rows are right.
            var trained = Enumerable.Range(0, n).Where(i => labels[i] != 4).ToArray();
            Assert.IsGreaterThanOrEqualTo(0.9, trained.Count(i => labels[i] == predicted[i]) / (double)trained.Length);
        }

        [TestMethod]
        public void ClassWithNoTrainingRowsScoresWithoutCrashingAndGetsLittleProbability()
        {
            var (ml, scored) = TrainAndScore(SequencePooling.Mean);
            var labels = scored.GetColumn<uint>("Label").ToArray();
            var scores = TestData.Vectors<float>(scored, "Score").Select(v => v.DenseValues().ToArray()).ToArray();
            Assert.AreEqual(4UL, ((KeyDataViewType)scored.Schema["PredictedLabel"].Type).Count, "The classifier predicts among all four keys of the label.");
            Assert.IsTrue(scores.All(s => s.Length == 4 && s.All(float.IsFinite)));

            // "symbols" (key 4) has test rows but no training rows: they score, and training pushed its probability down.
            var symbolRows = Enumerable.Range(0, labels.Length).Where(i => labels[i] == 4).ToArray();
            Assert.HasCount(20, symbolRows);
            double meanSymbolProbability = scores.Average(s => s[3]);
            Console.WriteLine($"mean probability of the untrained class: {meanSymbolProbability:G3}");
            Assert.IsLessThan(0.25, meanSymbolProbability);

            var metrics = ml.MulticlassClassification.Evaluate(scored);
            Assert.AreEqual(20.0, Enumerable.Range(0, 4).Sum(p => metrics.ConfusionMatrix.Counts[3][p]), "Every symbols row is counted under its true class.");
            Assert.IsTrue(double.IsFinite(metrics.PerClassLogLoss[3]));
        }

        [TestMethod]
        public void PredictedLabelCarriesTheClassNames()
        {
            var (ml, scored) = TrainAndScore(SequencePooling.Last);
            var predictedColumn = scored.Schema["PredictedLabel"];
            Assert.AreSequenceEqual(Classes, TestData.TextVectorAnnotation(predictedColumn, "KeyValues"));
            Assert.AreSequenceEqual(Classes, TestData.TextVectorAnnotation(scored.Schema["Score"], "SlotNames"));

            var named = ml.Transforms.Conversion.MapKeyToValue("PredictedClass", "PredictedLabel").Fit(scored).Transform(scored);
            var names = named.GetColumn<ReadOnlyMemory<char>>("PredictedClass").Select(v => v.ToString()).ToArray();
            var scores = TestData.Vectors<float>(scored, "Score").Select(v => v.DenseValues().ToArray()).ToArray();
            var truth = named.GetColumn<string>(nameof(TextWithClass.Class)).ToArray();
            Assert.HasCount(scores.Length, names);
            for (int i = 0; i < names.Length; i++)
                Assert.AreEqual(Classes[ArgMax(scores[i]) - 1], names[i], $"row {i}");
            // The names are the true classes' names where the model is right: most of the trained classes' rows.
            Assert.IsGreaterThanOrEqualTo(50, Enumerable.Range(0, names.Length).Count(i => names[i] == truth[i]));
        }
    }
}
