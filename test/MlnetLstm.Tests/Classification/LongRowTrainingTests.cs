using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Long rows train in bounded memory or are refused before training: a batch of the classifier or the regressor
    /// keeps at most 192 MiB of activations (fewer rows in a batch of long ones), and a row that alone would keep more
    /// is an error naming it and its length. (One classifier row of 1,000,000 characters in a batch of 32 reached
    /// 4.6 GB resident, then asked TorchSharp for 77 GB.)
    /// </summary>
    [TestClass]
    public sealed class LongRowTrainingTests
    {
        private const long MemoryBound = 256L << 20;

        /// <summary>64 short rows of two classes and, last, one long row of <paramref name="length"/> characters.</summary>
        private static IDataView ShortRowsAndOneLong(MLContext ml, int length)
        {
            var random = new Random(1);
            var rows = Enumerable.Range(0, 64).Select(i => new TextWithLanguage { Text = new string(i % 2 == 0 ? 'a' : 'b', 20 + i), Language = i % 2 == 0 ? "a" : "b" })
                .Append(new TextWithLanguage { Text = new string(Enumerable.Range(0, length).Select(_ => "abcdefgh"[random.Next(8)]).ToArray()), Language = "a" });
            return ml.Data.LoadFromEnumerable(rows.ToList());
        }

        private static IEstimator<ITransformer> Classifier(MLContext ml, RecurrentClassificationTrainer.Options options)
            => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Language"))
                .Append(ml.MulticlassClassification.Trainers.Recurrent(options));

        /// <summary>A first small Fit pays for what a process loads once (libtorch, the JIT), which the measurements must not count.</summary>
        private static void WarmUp(MLContext ml)
            => Classifier(ml, new RecurrentClassificationTrainer.Options { HiddenSize = 8, Epochs = 1, Seed = 1, NumberOfThreads = 1 }).Fit(ShortRowsAndOneLong(ml, 10));

        [TestMethod]
        public void AClassifierRowOfAMillionCharactersIsRefusedBeforeTrainingNamingTheRowAndItsLength()
        {
            var ml = new MLContext(seed: 1);
            int epochs = 0;
            var options = new RecurrentClassificationTrainer.Options { BatchSize = 32, HiddenSize = 32, Epochs = 1, Seed = 1, NumberOfThreads = 1, EpochCompleted = _ => epochs++ };
            var data = ShortRowsAndOneLong(ml, 1_000_000);
            InvalidOperationException? e = null;
            long growth = ProcessMemory.PeakGrowthKiB(() => e = Assert.ThrowsExactly<InvalidOperationException>(() => Classifier(ml, options).Fit(data))) * 1024;
            Console.WriteLine($"{e!.Message} (peak resident growth {growth >> 20} MiB)");
            // 192 MiB / (4 bytes × (17 × 32 hidden + 32 embedding)) = 87,381 steps.
            StringAssert.Contains(e.Message, "Row 64 of token column 'Tokens' has 1,000,000 tokens, more than the 87,381 a training row may have at HiddenSize 32, Layers 1");
            StringAssert.Contains(e.Message, "Split long texts into shorter rows");
            StringAssert.Contains(e.Message, "or lower HiddenSize or Layers");
            Assert.AreEqual(0, epochs, "epochs trained");
            Assert.IsLessThan(MemoryBound, growth, "bytes of resident growth before the refusal");
        }

        [TestMethod]
        public void ALongValidationRowIsRefusedNamingValidationData()
        {
            var ml = new MLContext(seed: 1);
            var train = ShortRowsAndOneLong(ml, 10);
            var prepare = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Append(ml.Transforms.Conversion.MapValueToKey("Label", "Language")).Fit(train);
            var options = new RecurrentClassificationTrainer.Options { HiddenSize = 32, Epochs = 1, Seed = 1, NumberOfThreads = 1 };
            options.ValidationData = prepare.Transform(ml.Data.LoadFromEnumerable(new[] { new TextWithLanguage { Text = new string('a', 100_000), Language = "a" } }));
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.MulticlassClassification.Trainers.Recurrent(options).Fit(prepare.Transform(train)));
            StringAssert.Contains(e.Message, "Row 0 of ValidationData's token column 'Tokens' has 100,000 tokens, more than the 87,381");
        }

        [TestMethod]
        public void AClassifierRowNearTheLimitTrainsInABatchOfItsOwnInBoundedMemory()
        {
            // Hidden size 64: 192 MiB / (4 × (17 × 64 + 32)) = 44,938 steps. A row of 40,000 fits alone; padded into a batch
            // of 32 it would keep 32 × 40,000 × 4,480 bytes = 5.7 GB.
            var ml = new MLContext(seed: 1);
            var options = new RecurrentClassificationTrainer.Options { BatchSize = 32, HiddenSize = 64, Epochs = 1, Seed = 1, NumberOfThreads = 1 };
            var data = ShortRowsAndOneLong(ml, 40_000);
            WarmUp(ml);
            ITransformer? model = null;
            long growth = ProcessMemory.PeakGrowthKiB(() => model = Classifier(ml, options).Fit(data)) * 1024;
            Console.WriteLine($"peak resident growth training with a row of 40,000 characters: {growth >> 20} MiB");
            var history = TransformerChains.Flatten(model!).OfType<RecurrentClassificationTransformer>().Single().TrainingHistory;
            Assert.HasCount(1, history);
            Assert.IsTrue(double.IsFinite(history[0].TrainingLoss), $"training loss {history[0].TrainingLoss}");
            Assert.IsLessThan(MemoryBound, growth, "bytes of resident growth while training with a row of 40,000 tokens");
        }

        [TestMethod]
        public void RegressorWindowsTooLongForOneBatchAreRefusedBeforeReading()
        {
            var ml = new MLContext(seed: 1);
            var series = Enumerable.Range(0, 100_002).Select(i => (float)Math.Sin(i / 10.0)).ToArray();
            var options = new RecurrentRegressionTrainer.Options { HiddenSize = 32, Epochs = 1, Seed = 1, NumberOfThreads = 1 };
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => ml.Regression.Trainers.Recurrent(options).Fit(ml.Data.FromSeries(series, windowSize: 100_000)));
            // 192 MiB / (4 × (17 × 32 + 1 feature)) = 92,351 steps.
            StringAssert.Contains(e.Message, "Every window of feature column 'Features' has 100,000 steps, more than the 92,351 a training row may have at HiddenSize 32, Layers 1");
            StringAssert.Contains(e.Message, "Use shorter windows (the windowSize of SequenceWindows.FromSeries)");
        }

        [TestMethod]
        public void LongRegressorWindowsTrainInSmallerBatchesInBoundedMemory()
        {
            // Hidden size 64: 192 MiB / (4 × (17 × 64 + 1)) = 46,218 steps, 4 windows of 10,000 a batch; 32 of them would keep 1.4 GB.
            var ml = new MLContext(seed: 1);
            var series = Enumerable.Range(0, 10_012).Select(i => (float)Math.Sin(i / 10.0)).ToArray();
            var options = new RecurrentRegressionTrainer.Options { BatchSize = 32, HiddenSize = 64, Epochs = 1, Seed = 1, NumberOfThreads = 1 };
            var data = ml.Data.FromSeries(series, windowSize: 10_000);
            WarmUp(ml);
            RecurrentRegressionTransformer? model = null;
            long growth = ProcessMemory.PeakGrowthKiB(() => model = ml.Regression.Trainers.Recurrent(options).Fit(data)) * 1024;
            Console.WriteLine($"peak resident growth training on windows of 10,000 steps: {growth >> 20} MiB");
            Assert.HasCount(1, model!.TrainingHistory);
            Assert.IsLessThan(MemoryBound, growth, "bytes of resident growth while training on windows of 10,000 steps");
        }
    }
}
