using System;
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
    /// <summary>
    /// A saved language model, loaded in another process, gives exactly the outputs it gave before saving; and a
    /// loaded model's generation settings can be changed without retraining.
    /// </summary>
    [TestClass]
    public sealed class LanguageModelPersistenceTests
    {

        /// <summary>Short and long prefixes (the last one crosses the scorer's 256-token chunks), with and without unseen characters.</summary>
        private static readonly string[] Inputs = { "a", "abc", "gfedcba", "bbbb", "axb", "défg", PeriodicText(45) + "abc" };

        private static MLContext _ml = null!;
        private static TransformerChain<RecurrentLanguageModelTransformer> _model = null!;
        private static string _directory = null!;

        [ClassInitialize]
        public static void TrainOnce(TestContext context)
        {
            _ml = new MLContext(seed: 1);
            var options = SmallOptions(epochs: 6);
            options.Generation = new GenerationOptions { MaximumNewTokens = 12 };
            _model = Fit(_ml, options, PeriodicText(30));
            _directory = TestData.TempDirectory(nameof(LanguageModelPersistenceTests));
        }

        private static string[] InOtherProcess(string zip)
        {
            string inputs = Path.Combine(_directory, Path.GetFileNameWithoutExtension(zip) + ".inputs.txt");
            File.WriteAllLines(inputs, Inputs);
            return ChildProcess.RunLines(ChildProcess.Timeout, ChildProcess.ModelRunnerDll, zip, "lm", inputs);
        }

        [TestMethod]
        public void GreedyGenerationProbabilitiesAndLikelihoodAreBitIdenticalInAnotherProcess()
        {
            // The model learned the period: the greedy continuation (12 tokens, from the saved options) goes on with it.
            Assert.AreEqual("defgabcdefga", Generate(_ml, _model, "abc"));

            var before = Runner.Predict(_ml, _model, "lm", Inputs).ToArray();
            string zip = Save(_ml, _model, Path.Combine(_directory, "greedy.zip"));
            var after = InOtherProcess(zip);

            Assert.HasCount(Inputs.Length, after, $"one output line per input; the child printed:\n{string.Join("\n", after)}");
            for (int i = 0; i < Inputs.Length; i++)
                Assert.AreEqual(before[i], after[i], $"input {i} ('{Inputs[i][..Math.Min(20, Inputs[i].Length)]}'): outputs (floats as bits) differ after save and load in another process");
        }

        [TestMethod]
        public void SeededSamplingSettingsAreSavedAndReproducedInAnotherProcess()
        {
            var sampling = new GenerationOptions { Greedy = false, Temperature = 2, Seed = 42, StopToken = null, MaximumNewTokens = 15 };
            var model = WithGeneration(_model, sampling);
            var before = Runner.Predict(_ml, model, "lm", Inputs).ToArray();
            Assert.AreNotEqual(Generate(_ml, _model, "abc"), Generate(_ml, model, "abc")[..12],
                "at temperature 2 the sampled continuation should differ from the greedy one, or this test would not show that sampling settings were saved");

            string zip = Save(_ml, model, Path.Combine(_directory, "sampling.zip"));
            var after = InOtherProcess(zip);

            CollectionAssert.AreEqual(before, after, "the saved sampling options (seed included) must reproduce the same continuations in another process");
        }

        [TestMethod]
        public void LoadedModelGenerationCanBeChangedWithoutRetraining()
        {
            string zip = Save(_ml, _model, Path.Combine(_directory, "original.zip"));
            var ml = new MLContext(seed: 2);
            var loaded = ml.Model.Load(zip, out _);
            var loadedModel = LanguageModel(loaded);
            Assert.AreEqual(12, loadedModel.Generation.MaximumNewTokens, "the generation options are saved with the model");
            CollectionAssert.AreEqual(_model.LastTransformer.TrainingHistory.ToArray(), loadedModel.TrainingHistory.ToArray(), "the training history is saved with the model");

            var longer = Predict(ml, loaded, "gfe");
            var shorter = Predict(ml, WithGeneration(loaded, loadedModel.Generation with { MaximumNewTokens = 5 }), "gfe");

            Assert.AreEqual(12, longer.Generated.Length);
            Assert.AreEqual(5, shorter.Generated.Length);
            Assert.AreEqual(longer.Generated[..5], shorter.Generated, "greedy generation of 5 tokens must be the start of the 12-token one");
            Assert.AreEqual(12, loadedModel.Generation.MaximumNewTokens, "WithGeneration returns a new model and leaves the loaded one unchanged");
            Assert.AreEqual(12, Generate(ml, loaded, "gfe").Length);
            CollectionAssert.AreEqual(longer.NextTokenProbabilities.DenseValues().ToArray(), shorter.NextTokenProbabilities.DenseValues().ToArray(),
                "the weights are shared: the probabilities do not change");
            Assert.AreEqual(longer.LogLikelihood, shorter.LogLikelihood);

            // The changed settings are saved with the model.
            string changedZip = Save(ml, WithGeneration(loaded, loadedModel.Generation with { MaximumNewTokens = 5 }), Path.Combine(_directory, "changed.zip"));
            var reloaded = new MLContext(seed: 3).Model.Load(changedZip, out _);
            Assert.AreEqual(shorter.Generated, Generate(ml, reloaded, "gfe"));
        }
    }
}
