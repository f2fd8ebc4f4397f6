using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>The training options do what they say: sampling and input encodings, early stopping, checkpoints, callbacks, time budget, log and cancellation.</summary>
    [TestClass]
    public sealed class LanguageModelTrainingOptionsTests
    {
        private static readonly string Text = PeriodicText(60);

        private static string Describe(IEnumerable<EpochMetrics> history, bool withRate = false)
            => string.Join("; ", history.Select(m => $"{m.Epoch}: train {m.TrainingLoss:G6}, validation {m.ValidationLoss:G6}" + (withRate ? $", learning rate {m.LearningRate:G6}" : "")));

        private static void AssertLearnedThePeriod(MLContext ml, TransformerChain<RecurrentLanguageModelTransformer> model)
        {
            var history = model.LastTransformer.TrainingHistory;
            Assert.IsLessThan(1.1, history[^1].ValidationPerplexity!.Value, Describe(history));
            Assert.AreEqual("defgabcdefgabcdefgab", Generate(ml, model, "abc"), "greedy generation (20 tokens) continues the period");
        }

        [TestMethod]
        public void RandomWindowSamplingLearnsThePeriodicSequence()
        {
            var ml = new MLContext(seed: 1);
            var options = SmallOptions(epochs: 8);
            options.BatchSampling = BatchSampling.RandomWindows;
            AssertLearnedThePeriod(ml, Fit(ml, options, Text));
        }

        [TestMethod]
        public void EmbeddingInputLearnsThePeriodicSequence()
        {
            var ml = new MLContext(seed: 1);
            var options = SmallOptions(epochs: 8);
            options.InputEncoding = TokenInputEncoding.Embedding;
            options.EmbeddingSize = 8;
            var model = Fit(ml, options, Text);
            // 9 tokens × 8 embedding dimensions, LSTM 4 × 16 × (8 inputs + 16 recurrent + 2 biases), head 9 × (16 + 1).
            Assert.AreEqual(9 * 8 + 4 * 16 * (8 + 16 + 2) + 9 * (16 + 1), model.LastTransformer.ParameterCount);
            AssertLearnedThePeriod(ml, model);
        }

        /// <summary>
        /// A tokenizer, the training text tokenized, and options whose validation text has every third period reversed:
        /// its loss improves while the model learns the letters and most transitions, then worsens as the model grows
        /// sure of the training order (best epoch 4, then 2 epochs without improvement).
        /// </summary>
        private static (ITransformer Tokenizer, IDataView Training, Func<int, int, RecurrentLanguageModelTrainer.Options> Options) EarlyStoppingSetup(MLContext ml)
        {
            var tokenizer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, Text));
            var validation = tokenizer.Transform(TestData.Texts(ml, string.Concat(Enumerable.Range(0, 20).Select(i => i % 3 == 2 ? "gfedcba" : Period))));
            return (tokenizer, tokenizer.Transform(TestData.Texts(ml, Text)), (epochs, patience) =>
            {
                var options = SmallOptions(epochs: epochs);
                options.LearningRate = 0.01;
                options.ValidationData = validation;
                options.EarlyStoppingPatience = patience;
                return options;
            });
        }

        [TestMethod]
        public void EarlyStoppingStopsWhenValidationStopsImprovingAndKeepsTheBestWeights()
        {
            var ml = new MLContext(seed: 1);
            var (tokenizer, training, makeOptions) = EarlyStoppingSetup(ml);
            var messages = new ConcurrentQueue<string>();
            ml.Log += (_, e) => messages.Enqueue(e.Message);

            var stopped = ml.Transforms.Text.RecurrentLanguageModel(makeOptions(30, 2)).Fit(training);
            var history = stopped.TrainingHistory;
            var best = history.MinBy(m => m.ValidationLoss!.Value)!;
            Assert.IsLessThan(30, history.Count, $"early stopping should end training before the 30 epochs: {Describe(history)}");
            Assert.AreEqual(best.Epoch + 2, history.Count, $"training stops after 2 epochs without improvement on epoch {best.Epoch}: {Describe(history)}");
            Assert.IsGreaterThan(1, best.Epoch, $"the validation loss should improve for a while, or restoring the best weights would be trivial: {Describe(history)}");
            Assert.IsTrue(messages.Any(m => m.Contains($"Early stopping") && m.Contains($"keeping epoch {best.Epoch}")), "the log says so");

            // The kept weights are the best epoch's: the same as training exactly that many epochs (training is deterministic).
            var reference = ml.Transforms.Text.RecurrentLanguageModel(makeOptions(best.Epoch, 0)).Fit(training);
            Assert.AreEqual(best.ValidationLoss, reference.TrainingHistory[^1].ValidationLoss, "the reference run ends where the best epoch was");
            string directory = TestData.TempDirectory(nameof(EarlyStoppingStopsWhenValidationStopsImprovingAndKeepsTheBestWeights));
            var stoppedWeights = Weights(Save(ml, tokenizer.Append(stopped), Path.Combine(directory, "stopped.zip")));
            var referenceWeights = Weights(Save(ml, tokenizer.Append(reference), Path.Combine(directory, "reference.zip")));
            CollectionAssert.AreEqual(referenceWeights, stoppedWeights, $"early stopping must restore the weights of epoch {best.Epoch}, not keep those of epoch {history.Count}");
        }

        [TestMethod]
        public void ResumingFromACheckpointContinuesAtTheNextEpoch()
        {
            string directory = TestData.TempDirectory(nameof(ResumingFromACheckpointContinuesAtTheNextEpoch));
            string checkpoint = Path.Combine(directory, "training.ckpt");
            var ml = new MLContext(seed: 1);
            var messages = new ConcurrentQueue<string>();
            ml.Log += (_, e) => messages.Enqueue(e.Message);

            var firstOptions = SmallOptions(epochs: 2);
            firstOptions.CheckpointPath = checkpoint;
            var first = Fit(ml, firstOptions, Text);
            Assert.IsTrue(File.Exists(checkpoint), "a checkpoint is written after every epoch");
            Assert.IsEmpty(Directory.GetFiles(directory, "*.tmp"), "the temporary file is renamed into place");

            var resumedEpochs = new List<int>();
            var resumedOptions = SmallOptions(epochs: 4);
            resumedOptions.CheckpointPath = checkpoint;
            resumedOptions.ResumeFromCheckpoint = true;
            resumedOptions.EpochCompleted = m => resumedEpochs.Add(m.Epoch);
            var resumed = Fit(ml, resumedOptions, Text);

            var history = resumed.LastTransformer.TrainingHistory;
            CollectionAssert.AreEqual(new[] { 1, 2, 3, 4 }, history.Select(m => m.Epoch).ToArray());
            CollectionAssert.AreEqual(new[] { 3, 4 }, resumedEpochs, "only epochs 3 and 4 are trained");
            CollectionAssert.AreEqual(first.LastTransformer.TrainingHistory.ToArray(), history.Take(2).ToArray(), "the checkpoint's history comes first");
            Assert.IsGreaterThanOrEqualTo(history[1].Elapsed, history[2].Elapsed, "elapsed time continues from the checkpoint");
            Assert.IsTrue(messages.Any(m => m.Contains($"Resumed from checkpoint '{checkpoint}' after epoch 2")), "the log says where training resumed");

            // Weights and optimizer state are restored: with a constant learning rate, 2 + 2 epochs are 4 epochs.
            var uninterrupted = Fit(ml, SmallOptions(epochs: 4), Text);
            AssertSameRun(uninterrupted, resumed, Path.Combine(directory, "uninterrupted.zip"), Path.Combine(directory, "resumed.zip"));
        }

        [TestMethod]
        [DataRow(LearningRateSchedule.Constant)]
        [DataRow(LearningRateSchedule.Cosine)]
        public void ResumingAnInterruptedRunEqualsAnUninterruptedRun(LearningRateSchedule schedule)
        {
            string directory = TestData.TempDirectory(nameof(ResumingAnInterruptedRunEqualsAnUninterruptedRun));
            string checkpoint = Path.Combine(directory, "training.ckpt");
            RecurrentLanguageModelTrainer.Options Options()
            {
                var options = SmallOptions(epochs: 4);
                options.LearningRateSchedule = schedule;
                options.CheckpointPath = checkpoint;
                return options;
            }

            // A 4-epoch run stopped after its second epoch (its checkpoint is written before the next epoch notices).
            var interrupted = new MLContext(seed: 1);
            var interruptedOptions = Options();
            interruptedOptions.EpochCompleted = m =>
            {
                if (m.Epoch == 2)
                    CancelExecution(interrupted);
            };
            Assert.ThrowsExactly<OperationCanceledException>(() => Fit(interrupted, interruptedOptions, Text));

            var ml = new MLContext(seed: 1);
            var resumedOptions = Options();
            resumedOptions.ResumeFromCheckpoint = true;
            var resumed = Fit(ml, resumedOptions, Text);

            var uninterruptedOptions = Options();
            uninterruptedOptions.CheckpointPath = null;
            var uninterrupted = Fit(ml, uninterruptedOptions, Text);
            AssertSameRun(uninterrupted, resumed, Path.Combine(directory, "uninterrupted.zip"), Path.Combine(directory, "resumed.zip"));
        }

        [TestMethod]
        [DataRow(2)]
        [DataRow(0)]
        public void ResumingAnInterruptedEarlyStoppingRunEqualsAnUninterruptedRun(int resumedPatience)
        {
            string directory = TestData.TempDirectory(nameof(ResumingAnInterruptedEarlyStoppingRunEqualsAnUninterruptedRun));
            string checkpoint = Path.Combine(directory, "training.ckpt");

            // A run with early stopping stopped after epoch 5: one epoch after the best one, so the best weights are
            // no longer the last ones.
            var interrupted = new MLContext(seed: 1);
            var (_, interruptedTraining, makeInterruptedOptions) = EarlyStoppingSetup(interrupted);
            var interruptedOptions = makeInterruptedOptions(7, 2);
            interruptedOptions.CheckpointPath = checkpoint;
            interruptedOptions.EpochCompleted = m =>
            {
                if (m.Epoch == 5)
                    CancelExecution(interrupted);
            };
            Assert.ThrowsExactly<OperationCanceledException>(() => interrupted.Transforms.Text.RecurrentLanguageModel(interruptedOptions).Fit(interruptedTraining));

            // Resumed with early stopping it stops after epoch 6 with the weights of epoch 4; resumed without, it trains
            // epochs 6 and 7 and keeps the last weights: each as the uninterrupted run with the same options.
            var ml = new MLContext(seed: 1);
            var (tokenizer, training, makeOptions) = EarlyStoppingSetup(ml);
            var resumedOptions = makeOptions(7, resumedPatience);
            resumedOptions.CheckpointPath = checkpoint;
            resumedOptions.ResumeFromCheckpoint = true;
            var resumed = ml.Transforms.Text.RecurrentLanguageModel(resumedOptions).Fit(training);
            var uninterrupted = ml.Transforms.Text.RecurrentLanguageModel(makeOptions(7, resumedPatience)).Fit(training);

            Assert.AreEqual(4, uninterrupted.TrainingHistory.MinBy(m => m.ValidationLoss!.Value)!.Epoch, "the setup's best epoch");
            Assert.HasCount(resumedPatience > 0 ? 6 : 7, resumed.TrainingHistory);
            AssertSameRun(tokenizer.Append(uninterrupted), tokenizer.Append(resumed), Path.Combine(directory, "uninterrupted.zip"), Path.Combine(directory, "resumed.zip"));
        }

        /// <summary>The same losses and learning rates in every epoch, and the same weights.</summary>
        private static void AssertSameRun(ITransformer expected, ITransformer actual, string expectedZip, string actualZip)
        {
            var expectedHistory = LanguageModel(expected).TrainingHistory;
            var actualHistory = LanguageModel(actual).TrainingHistory;
            CollectionAssert.AreEqual(expectedHistory.Select(m => (m.Epoch, m.TrainingLoss, m.ValidationLoss, m.LearningRate)).ToArray(),
                actualHistory.Select(m => (m.Epoch, m.TrainingLoss, m.ValidationLoss, m.LearningRate)).ToArray(),
                $"resumed: {Describe(actualHistory, withRate: true)}; uninterrupted: {Describe(expectedHistory, withRate: true)}");
            var ml = new MLContext(seed: 1);
            CollectionAssert.AreEqual(Weights(Save(ml, expected, expectedZip)), Weights(Save(ml, actual, actualZip)), "the weights must be the same too");
        }

        [TestMethod]
        public void EpochCompletedIsCalledOncePerEpoch()
        {
            var ml = new MLContext(seed: 1);
            var reported = new List<EpochMetrics>();
            var options = SmallOptions(epochs: 5);
            options.EpochCompleted = reported.Add;
            var history = Fit(ml, options, Text).LastTransformer.TrainingHistory;

            CollectionAssert.AreEqual(new[] { 1, 2, 3, 4, 5 }, reported.Select(m => m.Epoch).ToArray());
            CollectionAssert.AreEqual(history.ToArray(), reported, "the callback gets each epoch's metrics, as in the history");
            Assert.IsTrue(reported.All(m => m.ValidationLoss is double v && double.IsFinite(v) && m.ItemsPerSecond > 0 && m.Elapsed > TimeSpan.Zero), Describe(reported));
        }

        [TestMethod]
        public void TimeBudgetStopsTrainingEarly()
        {
            var ml = new MLContext(seed: 1);
            var messages = new ConcurrentQueue<string>();
            ml.Log += (_, e) => messages.Enqueue(e.Message);
            var budget = TimeSpan.FromSeconds(0.5);
            var options = SmallOptions(epochs: 100_000);
            options.TimeBudget = budget;
            // A fake clock that every reading moves on by 1 ms: the budget is the same share of the work on any machine.
            options.TimeProvider = new SteppingClock(TimeSpan.FromMilliseconds(1));

            var clock = Stopwatch.StartNew();
            var history = Fit(ml, options, PeriodicText(100)).LastTransformer.TrainingHistory;
            clock.Stop();

            Assert.IsLessThan(100_000, history.Count);
            Assert.IsLessThanOrEqualTo(budget + TimeSpan.FromMilliseconds(10), history[^1].Elapsed, "the last epoch, validation included, ends within the budget");
            Assert.IsGreaterThanOrEqualTo(budget * 0.85, history[^1].Elapsed, "training stops when the budget is nearly used up, not long before");
            Assert.IsLessThan(TimeSpan.FromSeconds(20), clock.Elapsed, "and Fit returns soon after");
            Assert.IsTrue(messages.Any(m => m.Contains($"Epoch {history.Count}: ") && m.Contains("time budget reached")), "the last epoch's message says why training stopped");
        }

        [TestMethod]
        public void LogReceivesAPerplexityMessagePerEpoch()
        {
            var ml = new MLContext(seed: 1);
            var messages = new ConcurrentQueue<string>();
            ml.Log += (_, e) => messages.Enqueue(e.Message);
            var history = Fit(ml, SmallOptions(epochs: 3), Text).LastTransformer.TrainingHistory;

            var epochMessages = messages.Where(m => m.Contains("perplexity")).ToList();
            Assert.HasCount(3, epochMessages, string.Join("\n", messages));
            for (int i = 0; i < 3; i++)
            {
                StringAssertContains(epochMessages[i], $"Epoch {i + 1}: training loss");
                StringAssertContains(epochMessages[i], $"(perplexity {history[i].TrainingPerplexity:F3},");
                StringAssertContains(epochMessages[i], $"validation loss per document {history[i].ValidationLoss:F4} (perplexity {history[i].ValidationPerplexity:F3},");
                StringAssertContains(epochMessages[i], $"as one stream {history[i].ValidationStreamLoss:F4}");
            }
        }

        private static void StringAssertContains(string value, string fragment)
            => Assert.IsTrue(value.Contains(fragment, StringComparison.Ordinal), $"'{fragment}' should be in: {value}");

        [TestMethod]
        public void CancellingFromTheEpochCallbackStopsTrainingPromptly()
        {
            var ml = new MLContext(seed: 1);
            int completed = 0;
            var options = SmallOptions(epochs: 1000);
            options.EpochCompleted = _ =>
            {
                completed++;
                CancelExecution(ml);
            };

            var clock = Stopwatch.StartNew();
            Assert.ThrowsExactly<OperationCanceledException>(() => Fit(ml, options, Text));
            Assert.AreEqual(1, completed, "no epoch may complete after the cancellation");
            Assert.IsLessThan(TimeSpan.FromSeconds(20), clock.Elapsed);
        }
    }
}
