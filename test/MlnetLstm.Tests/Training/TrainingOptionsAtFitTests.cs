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
    /// Options are checked again when Fit reads them (a user may change the options object after creating the
    /// estimator), NumberOfThreads is bounded and put back after training, and early stopping without validation data
    /// says so on the log.
    /// </summary>
    [TestClass]
    public sealed class TrainingOptionsAtFitTests
    {
        private static readonly string Text = PeriodicText(60);

        private static IDataView Tokenized(MLContext ml, string text)
            => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, text)).Transform(TestData.Texts(ml, text));

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
        [DataRow("NumberOfThreads", "Option NumberOfThreads is 2147483647; it must be 1 to ")]
        [DataRow("CheckpointPath", "Option CheckpointPath is ' '; it must be null for no checkpoints")]
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
                case "NumberOfThreads": options.NumberOfThreads = int.MaxValue; break;
                case "CheckpointPath": options.CheckpointPath = " "; break;
                default: throw new ArgumentOutOfRangeException(nameof(option), option, null);
            }
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => estimator.Fit(Tokenized(ml, Text)));
            Assert.AreEqual(option, e.ParamName);
            Assert.Contains(message, e.Message);
            Assert.IsEmpty(trained);
        }

        // *** Options changed while Fit runs ***

        /// <summary>
        /// An EpochCompleted handler that changes the options after the first epoch: the run goes on with the options
        /// Fit started with. Before, Generation = null threw a NullReferenceException at the end of Fit (losing the
        /// trained model), LearningRate = NaN gave "Training diverged", Epochs = 0 stopped silently and BatchSize = 0
        /// was ignored. The losses are those of the same run without the handler, bit for bit, and the options object
        /// keeps the handler's change for the next Fit.
        /// </summary>
        [TestMethod]
        [DataRow("Generation")]
        [DataRow("LearningRate")]
        [DataRow("Epochs")]
        [DataRow("BatchSize")]
        [DataRow("SequenceLength")]
        public void OptionChangedByTheEpochHandlerDoesNotReachTheRunningFit(string option)
        {
            var undisturbed = Fit(new MLContext(seed: 1), SmallOptions(epochs: 3), Text).LastTransformer;

            var options = SmallOptions(epochs: 3);
            options.EpochCompleted = _ =>
            {
                switch (option)
                {
                    case "Generation": options.Generation = null!; break;
                    case "LearningRate": options.LearningRate = double.NaN; break;
                    case "Epochs": options.Epochs = 0; break;
                    case "BatchSize": options.BatchSize = 0; break;
                    default: options.SequenceLength = 0; break;
                }
            };
            var model = Fit(new MLContext(seed: 1), options, Text).LastTransformer;

            CollectionAssert.AreEqual(undisturbed.TrainingHistory.Select(m => m.TrainingLoss).ToArray(), model.TrainingHistory.Select(m => m.TrainingLoss).ToArray(),
                "all three epochs trained, as without the handler");
            Assert.AreEqual(undisturbed.Generation, model.Generation, "the model keeps the generation options Fit started with");
            Assert.AreEqual(undisturbed.TrainingSettings["LearningRate"], model.TrainingSettings["LearningRate"]);
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => Fit(new MLContext(seed: 1), options, Text), "the next Fit reads the changed options");
            Assert.AreEqual(option, e.ParamName);
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

        /// <summary><paramref name="rows"/> tokenized texts with a keyed label of two classes.</summary>
        private static IDataView Classes(MLContext ml, int rows)
        {
            var data = ml.Data.LoadFromEnumerable(Enumerable.Range(0, rows).Select(i => new TextWithLabel { Text = i % 2 == 0 ? "abab" : "cdcd", Label = i % 2 == 0 ? "x" : "y" }).ToList());
            var keyed = ml.Transforms.Conversion.MapValueToKey("Label").Fit(data).Transform(data);
            return ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(keyed).Transform(keyed);
        }

        // *** NumberOfThreads ***

        [TestMethod]
        [DataRow(0)]
        [DataRow(-1)]
        [DataRow(int.MaxValue)]
        [DataRow(-2)] // Stands for the maximum + 1, which depends on the machine.
        public void NumberOfThreadsOutsideItsRangeIsRejected(int threads)
        {
            int maximum = Math.Max(256, 4 * Environment.ProcessorCount);
            if (threads == -2)
                threads = maximum + 1;
            var ml = new MLContext(seed: 1);
            var options = SmallOptions();
            options.NumberOfThreads = threads;
            var e = Assert.ThrowsExactly<ArgumentOutOfRangeException>(() => ml.Transforms.Text.RecurrentLanguageModel(options));
            Assert.AreEqual("NumberOfThreads", e.ParamName);
            Assert.Contains($"Option NumberOfThreads is {threads}; it must be 1 to {maximum}, or null for TorchSharp's default", e.Message);

            options.NumberOfThreads = maximum;
            Assert.IsNotNull(ml.Transforms.Text.RecurrentLanguageModel(options), "the maximum itself is allowed");
        }

        /// <summary>
        /// More threads than the machine has logical processors are allowed (within the range) but warned about, once
        /// per Fit, naming the count and the processors; as many as it has are not.
        /// </summary>
        [TestMethod]
        public void NumberOfThreadsAboveTheProcessorCountIsWarnedAboutOnce()
        {
            int original = TorchSharp.torch.get_num_threads();
            try
            {
                foreach (int threads in new[] { Environment.ProcessorCount + 1, Environment.ProcessorCount })
                {
                    var ml = new MLContext(seed: 1);
                    var warnings = new ConcurrentQueue<string>();
                    ml.Log += (_, e) =>
                    {
                        if (e.Kind == ChannelMessageKind.Warning && e.Message.Contains("NumberOfThreads", StringComparison.Ordinal))
                            warnings.Enqueue(e.Message);
                    };
                    var options = SmallOptions(epochs: 2);
                    options.NumberOfThreads = threads;
                    Fit(ml, options, Text);
                    if (threads > Environment.ProcessorCount)
                    {
                        Assert.HasCount(1, warnings, string.Join("\n", warnings));
                        Assert.Contains($"NumberOfThreads is {threads}, more than the {Environment.ProcessorCount} logical processors of this machine", warnings.Single());
                        Assert.Contains($"Set at most {Environment.ProcessorCount}, or null to let training measure the faster count.", warnings.Single());
                    }
                    else
                        Assert.IsEmpty(warnings, "as many threads as processors is no mistake");
                }
            }
            finally
            {
                TorchSharp.torch.set_num_threads(original);
            }
        }

        /// <summary>
        /// NumberOfThreads holds during training and the count found before is back after it, whether training
        /// succeeds or fails; without NumberOfThreads training chooses the count and puts back the one it found.
        /// </summary>
        [TestMethod]
        public void TrainingPutsBackTheThreadCountItFound()
        {
            int original = TorchSharp.torch.get_num_threads();
            try
            {
                TorchSharp.torch.set_num_threads(3);
                var ml = new MLContext(seed: 1);
                var during = new List<int>();
                var options = SmallOptions(epochs: 2);
                options.EpochCompleted = _ => during.Add(TorchSharp.torch.get_num_threads());
                Fit(ml, options, Text);
                CollectionAssert.AreEqual(new[] { 1, 1 }, during, "NumberOfThreads = 1 holds while training");
                Assert.AreEqual(3, TorchSharp.torch.get_num_threads(), "the count found before training is back after it");
                Assert.AreEqual(3, OnAFreshThread(), "also for threads that start later, such as those of a scoring pool");

                var failing = SmallOptions(epochs: 2);
                failing.EpochCompleted = _ => throw new InvalidOperationException("The callback fails.");
                var e = Assert.ThrowsExactly<InvalidOperationException>(() => Fit(ml, failing, Text));
                Assert.AreEqual("The callback fails.", e.Message);
                Assert.AreEqual(3, TorchSharp.torch.get_num_threads(), "and after a training that failed");

                during.Clear();
                var unset = SmallOptions(epochs: 1);
                unset.NumberOfThreads = null;
                unset.EpochCompleted = _ => during.Add(TorchSharp.torch.get_num_threads());
                Fit(ml, unset, Text);
                Assert.HasCount(1, during);
                Assert.IsTrue(during[0] is 3 or 1, $"without NumberOfThreads training runs at the process's count or at 1, whichever is faster; it ran at {during[0]}");
                Assert.AreEqual(3, TorchSharp.torch.get_num_threads(), "the count found before automatic training is back after it");
                Assert.AreEqual(3, OnAFreshThread());
            }
            finally
            {
                TorchSharp.torch.set_num_threads(original);
            }
        }

        /// <summary>The thread count a thread that has not used TorchSharp yet starts with: the process-wide value.</summary>
        private static int OnAFreshThread()
        {
            int count = -1;
            var thread = new Thread(() => count = TorchSharp.torch.get_num_threads());
            thread.Start();
            thread.Join();
            return count;
        }

        /// <summary>
        /// Two trainings on threads of their own that overlap, the first to start ending first. OpenMP keeps the count
        /// per thread (a thread that has not used it starts from the process-wide value), so each training must put
        /// back the count on its own thread, and the process-wide value too: the count found by the first, since the
        /// second finds the first's setting. A training that put back the count it found itself would leave 1.
        /// </summary>
        [TestMethod]
        public void OverlappingTrainingsPutBackTheCountFoundByTheFirst()
        {
            int original = TorchSharp.torch.get_num_threads();
            try
            {
                TorchSharp.torch.set_num_threads(3);
                using var secondStarted = new ManualResetEventSlim();
                using var firstDone = new ManualResetEventSlim();
                int firstAfter = -1, secondAfter = -1;
                Exception? firstError = null, secondError = null;
                var first = new Thread(() =>
                {
                    try
                    {
                        var options = SmallOptions(epochs: 1);
                        options.EpochCompleted = _ => Assert.IsTrue(secondStarted.Wait(TimeSpan.FromMinutes(2)), "the second training did not start");
                        Fit(new MLContext(seed: 1), options, Text);
                        firstAfter = TorchSharp.torch.get_num_threads();
                    }
                    catch (Exception e)
                    {
                        firstError = e;
                    }
                    finally
                    {
                        firstDone.Set();
                    }
                });
                var second = new Thread(() =>
                {
                    try
                    {
                        var options = SmallOptions(epochs: 1);
                        options.EpochCompleted = _ =>
                        {
                            secondStarted.Set();
                            Assert.IsTrue(firstDone.Wait(TimeSpan.FromMinutes(2)), "the first training did not end");
                        };
                        Fit(new MLContext(seed: 2), options, Text);
                        secondAfter = TorchSharp.torch.get_num_threads();
                    }
                    catch (Exception e)
                    {
                        secondError = e;
                        secondStarted.Set();
                    }
                });
                first.Start();
                second.Start();
                Assert.IsTrue(first.Join(TimeSpan.FromMinutes(3)) && second.Join(TimeSpan.FromMinutes(3)), "the trainings did not end");
                Assert.IsNull(firstError, firstError?.ToString());
                Assert.IsNull(secondError, secondError?.ToString());
                Assert.AreEqual(3, firstAfter, "the first training's thread has the count back");
                Assert.AreEqual(3, secondAfter, "the second training's thread has the count the first found, not the first's setting");
                Assert.AreEqual(3, OnAFreshThread(), "and so has a thread that starts after both");
            }
            finally
            {
                TorchSharp.torch.set_num_threads(original);
            }
        }

        // *** Early stopping without validation data ***

        private static List<LoggingEventArgs> Log(MLContext ml)
        {
            var log = new List<LoggingEventArgs>();
            ml.Log += (_, e) =>
            {
                lock (log)
                    log.Add(e);
            };
            return log;
        }

        private static void AssertWarnedOnce(List<LoggingEventArgs> log, string reason)
        {
            var warnings = log.Where(e => e.RawMessage.Contains("EarlyStoppingPatience is")).ToList();
            Assert.HasCount(1, warnings, string.Join("\n", log.Select(e => e.Message)));
            Assert.AreEqual(ChannelMessageKind.Warning, warnings[0].Kind);
            Assert.Contains($"EarlyStoppingPatience is 2, but there is no validation data ({reason}): early stopping is off", warnings[0].RawMessage);
            Assert.Contains("Set ValidationData, or a ValidationFraction that leaves validation data, or set EarlyStoppingPatience to 0.", warnings[0].RawMessage);
        }

        [TestMethod]
        [DataRow(0.0, "ValidationData is null and ValidationFraction is 0")]
        [DataRow(0.001, "ValidationFraction 0.001 of the training data leaves nothing to validate on")]
        public void LanguageModelEarlyStoppingWithoutValidationDataWarns(double fraction, string reason)
        {
            var ml = new MLContext(seed: 1);
            var log = Log(ml);
            var options = SmallOptions(epochs: 3);
            options.ValidationFraction = fraction;
            options.EarlyStoppingPatience = 2;
            var history = Fit(ml, options, Text).LastTransformer.TrainingHistory;
            Assert.HasCount(3, history, "every epoch runs");
            Assert.IsTrue(history.All(m => m.ValidationLoss is null));
            AssertWarnedOnce(log, reason);
        }

        [TestMethod]
        public void RegressionEarlyStoppingWithoutValidationDataWarns()
        {
            var ml = new MLContext(seed: 1);
            var log = Log(ml);
            var options = new RecurrentRegressionTrainer.Options { HiddenSize = 4, Epochs = 2, Seed = 1, NumberOfThreads = 1, ValidationFraction = 0, EarlyStoppingPatience = 2 };
            var series = Enumerable.Range(0, 40).Select(i => (float)Math.Sin(i * 0.3)).ToArray();
            Assert.HasCount(2, ml.Regression.Trainers.Recurrent(options).Fit(ml.Data.FromSeries(series, windowSize: 5)).TrainingHistory);
            AssertWarnedOnce(log, "ValidationData is null and ValidationFraction is 0");
        }

        [TestMethod]
        public void ClassificationEarlyStoppingWithEmptyValidationDataWarns()
        {
            var ml = new MLContext(seed: 1);
            var log = Log(ml);
            var data = Classes(ml, 12);
            var options = SmallClassifier();
            options.ValidationData = ml.Data.SkipRows(data, 12); // The same columns, no rows.
            options.EarlyStoppingPatience = 2;
            Assert.HasCount(2, ml.MulticlassClassification.Trainers.Recurrent(options).Fit(data).TrainingHistory);
            AssertWarnedOnce(log, "ValidationData holds nothing to validate on");
        }

        [TestMethod]
        public void EarlyStoppingWithValidationDataDoesNotWarn()
        {
            var ml = new MLContext(seed: 1);
            var log = Log(ml);
            var options = SmallOptions(epochs: 2);
            options.EarlyStoppingPatience = 2;
            var history = Fit(ml, options, Text).LastTransformer.TrainingHistory;
            Assert.IsTrue(history.All(m => m.ValidationLoss is double), "the default ValidationFraction leaves validation data");
            Assert.IsFalse(log.Any(e => e.Kind == ChannelMessageKind.Warning), string.Join("\n", log.Where(e => e.Kind == ChannelMessageKind.Warning).Select(e => e.Message)));
            Assert.IsNotEmpty(log, "the log was listened to");
        }
    }
}
