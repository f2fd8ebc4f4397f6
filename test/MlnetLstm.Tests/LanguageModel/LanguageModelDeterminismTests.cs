using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.LanguageModelTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>Training is reproducible: same seed and data give the same weights bit for bit, another seed other weights.</summary>
    [TestClass]
    public sealed class LanguageModelDeterminismTests
    {
        private static readonly string Text = PeriodicText(30);

        private static readonly string[] Prefixes = { "a", "abc", "gfedcba", "ccc", "axb" };

        /// <summary>
        /// Two layers with dropout between them and random-window batches, so that every source of randomness in
        /// training (initial weights, batch order, window offset, dropout masks) is exercised.
        /// </summary>
        private static RecurrentLanguageModelTrainer.Options Options(int? seed)
        {
            var options = SmallOptions(epochs: 3);
            options.Seed = seed;
            options.Layers = 2;
            options.Dropout = 0.3f;
            options.BatchSampling = BatchSampling.RandomWindows;
            return options;
        }

        private static (byte[] Weights, string[] Outputs, TransformerChain<RecurrentLanguageModelTransformer> Model) Train(int? optionSeed, int contextSeed, string directory, string name)
        {
            var ml = new MLContext(seed: contextSeed);
            var model = Fit(ml, Options(optionSeed), Text);
            string zip = Save(ml, model, Path.Combine(directory, name + ".zip"));
            return (Weights(zip), Runner.Predict(ml, model, "lm", Prefixes).ToArray(), model);
        }

        [TestMethod]
        public void SameSeedAndDataGiveIdenticalWeightsAndOutputs()
        {
            string directory = TestData.TempDirectory(nameof(SameSeedAndDataGiveIdenticalWeightsAndOutputs));
            // Different MLContext seeds: with Options.Seed set, nothing may come from the context's random source.
            var first = Train(optionSeed: 11, contextSeed: 1, directory, "first");
            var second = Train(optionSeed: 11, contextSeed: 2, directory, "second");

            Assert.IsGreaterThan(1000, first.Weights.Length, "the weights entry should hold the parameters");
            CollectionAssert.AreEqual(first.Weights, second.Weights, "same seed and data must give the same weights, byte for byte");
            CollectionAssert.AreEqual(first.Outputs, second.Outputs, "same weights must give the same outputs, bit for bit");
            CollectionAssert.AreEqual(
                first.Model.LastTransformer.TrainingHistory.Select(m => (m.TrainingLoss, m.ValidationLoss)).ToArray(),
                second.Model.LastTransformer.TrainingHistory.Select(m => (m.TrainingLoss, m.ValidationLoss)).ToArray(),
                "the per-epoch losses must be the same too");
        }

        [TestMethod]
        public void DifferentSeedGivesDifferentWeights()
        {
            string directory = TestData.TempDirectory(nameof(DifferentSeedGivesDifferentWeights));
            var first = Train(optionSeed: 11, contextSeed: 1, directory, "first");
            var second = Train(optionSeed: 12, contextSeed: 1, directory, "second");

            Assert.AreEqual(first.Weights.Length, second.Weights.Length, "same architecture, same size");
            int differing = first.Weights.Zip(second.Weights).Count(pair => pair.First != pair.Second);
            Assert.IsGreaterThan(first.Weights.Length / 2, differing,
                $"another seed must give other weights almost everywhere; only {differing} of {first.Weights.Length} bytes differ");
            CollectionAssert.AreNotEqual(first.Outputs, second.Outputs, "other weights should give other probabilities");
        }

        [TestMethod]
        public void WithoutOptionSeedTheContextSeedMakesTrainingReproducible()
        {
            string directory = TestData.TempDirectory(nameof(WithoutOptionSeedTheContextSeedMakesTrainingReproducible));
            var first = Train(optionSeed: null, contextSeed: 7, directory, "first");
            var second = Train(optionSeed: null, contextSeed: 7, directory, "second");
            var other = Train(optionSeed: null, contextSeed: 8, directory, "other");

            CollectionAssert.AreEqual(first.Weights, second.Weights, "new MLContext(seed: s) must make training reproducible when Options.Seed is null");
            CollectionAssert.AreEqual(first.Outputs, second.Outputs);
            CollectionAssert.AreNotEqual(first.Weights, other.Weights, "another context seed must draw another training seed");
        }
    }
}
