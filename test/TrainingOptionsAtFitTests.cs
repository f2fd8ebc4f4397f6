using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Options are checked again when Fit reads them: a user may change the options object after creating the
    /// estimator.
    /// </summary>
    [TestClass]
    public sealed class TrainingOptionsAtFitTests
    {
        private static readonly string Text = PeriodicText(60);

        private static IDataView Tokenized(MLContext ml, string text)
            => ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(TestData.Texts(ml, text)).Transform(TestData.Texts(ml, text));

        // *** Options changed between the estimator's creation and Fit ***

        /// <summary>
        /// Each of these changes, made to the options object after the estimator accepted it, failed at Fit with a
        /// misleading error: "time budget ended", DivideByZeroException, NullReferenceException, "Invalid network
        /// architecture", "diverged". Fit checks the options again and names the option.
        /// </summary>
        [TestMethod]
        [DataRow("Epochs", "Option Epochs is 0; it must be at least 1")]
        [DataRow("BatchSize", "Option BatchSize is 0; it must be at least 1")]
        [DataRow("Generation", "Option Generation is null; it must be generation options")]
        [DataRow("HiddenSize", "Option HiddenSize is 0; it must be 1 to 65536")]
        [DataRow("LearningRate", "Option LearningRate is NaN; it must be a positive number")]
        public void LanguageModelOptionChangedAfterTheEstimatorWasCreatedIsRejectedAtFit(string option, string message)
        {
            var ml = new MLContext(seed: 1);
            var options = SmallOptions();
            var trained = new List<int>();
            options.EpochCompleted = m => trained.Add(m.Epoch);
            var estimator = ml.Transforms.Text.RecurrentLanguageModel(options);
            switch (option)
            {
                case "Epochs": options.Epochs = 0; break;
                case "BatchSize": options.BatchSize = 0; break;
                case "Generation": options.Generation = null!; break;
                case "HiddenSize": options.HiddenSize = 0; break;
                case "LearningRate": options.LearningRate = double.NaN; break;
                default: throw new ArgumentOutOfRangeException(nameof(option), option, null);
            }
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(Tokenized(ml, Text)));
            Assert.AreEqual(option, e.ParamName);
            Assert.Contains(message, e.Message);
            Assert.IsEmpty(trained);
        }

        [TestMethod]
        [DataRow("Epochs")]
        [DataRow("BatchSize")]
        public void RegressionOptionChangedAfterTheTrainerWasCreatedIsRejectedAtFit(string option)
        {
            var ml = new MLContext(seed: 1);
            var options = new RecurrentRegressionTrainer.Options { HiddenSize = 4, Epochs = 1, Seed = 1, NumberOfThreads = 1 };
            var trainer = ml.Regression.Trainers.Recurrent(options);
            if (option == "Epochs")
                options.Epochs = 0;
            else
                options.BatchSize = 0;
            var series = Enumerable.Range(0, 40).Select(i => (float)Math.Sin(i * 0.3)).ToArray();
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => trainer.Fit(ml.Data.FromSeries(series, windowSize: 5)));
            Assert.AreEqual(option, e.ParamName);
            Assert.Contains($"Option {option} is 0; it must be at least 1", e.Message);
        }

        [TestMethod]
        [DataRow("Epochs")]
        [DataRow("HiddenSize")]
        public void ClassificationOptionChangedAfterTheTrainerWasCreatedIsRejectedAtFit(string option)
        {
            var ml = new MLContext(seed: 1);
            var options = SmallClassifier();
            var trainer = ml.MulticlassClassification.Trainers.Recurrent(options);
            if (option == "Epochs")
                options.Epochs = 0;
            else
                options.HiddenSize = 0;
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => trainer.Fit(Classes(ml, 12)));
            Assert.AreEqual(option, e.ParamName);
            Assert.Contains($"Option {option} is 0; it must be ", e.Message);
        }

        private static RecurrentClassificationTrainer.Options SmallClassifier() => new() { HiddenSize = 4, EmbeddingSize = 2, Epochs = 2, Seed = 1, NumberOfThreads = 1 };

        private sealed class LabeledText
        {
            public string Text { get; set; } = "";

            public string Label { get; set; } = "";
        }

        /// <summary><paramref name="rows"/> tokenized texts with a keyed label of two classes.</summary>
        private static IDataView Classes(MLContext ml, int rows)
        {
            var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new LabeledText { Text = i % 2 == 0 ? "abab" : "cdcd", Label = i % 2 == 0 ? "x" : "y" }).ToList());
            var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
            return ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text").Fit(keyed).Transform(keyed);
        }
    }
}
