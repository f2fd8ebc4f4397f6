using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The settings that depend on the machine, chosen from what it measures: the language model's hidden size from
    /// what the budget buys (the rule at its edges, and Fit applying it), and the thread count from training's own
    /// speed. Time comes from a fake clock, so no test depends on how fast or busy the machine is.
    /// </summary>
    [TestClass]
    public sealed class AutomaticSettingsTests
    {
        private static readonly string Text = PeriodicText(200);

        // *** The hidden-size rule ***

        private static AutomaticHiddenSize.Candidate Size(int hidden, long parameters, double? tokensPerSecond) => new(hidden, parameters, tokensPerSecond);

        [TestMethod]
        [DataRow(1000.0, 256)]   // 512 is bought 5,000,000 tokens: 3.94 per parameter of 1,270,000, below 4
        [DataRow(1016.0, 512)]   // 5,080,000 tokens: 4.0 per parameter
        public void TheLargerSizeNeedsFourTokensPerParameter(double seconds, int expected)
        {
            var choice = AutomaticHiddenSize.Choose(new[] { Size(256, 373_000, 10_000), Size(512, 1_270_000, 5_000) }, null, TimeSpan.FromSeconds(seconds));
            Assert.AreEqual(expected, choice.HiddenSize, choice.Reason);
        }

        [TestMethod]
        public void ExactlyFourTokensPerParameterIsEnough()
        {
            var sizes = new[] { Size(256, 400_000, 8_000), Size(512, 1_000_000, 4_000) };
            Assert.AreEqual(512, AutomaticHiddenSize.Choose(sizes, null, TimeSpan.FromSeconds(1000)).HiddenSize, "4,000,000 tokens for 1,000,000 parameters");
            Assert.AreEqual(256, AutomaticHiddenSize.Choose(sizes, null, TimeSpan.FromSeconds(999)).HiddenSize, "3,996,000 tokens");
        }

        [TestMethod]
        public void TheEpochLimitCapsWhatTheTimeBudgetBuys()
        {
            var sizes = new[] { Size(256, 400_000, 8_000), Size(512, 1_000_000, 4_000) };
            // The budget alone buys 40 M tokens; 3 epochs of 1 M tokens are 3 per parameter of the larger model.
            var choice = AutomaticHiddenSize.Choose(sizes, 3_000_000, TimeSpan.FromSeconds(10_000));
            Assert.AreEqual(256, choice.HiddenSize);
            Assert.AreEqual("the budget buys 256: 3.00 M tokens at 8,000 tokens/s, 7.5 per parameter of 400,000; 512: 3.00 M tokens at 4,000 tokens/s, 3.0 per parameter of 1,000,000; " +
                "the largest size with at least 4 tokens per parameter, or the smallest", choice.Reason);
        }

        [TestMethod]
        public void WithoutATimeBudgetTheEpochsDecideAndNoSpeedIsNeeded()
        {
            var sizes = new[] { Size(256, 400_000, null), Size(512, 1_000_000, null) };
            Assert.AreEqual(512, AutomaticHiddenSize.Choose(sizes, 4_000_000, null).HiddenSize);
            Assert.AreEqual(256, AutomaticHiddenSize.Choose(sizes, 3_999_999, null).HiddenSize);
        }

        [TestMethod]
        public void AnUnmeasuredSizeIsNotChosenUnderATimeBudget()
        {
            var choice = AutomaticHiddenSize.Choose(new[] { Size(256, 400_000, 8_000), Size(512, 1_000_000, null) }, null, TimeSpan.FromHours(10));
            Assert.AreEqual(256, choice.HiddenSize);
            StringAssert.Contains(choice.Reason, "512: not measured");
        }

        [TestMethod]
        public void WhenNoSizeIsBoughtEnoughTheSmallestIsChosen()
        {
            var choice = AutomaticHiddenSize.Choose(new[] { Size(256, 400_000, 100), Size(512, 1_000_000, 50) }, null, TimeSpan.FromSeconds(60));
            Assert.AreEqual(256, choice.HiddenSize, "6,000 tokens are 0.015 per parameter of the smallest: it is the choice all the same");
        }

        // *** Fit applies the rule ***

        /// <summary>The small model's options with the hidden size left automatic among 4 and 8 (285 and 689 parameters for the 9-token vocabulary).</summary>
        private static RecurrentLanguageModelTrainer.Options AutomaticSize(int? epochs)
        {
            var options = SmallOptions(seed: 5, epochs: epochs ?? 4);
            options.HiddenSize = null;
            options.AutomaticHiddenSizes = new[] { 4, 8 };
            if (epochs is null)
                options.Epochs = null;
            return options;
        }

        [TestMethod]
        [DataRow(2, 4, "8: 2,518 tokens, 3.7 per parameter of 689")]   // 1,259 training tokens an epoch
        [DataRow(3, 8, "8: 3,777 tokens, 5.5 per parameter of 689")]
        public void WithOnlyEpochsTheSizeIsTheLargestTheEpochsTrainEnough(int epochs, int expected, string part)
        {
            var model = Fit(new MLContext(seed: 1), AutomaticSize(epochs), Text).LastTransformer;
            Assert.AreEqual(expected, model.Trained.Architecture.HiddenSize);
            string setting = model.TrainingSettings["HiddenSize"];
            Assert.StartsWith($"{expected} (automatic: the budget buys 4: ", setting);
            Assert.Contains(part, setting);
        }

        [TestMethod]
        public void AnAutomaticSizeTrainsTheSameNetworkAsTheSameSizeSet()
        {
            var automatic = Fit(new MLContext(seed: 1), AutomaticSize(epochs: 3), Text).LastTransformer;
            var set = AutomaticSize(epochs: 3);
            set.HiddenSize = 8;
            var explicitly = Fit(new MLContext(seed: 1), set, Text).LastTransformer;
            Assert.AreEqual("8", explicitly.TrainingSettings["HiddenSize"], "a size that is set is never replaced");
            PyTorchTestKit.AssertIdentical(explicitly.Trained.Weights.Tensors, automatic.Trained.Weights.Tensors);
        }

        [TestMethod]
        public void UnderATimeBudgetEachSizeIsMeasuredWithinThreePercentOfIt()
        {
            var options = AutomaticSize(epochs: null);
            options.TimeBudget = TimeSpan.FromSeconds(20);
            options.TimeProvider = new SteppingClock(TimeSpan.FromMilliseconds(10));
            var log = new ConcurrentQueue<string>();
            var ml = new MLContext(seed: 1);
            ml.Log += (_, e) => log.Enqueue(e.Message);
            var model = Fit(ml, options, Text).LastTransformer;

            var measured = log.Single(m => m.Contains("Measured hidden sizes ", StringComparison.Ordinal));
            var match = Regex.Match(measured, @"Measured hidden sizes 4 at ([\d,]+) tokens/s, 8 at ([\d,]+) tokens/s \(in ([\d.]+) s of the 20\.0 s time budget\)\.$");
            Assert.IsTrue(match.Success, measured);
            double spent = double.Parse(match.Groups[3].Value, CultureInfo.InvariantCulture);
            // The two measurements end at 0.3 s and 0.6 s, set-up and warm-up included; the last reading may pass the end by a step.
            Assert.IsLessThanOrEqualTo(20 * 0.03 + 0.02, spent, measured);
            Assert.IsGreaterThanOrEqualTo(20 * 0.03, spent, measured);
            // On the fake clock both sizes train at the same speed, which buys the larger one ample tokens per parameter.
            Assert.AreEqual(8, model.Trained.Architecture.HiddenSize);
            Assert.Contains("(measured in ", model.TrainingSettings["HiddenSize"]);
            // The budget, and the few readings of the epoch's record after validation stops at it.
            Assert.IsLessThanOrEqualTo(20.0 + 0.05, model.TrainingHistory[^1].Elapsed.TotalSeconds, $"measuring counts in the budget, which holds; the last epoch ended at {model.TrainingHistory[^1].Elapsed}");
        }

        [TestMethod]
        public void ASetSizeIsNotMeasured()
        {
            var options = AutomaticSize(epochs: null);
            options.HiddenSize = 8;
            options.TimeBudget = TimeSpan.FromSeconds(20);
            options.TimeProvider = new SteppingClock(TimeSpan.FromMilliseconds(10));
            var log = new ConcurrentQueue<string>();
            var ml = new MLContext(seed: 1);
            ml.Log += (_, e) => log.Enqueue(e.Message);
            Assert.AreEqual("8", Fit(ml, options, Text).LastTransformer.TrainingSettings["HiddenSize"]);
            Assert.IsFalse(log.Any(m => m.Contains("Measured", StringComparison.Ordinal)));
        }

        // *** The thread tuner ***

        private static readonly TimeSpan Second = TimeSpan.FromSeconds(1);

        /// <summary>Feeds the tuner <paramref name="batches"/> batches of 100 items, each taking <paramref name="seconds"/>, from <paramref name="now"/>; returns the clock after them and the messages.</summary>
        private static (TimeSpan Now, List<string> Messages) Run(ThreadTuner tuner, TimeSpan now, int batches, double seconds)
        {
            var messages = new List<string>();
            for (int i = 0; i < batches; i++)
            {
                now += TimeSpan.FromSeconds(seconds);
                if (tuner.AfterBatch(100, now) is string message)
                    messages.Add(message);
            }
            return (now, messages);
        }

        /// <summary>A tuner from 2 threads after its first window of <paramref name="batches"/> batches of <paramref name="seconds"/>, which pays for set-up and decides nothing.</summary>
        private static ThreadTuner Warmed(List<int> applied, int batches = 2, double seconds = 0.25)
        {
            var tuner = new ThreadTuner(2, 2, applied.Add, "token", TimeSpan.Zero);
            Assert.HasCount(0, Run(tuner, TimeSpan.Zero, batches, seconds).Messages);
            Assert.AreEqual(2, tuner.Current, "the first window decides nothing");
            return tuner;
        }

        /// <summary>The clock after <see cref="Warmed"/>'s window.</summary>
        private static readonly TimeSpan Warm = TimeSpan.FromSeconds(0.5);

        [TestMethod]
        public void TheTunerMeasuresBothCountsAndKeepsTheFaster()
        {
            var applied = new List<int>();
            var tuner = Warmed(applied);
            // A window at 2 threads: 2 batches of 100 tokens in 0.5 s, 400 tokens/s.
            var (now, messages) = Run(tuner, Warm, 2, 0.25);
            Assert.HasCount(0, messages);
            Assert.AreEqual(1, tuner.Current, "then the other count is measured");
            // A window at 1 thread: 5 batches in 0.5 s, 1,000 tokens/s: 2.5 times as fast, clear even while the network warms up.
            (now, messages) = Run(tuner, now, 5, 0.1);
            CollectionAssert.AreEqual(new[] { "Threads at 1.5 s 2 threads 400 tokens/s, 1 thread 1,000 tokens/s: switched to 1." }, messages);
            Assert.AreEqual(1, tuner.Current);
            CollectionAssert.AreEqual(new[] { 2, 1 }, applied);
            Assert.AreEqual("at 1.5 s 2 threads 400 tokens/s, 1 thread 1,000 tokens/s: switched to 1", tuner.Summary);
        }

        [TestMethod]
        public void DuringTheWarmUpOnlyAClearDifferenceSwitchesAndTheDecisionIsMeasuredAgainAfterIt()
        {
            var applied = new List<int>();
            var tuner = Warmed(applied);
            var (now, _) = Run(tuner, Warm, 2, 0.25);                    // 400 tokens/s at 2
            (now, var messages) = Run(tuner, now, 3, 0.1786);             // 560 tokens/s at 1: 1.4 times, below the warm-up's 1.5
            Assert.AreEqual("Threads at 1.5 s 2 threads 400 tokens/s, 1 thread 560 tokens/s: kept 2.", messages.Single());
            (now, messages) = Run(tuner, now, 14, 0.25);                 // windows at 2 until one ends after the warm-up's 5 s
            Assert.HasCount(0, messages);
            CollectionAssert.AreEqual(new[] { 2, 1, 2, 1 }, applied, "measured at 1 thread again once the warm-up is over");
            (_, messages) = Run(tuner, now, 3, 0.1786);                  // 560 tokens/s at 1 again: now enough
            StringAssert.EndsWith(messages.Single(), "2 threads 400 tokens/s, 1 thread 560 tokens/s: switched to 1.");
        }

        [TestMethod]
        public void AfterTheWarmUpTheOtherCountMustBeFivePercentFaster()
        {
            var applied = new List<int>();
            var tuner = Warmed(applied);
            var (now, _) = Run(tuner, Warm, 2, 0.25);                    // 400 tokens/s at 2
            (now, _) = Run(tuner, now, 2, 0.25);                          // 400 at 1: kept 2, provisionally
            (now, _) = Run(tuner, now, 14, 0.25);                         // 5.0 s: the warm-up is over, 1 thread is measured again
            Assert.AreEqual(1, tuner.Current);
            var (_, messages) = Run(tuner, now, 3, 0.2439);               // 410 tokens/s at 1: within the margin
            Assert.AreEqual("Threads at 5.7 s 2 threads 400 tokens/s, 1 thread 410 tokens/s: kept 2.", messages.Single());
            CollectionAssert.AreEqual(new[] { 2, 1, 2, 1, 2 }, applied);
        }

        [TestMethod]
        public void TheDecisionIsMeasuredAgainAfterThirtySeconds()
        {
            var applied = new List<int>();
            var tuner = Warmed(applied);
            var (now, _) = Run(tuner, Warm, 2, 0.25);
            (now, _) = Run(tuner, now, 5, 0.1);                            // switched to 1 at 1.5 s, provisionally
            (now, _) = Run(tuner, now, 35, 0.1);                           // 5.0 s: the warm-up is over, 2 is measured again
            (now, var messages) = Run(tuner, now, 2, 0.25);               // 400 at 2: kept 1 at 5.5 s
            Assert.AreEqual("Threads at 5.5 s 1 thread 1,000 tokens/s, 2 threads 400 tokens/s: kept 1.", messages.Single());
            (now, messages) = Run(tuner, now, 280, 0.1);                  // 28 s of steady windows at 1 thread
            Assert.HasCount(0, messages);
            CollectionAssert.AreEqual(new[] { 2, 1, 2, 1 }, applied, "no measurement of 2 within 30 s of the decision");
            (now, _) = Run(tuner, now, 19, 0.1);                          // 35.4 s: the window ending at 35.0 s is 29.5 s after the decision
            CollectionAssert.AreEqual(new[] { 2, 1, 2, 1 }, applied);
            (now, _) = Run(tuner, now, 1, 0.1);                           // 35.5 s: 30 s after it, so 2 is measured
            Assert.AreEqual(2, applied[^1]);
            (_, messages) = Run(tuner, now, 2, 0.25);                     // still 400 tokens/s at 2
            CollectionAssert.AreEqual(new[] { "Threads at 36.0 s 1 thread 1,000 tokens/s, 2 threads 400 tokens/s: kept 1." }, messages);
        }

        [TestMethod]
        public void AWindowAtHalfTheSpeedMeasuresTheOtherCountAtOnce()
        {
            var applied = new List<int>();
            var tuner = Warmed(applied, 5, 0.1);
            var (now, _) = Run(tuner, Warm, 5, 0.1);                     // 1,000 tokens/s at 2
            (now, _) = Run(tuner, now, 2, 0.25);                          // 400 at 1: kept 2
            (now, _) = Run(tuner, now, 5, 0.1);                           // a steady window at 1,000
            CollectionAssert.AreEqual(new[] { 2, 1, 2 }, applied);
            (now, _) = Run(tuner, now, 2, 0.4);                           // 250 tokens/s: below half of 1,000
            Assert.AreEqual(1, applied[^1], "the slowdown measures 1 thread without waiting 30 s");
            var (_, messages) = Run(tuner, now, 2, 0.25);                 // 400 at 1 beats 250 at 2 by more than 1.5
            StringAssert.EndsWith(messages.Single(), "2 threads 250 tokens/s, 1 thread 400 tokens/s: switched to 1.");
        }

        [TestMethod]
        public void MeasuringTheOtherCountTakesOneBatchWhenItOutlastsTheWindow()
        {
            var applied = new List<int>();
            var tuner = Warmed(applied);
            var (now, _) = Run(tuner, Warm, 2, 0.25);                    // 400 tokens/s at 2
            var (_, messages) = Run(tuner, now, 1, 4);                    // one batch of 4 s at 1 thread: 25 tokens/s
            Assert.AreEqual("Threads at 5.0 s 2 threads 400 tokens/s, 1 thread 25 tokens/s: kept 2.", messages.Single());
            CollectionAssert.AreEqual(new[] { 2, 1, 2 }, applied);
        }

        [TestMethod]
        public void TimeThatWasNotTrainingIsLeftOutOfTheWindow()
        {
            var applied = new List<int>();
            var tuner = Warmed(applied);
            var (now, _) = Run(tuner, Warm, 1, 0.25);
            // Ten seconds of validation, left out: the window is 2 batches in 0.5 s of training, 400 tokens/s, not 200 in 10.5 s.
            tuner.Exclude(TimeSpan.FromSeconds(10));
            (now, _) = Run(tuner, now + TimeSpan.FromSeconds(10), 1, 0.25);
            Assert.AreEqual(1, tuner.Current, "the window at 2 threads ended");
            var (_, messages) = Run(tuner, now, 2, 0.25);
            CollectionAssert.AreEqual(new[] { "Threads at 11.5 s 2 threads 400 tokens/s, 1 thread 400 tokens/s: kept 2." }, messages);
        }

        [TestMethod]
        public void ATunerNeedsMoreThanOneDefaultThread()
        {
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => new ThreadTuner(1, 1, _ => { }, "token", TimeSpan.Zero));
            Assert.AreEqual("defaultCount", e.ParamName);
        }

        // *** Fit tunes the threads ***

        /// <summary>
        /// Trains with the thread count left automatic (from a default of 2) on a fake clock on which a reading takes
        /// <paramref name="oneThread"/> at one thread and <paramref name="twoThreads"/> at two: the speeds the tuner measures.
        /// </summary>
        private static (RecurrentLanguageModelTransformer Model, string[] Log, int After) TrainWithThreads(TimeSpan oneThread, TimeSpan twoThreads)
        {
            int original = TorchSharp.torch.get_num_threads();
            try
            {
                TorchSharp.torch.set_num_threads(2);
                // 620 batches: a window of 0.5 s is 42 to 167 of them on this clock, and the tuner needs three.
                var options = SmallOptions(epochs: 20);
                options.NumberOfThreads = null;
                options.TimeProvider = new SteppingClock(TimeSpan.Zero) { StepFor = () => TorchSharp.torch.get_num_threads() == 1 ? oneThread : twoThreads };
                var log = new ConcurrentQueue<string>();
                var ml = new MLContext(seed: 1);
                ml.Log += (_, e) => log.Enqueue(e.Message);
                var model = Fit(ml, options, Text).LastTransformer;
                return (model, log.ToArray(), TorchSharp.torch.get_num_threads());
            }
            finally
            {
                TorchSharp.torch.set_num_threads(original);
            }
        }

        [TestMethod]
        public void WhenOneThreadTrainsFasterTrainingSwitchesToItAndSaysSo()
        {
            var (model, log, after) = TrainWithThreads(oneThread: TimeSpan.FromMilliseconds(1), twoThreads: TimeSpan.FromMilliseconds(4));
            string setting = model.TrainingSettings["NumberOfThreads"];
            Assert.StartsWith("2 or 1 (automatic: at ", setting);
            Assert.Contains(": switched to 1", setting);
            Assert.IsTrue(log.Any(m => Regex.IsMatch(m, @"Threads at [\d.]+ s 2 threads [\d,]+ tokens/s, 1 thread [\d,]+ tokens/s: switched to 1\.$")), string.Join("\n", log));
            Assert.AreEqual(2, after, "the count found before training is back after it");
        }

        [TestMethod]
        public void WhenTheDefaultCountTrainsFasterTrainingKeepsIt()
        {
            var (model, _, after) = TrainWithThreads(oneThread: TimeSpan.FromMilliseconds(4), twoThreads: TimeSpan.FromMilliseconds(1));
            string setting = model.TrainingSettings["NumberOfThreads"];
            Assert.Contains(": kept 2", setting);
            Assert.DoesNotContain("switched", setting);
            Assert.AreEqual(2, after);
        }

        // *** The time budget holds ***

        [TestMethod]
        public void AValidationThatWouldOverrunTheBudgetScoresAPrefixAndSaysHowMuch()
        {
            var ml = new MLContext(seed: 1);
            var options = SmallOptions(epochs: 50);
            options.TimeBudget = TimeSpan.FromSeconds(2);
            options.EarlyStoppingPatience = 2;
            options.TimeProvider = new SteppingClock(TimeSpan.FromMilliseconds(5));
            // 28,000 characters of validation text: 700 chunks of 10 steps, one clock reading each, 3.5 s on this clock.
            var tokenizer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, Text));
            options.ValidationData = tokenizer.Transform(TestData.Texts(ml, Enumerable.Repeat(PeriodicText(1000), 4)));
            var log = new ConcurrentQueue<string>();
            ml.Log += (_, e) => log.Enqueue(e.Message);
            var model = Pipeline(ml, options).Fit(TestData.Texts(ml, Text)).LastTransformer;

            var last = model.TrainingHistory[^1];
            Assert.IsTrue(last.ValidationFraction is > 0 and < 1, $"fraction {last.ValidationFraction}");
            Assert.IsNotNull(last.ValidationLoss);
            Assert.IsNull(last.ValidationStreamLoss, "the stream loss of a cut validation is left out");
            // The budget, and the last chunk's reading and the epoch's record after it.
            Assert.IsLessThanOrEqualTo(2.0 + 0.05, last.Elapsed.TotalSeconds);
            string percent = (last.ValidationFraction * 100).ToString("0.0", CultureInfo.InvariantCulture) + "%";
            Assert.IsTrue(log.Any(m => m.Contains($"(validation scored {percent} of the validation data before the time budget ended)", StringComparison.Ordinal)), string.Join("\n", log));

            string zip = Save(ml, model, System.IO.Path.Combine(TestData.TempDirectory(nameof(AValidationThatWouldOverrunTheBudgetScoresAPrefixAndSaysHowMuch)), "model.zip"));
            var loaded = (RecurrentLanguageModelTransformer)new MLContext().Model.Load(zip, out _);
            CollectionAssert.AreEqual(model.TrainingHistory.Select(m => m.ValidationFraction).ToArray(), loaded.TrainingHistory.Select(m => m.ValidationFraction).ToArray(),
                "the fraction is saved with the history");
        }

        [TestMethod]
        public void AWholeValidationCoversAllOfTheValidationData()
        {
            var history = Fit(new MLContext(seed: 1), SmallOptions(epochs: 2), Text).LastTransformer.TrainingHistory;
            CollectionAssert.AreEqual(new[] { 1.0, 1.0 }, history.Select(m => m.ValidationFraction).ToArray());
            Assert.IsTrue(history.All(m => m.ValidationStreamLoss is not null));
        }
    }
}
