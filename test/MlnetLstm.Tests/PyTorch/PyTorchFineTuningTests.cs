using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using static MlnetLstm.Tests.PyTorchTestKit;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// RecurrentTrainingOptions.InitialModel: training starts from an imported (or any fitted) model's weights, through
    /// the ordinary trainer options, and an initial model of another network or vocabulary is refused before anything
    /// trains, naming the difference.
    /// </summary>
    [TestClass]
    public sealed class PyTorchFineTuningTests
    {
        private static RecurrentLanguageModelTrainer.Options FineTuning(RecurrentTransformerBase? initial) => new()
        {
            HiddenSize = 64,
            Epochs = 1,
            BatchSize = 4,
            SequenceLength = 35,
            ValidationFraction = 0,
            Seed = 1,
            NumberOfThreads = 1,
            InitialModel = initial,
        };

        [TestMethod]
        public void TrainingStartsFromTheImportedWeights()
        {
            var ml = new MLContext(seed: 1);
            var imported = ml.Model.ImportPyTorchLanguageModel(Options(Lstm));
            var tokens = imported.First().Transform(TestData.Texts(ml, TrainingParagraphs()));

            // A step too small to change any weight: the result is the initial model, and the loss of its one epoch is
            // the PyTorch model's on its own training text (perplexity 3.6 at its last epoch), not a fresh network's (about 56).
            var still = FineTuning(imported.LastTransformer);
            still.LearningRate = 1e-30;
            still.GradientClippingNorm = 0;
            var unchanged = ml.Transforms.Text.RecurrentLanguageModel(still).Fit(tokens);
            AssertIdentical(imported.LastTransformer.Trained.Weights.Tensors, unchanged.Trained.Weights.Tensors);
            double startPerplexity = unchanged.TrainingHistory[0].TrainingPerplexity;
            var fresh = ml.Transforms.Text.RecurrentLanguageModel(FineTuning(null)).Fit(tokens);
            Console.WriteLine($"first-epoch training perplexity: from the PyTorch weights {startPerplexity:F2}, from random weights {fresh.TrainingHistory[0].TrainingPerplexity:F2}");
            Assert.IsTrue(startPerplexity < 5, $"perplexity {startPerplexity} from the imported weights");
            Assert.IsTrue(fresh.TrainingHistory[0].TrainingPerplexity > 20, "a fresh network starts near the vocabulary's size");

            // Fine-tuning proper (Adam) moves the weights and keeps the model good.
            var tuning = FineTuning(imported.LastTransformer);
            tuning.Optimizer = Optimizer.Adam;
            tuning.LearningRate = 0.001;
            tuning.Epochs = 2;
            var tuned = ml.Transforms.Text.RecurrentLanguageModel(tuning).Fit(tokens);
            Assert.AreNotEqual(imported.LastTransformer.Trained.Weights.Tensors[1].Values[0], tuned.Trained.Weights.Tensors[1].Values[0]);
            Assert.IsTrue(tuned.TrainingHistory[^1].TrainingPerplexity < 5, $"perplexity {tuned.TrainingHistory[^1].TrainingPerplexity} after fine-tuning");
        }

        [TestMethod]
        public void InitialModelOfAnotherNetworkIsRefusedNamingTheDifference()
        {
            var ml = new MLContext(seed: 1);
            var imported = ml.Model.ImportPyTorchLanguageModel(Options(Lstm));
            var tokens = imported.First().Transform(TestData.Texts(ml, TrainingParagraphs()));
            var options = FineTuning(imported.LastTransformer);
            options.HiddenSize = 32;
            options.Cell = RecurrentCell.Gru;
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Text.RecurrentLanguageModel(options).Fit(tokens));
            Assert.AreEqual("InitialModel", e.ParamName);
            StringAssert.Contains(e.Message, "Option InitialModel is a 1-layer Lstm of hidden size 64 on 56 one-hot tokens with 56 outputs");
            StringAssert.Contains(e.Message, "cell Lstm where training builds Gru (option Cell)");
            StringAssert.Contains(e.Message, "hidden size 64 where training builds 32 (option HiddenSize)");
        }

        [TestMethod]
        public void InitialModelOfAnotherVocabularyIsRefused()
        {
            var ml = new MLContext(seed: 1);
            var imported = ml.Model.ImportPyTorchLanguageModel(Options(Lstm));
            // The same characters, counted on another text, come in another order.
            var paragraphs = TrainingParagraphs();
            var otherTokens = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, paragraphs.Reverse().Select(p => p.ToUpperInvariant()).Concat(paragraphs)))
                .Transform(TestData.Texts(ml, paragraphs));
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Transforms.Text.RecurrentLanguageModel(FineTuning(imported.LastTransformer)).Fit(otherTokens));
            StringAssert.Contains(e.Message, "Option InitialModel reads a vocabulary of 56 tokens, but token column 'Tokens' has");
            StringAssert.Contains(e.Message, "Tokenize the training data with the initial model's own tokenizer");
        }
    }
}
