using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    [TestClass]
    public sealed class LanguageModelLearningTests
    {
        [TestMethod]
        [DataRow(RecurrentCellKind.Lstm)]
        [DataRow(RecurrentCellKind.Gru)]
        public void LearnsPeriodicSequence(RecurrentCellKind cell)
        {
            var ml = new MLContext(seed: 1);
            var text = string.Concat(Enumerable.Repeat("abcdefg", 300));
            var data = TestData.Texts(ml, text);
            var pipeline = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
                .Append(ml.Transforms.Text.RecurrentLanguageModel(new RecurrentLanguageModelEstimator.Options
                {
                    Cell = cell,
                    HiddenSize = 32,
                    Epochs = 20,
                    BatchSize = 8,
                    SequenceLength = 20,
                    Optimizer = OptimizerKind.Adam,
                    LearningRate = 0.01,
                    Seed = 3,
                }));
            var started = DateTime.UtcNow;
            var model = pipeline.Fit(data);
            var lm = model.LastTransformer;
            foreach (var m in lm.TrainingHistory)
                Console.WriteLine($"{m.Epoch} train {m.TrainingPerplexity:F4} val {m.ValidationPerplexity:F4} {m.ItemsPerSecond:F0}/s");
            Console.WriteLine($"fit {(DateTime.UtcNow - started).TotalSeconds:F1}s");
            Assert.IsTrue(lm.TrainingHistory[^1].ValidationPerplexity < 1.05, $"validation perplexity {lm.TrainingHistory[^1].ValidationPerplexity}");
        }
    }
}
