using System;
using System.Collections.Concurrent;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The language model's defaults and presets: a user who sets only a time budget trains for that budget, the
    /// automatic choices are the same for the same seed, written to the log and saved with the model, and the
    /// Dive into Deep Learning preset is the chapter's recipe.
    /// </summary>
    [TestClass]
    public sealed class LanguageModelDefaultsTests
    {
        // Enough for one default batch (32 sequences of 32 steps) besides the validation tenth.
        private static readonly string Text = PeriodicText(200);

        /// <summary>
        /// Only a time budget (one thread, and short generation, so the test is quick): what the defaults do with it.
        /// The budget runs on a fake clock that every reading moves on by 5 ms, so the test does not depend on the
        /// machine's speed.
        /// </summary>
        private static RecurrentLanguageModelTrainer.Options BudgetOnly(int? seed) => new()
        {
            TimeBudget = TimeSpan.FromSeconds(1.5),
            Seed = seed,
            NumberOfThreads = 1,
            Generation = new GenerationOptions { MaximumNewTokens = 5 },
            TimeProvider = new SteppingClock(TimeSpan.FromMilliseconds(5)),
        };

        [TestMethod]
        public void OnlyATimeBudgetTrainsUntilItEndsNotForTenEpochs()
        {
            var model = Fit(new MLContext(seed: 1), BudgetOnly(seed: 2), Text);
            var history = model.LastTransformer.TrainingHistory;
            // An epoch of 1,260 characters is one batch: 10 epochs, the limit without a budget, would end far earlier.
            Assert.IsGreaterThan(10, history.Count, $"{history.Count} epochs in {history[^1].Elapsed}");
            // Every reading of the fake clock moves it on: the epoch's record reads it a few times after validation stops at the budget.
            Assert.IsLessThanOrEqualTo(1.5 + 0.05, history[^1].Elapsed.TotalSeconds, $"the last epoch, validation included, ends within the budget; it ended at {history[^1].Elapsed}");
            Assert.IsGreaterThanOrEqualTo(1.5 * 0.85, history[^1].Elapsed.TotalSeconds, "training stops at most a tenth of the budget (and one epoch) early");
            // Cosine to the end of the budget: the rate falls from the optimizer's default towards zero.
            Assert.IsLessThan(0.005 * 0.1, history[^1].LearningRate, $"last rate {history[^1].LearningRate}");
            Assert.IsGreaterThan(0.005 * 0.9, history[0].LearningRate, $"first rate {history[0].LearningRate}");
        }

        [TestMethod]
        public void AutomaticChoicesAreTheSameForTheSameSeedAreLoggedAndSaved()
        {
            RecurrentLanguageModelTransformer Train(int contextSeed, out string[] log)
            {
                var ml = new MLContext(seed: contextSeed);
                var messages = new ConcurrentQueue<string>();
                ml.Log += (_, e) => messages.Enqueue(e.Message);
                var model = Fit(ml, BudgetOnly(seed: null), Text).LastTransformer;
                log = messages.ToArray();
                return model;
            }

            var first = Train(5, out var log);
            var second = Train(5, out _);
            var other = Train(6, out _);
            CollectionAssert.AreEquivalent(first.TrainingSettings.ToList(), second.TrainingSettings.ToList(), "the same MLContext seed gives the same settings");
            Assert.AreNotEqual(first.TrainingSettings["Seed"], other.TrainingSettings["Seed"], "another MLContext seed draws another training seed");
            Assert.EndsWith(" (drawn from the MLContext)", first.TrainingSettings["Seed"]);
            Assert.AreEqual("as many as TimeBudget allows (automatic)", first.TrainingSettings["Epochs"]);
            Assert.AreEqual("Cosine to zero at the end of TimeBudget", first.TrainingSettings["LearningRateSchedule"]);
            Assert.AreEqual("0.005 (default for Adam)", first.TrainingSettings["LearningRate"]);
            Assert.AreEqual("00:00:01.5000000", first.TrainingSettings["TimeBudget"]);
            Assert.AreEqual("256 (automatic: the smallest candidate, not measured: 3% of TimeBudget 1.5 s is 0.045 s, less than the 0.3 s measuring needs)",
                first.TrainingSettings["HiddenSize"], "a budget too short to measure in keeps the smaller model and says so");
            Assert.AreEqual("1", first.TrainingSettings["NumberOfThreads"]);
            Assert.AreEqual("32", first.TrainingSettings["SequenceLength"]);

            var line = log.Single(m => m.Contains("Settings: ", StringComparison.Ordinal));
            foreach (var (name, value) in first.TrainingSettings)
                Assert.Contains($"{name} {value}", line, "every setting is on the log");

            string path = Path.Combine(Path.GetTempPath(), $"mlnetlstm-settings-{Guid.NewGuid():N}.zip");
            try
            {
                var ml = new MLContext();
                ml.Model.Save(first, null, path);
                var loaded = (RecurrentLanguageModelTransformer)ml.Model.Load(path, out _);
                CollectionAssert.AreEquivalent(first.TrainingSettings.ToList(), loaded.TrainingSettings.ToList(), "the settings are saved with the model");
            }
            finally
            {
                File.Delete(path);
            }
        }

        [TestMethod]
        public void ExplicitSettingsAreNotMarkedAutomatic()
        {
            var options = SmallOptions(seed: 3, epochs: 2);
            var settings = Fit(new MLContext(seed: 1), options, Text).LastTransformer.TrainingSettings;
            Assert.AreEqual("2", settings["Epochs"]);
            Assert.AreEqual("3", settings["Seed"]);
            Assert.AreEqual("0.03", settings["LearningRate"]);
            Assert.AreEqual("16", settings["HiddenSize"]);
            Assert.IsFalse(settings.Values.Any(v => v.Contains("automatic", StringComparison.Ordinal) || v.Contains("default", StringComparison.Ordinal)),
                string.Join("; ", settings.Select(s => $"{s.Key} {s.Value}")));
        }

        [TestMethod]
        public void DiveIntoDeepLearningPresetIsTheChaptersRecipe()
        {
            // d2l.ai, chapter 9 (RNNs from scratch, concise RNNs, LSTM): batch_size, num_steps = 32, 35; num_hiddens = 256;
            // lr = 1 with torch.optim.SGD; grad_clipping(net, 1); one-hot input; sequential partitioning.
            var preset = RecurrentLanguageModelTrainer.Options.DiveIntoDeepLearning();
            Assert.AreEqual((RecurrentCell.Lstm, (int?)256, 1, TokenInputEncoding.OneHot), (preset.Cell, preset.HiddenSize, preset.Layers, preset.InputEncoding));
            Assert.AreEqual((Optimizer.Sgd, (double?)1.0, LearningRateSchedule.Constant, 1.0), (preset.Optimizer, preset.LearningRate, preset.LearningRateSchedule, preset.GradientClippingNorm));
            Assert.AreEqual((32, 35, BatchSampling.Sequential), (preset.BatchSize, preset.SequenceLength, preset.BatchSampling));
            Assert.AreNotSame(preset, RecurrentLanguageModelTrainer.Options.DiveIntoDeepLearning(), "each call makes options of its own to change");
        }
    }
}
