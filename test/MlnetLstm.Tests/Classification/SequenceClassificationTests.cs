using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    [TestClass]
    public sealed class SequenceClassificationTests
    {
        private static double Accuracy(MLContext ml, TextWithLanguage[] train, TextWithLanguage[] test, RecurrentClassificationTrainer.Options options)
        {
            var pipeline = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Language"))
                .Append(ml.MulticlassClassification.Trainers.Recurrent(options));
            var model = pipeline.Fit(ml.Data.LoadFromEnumerable(train));
            var metrics = ml.MulticlassClassification.Evaluate(model.Transform(ml.Data.LoadFromEnumerable(test)));
            return metrics.MicroAccuracy;
        }

        [TestMethod]
        public void SeparatesEnglishFromChineseLines()
        {
            var english = File.ReadLines(TestData.Corpus("moby-dick.txt")).Where(l => l.Length >= 10).Take(300).Select(l => new TextWithLanguage { Text = l, Language = "en" });
            var chinese = File.ReadLines(TestData.Corpus("songci.txt")).Where(l => l.Length >= 5).Take(300).Select(l => new TextWithLanguage { Text = l, Language = "zh" });
            var all = english.Zip(chinese, (e, c) => new[] { e, c }).SelectMany(p => p).ToArray();
            var ml = new MLContext(seed: 1);
            double accuracy = Accuracy(ml, all[..400], all[400..], new RecurrentClassificationTrainer.Options { HiddenSize = 16, EmbeddingSize = 8, Epochs = 3, Seed = 1 });
            Console.WriteLine($"English vs Chinese held-out accuracy {accuracy:F3}");
            Assert.IsTrue(accuracy > 0.95, $"accuracy {accuracy}");
        }

        [TestMethod]
        public void BidirectionalBeatsOrTiesUnidirectionalWhenTheAnswerIsAtTheStart()
        {
            // Label: does 'x' occur in the first three of 30 characters? The forward direction must carry that across
            // 27 distracting steps; the backward direction ends at the start, where the answer is.
            var random = new Random(5);
            TextWithLanguage Make()
            {
                var chars = Enumerable.Range(0, 30).Select(_ => "abcdefgh"[random.Next(8)]).ToArray();
                bool marked = random.Next(2) == 1;
                if (marked)
                    chars[random.Next(3)] = 'x';
                else
                    chars[3 + random.Next(27)] = 'x';
                return new TextWithLanguage { Text = new string(chars), Language = marked ? "early" : "late" };
            }
            var train = Enumerable.Range(0, 600).Select(_ => Make()).ToArray();
            var test = Enumerable.Range(0, 200).Select(_ => Make()).ToArray();
            RecurrentClassificationTrainer.Options Options(bool bidirectional) => new()
            {
                Bidirectional = bidirectional, Cell = RecurrentCell.Gru, HiddenSize = 16, EmbeddingSize = 8, Epochs = 4, Seed = 3, ValidationFraction = 0,
            };
            double uni = Accuracy(new MLContext(seed: 1), train, test, Options(false));
            double bi = Accuracy(new MLContext(seed: 1), train, test, Options(true));
            Console.WriteLine($"held-out accuracy: unidirectional {uni:F3}, bidirectional {bi:F3}");
            Assert.IsTrue(bi >= uni, $"bidirectional {bi} < unidirectional {uni}");
            Assert.IsTrue(bi > 0.9, $"bidirectional accuracy {bi}");
        }
    }
}
