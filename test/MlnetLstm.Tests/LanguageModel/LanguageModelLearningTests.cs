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
        [DataRow(RecurrentCell.Lstm)]
        [DataRow(RecurrentCell.Gru)]
        public void LearnsPeriodicSequence(RecurrentCell cell)
        {
            var ml = new MLContext(seed: 1);
            var text = string.Concat(Enumerable.Repeat("abcdefg", 300));
            var data = TestData.Texts(ml, text);
            var pipeline = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Text.RecurrentLanguageModel(new RecurrentLanguageModelTrainer.Options
                {
                    Cell = cell,
                    HiddenSize = 32,
                    Epochs = 20,
                    BatchSize = 8,
                    SequenceLength = 20,
                    Optimizer = Optimizer.Adam,
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
