using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Samples
{
    /// <summary>A recurrent text classifier: which corpus (Moby-Dick in English, Song ci in Chinese) a piece of text comes from.</summary>
    internal static class ClassificationSample
    {
        private sealed class Line
        {
            public string Text { get; set; } = "";

            public string Source { get; set; } = "";
        }

        private sealed class Predicted
        {
            public string Text { get; set; } = "";

            public string PredictedSource { get; set; } = "";
        }

        public static void Run(SampleOptions options)
        {
            // Fragments of 3 to 30 characters cut at random from each corpus, not whole lines: Song ci lines are short
            // and end in "。" while Moby-Dick lines are long, so a classifier of whole lines learns length and
            // punctuation, and then calls a short unpunctuated Chinese phrase such as 明月几时有 English.
            var random = new Random(options.Seed);
            Line[] Fragments(string file, string source)
            {
                string text = string.Join(" ", File.ReadLines(Path.Combine(options.CacheDirectory, file)).Where(l => l.Length > 0).Take(3000));
                return Enumerable.Range(0, 1000).Select(_ =>
                {
                    int length = random.Next(3, 31);
                    return new Line { Text = text.Substring(random.Next(text.Length - length), length).Trim(), Source = source };
                }).Where(l => l.Text.Length >= 2).ToArray();
            }
            var lines = Fragments("moby-dick.txt", "Moby-Dick").Zip(Fragments("songci.txt", "Song ci"), (a, b) => new[] { a, b }).SelectMany(p => p).ToArray();
            var ml = new MLContext(seed: options.Seed);
            ProgressBar.ShowTrainingLog(ml);
            var split = ml.Data.TrainTestSplit(ml.Data.LoadFromEnumerable(lines), testFraction: 0.3, seed: options.Seed);
            var pipeline = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text")
                .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Source"))
                .Append(ml.MulticlassClassification.Trainers.Recurrent(new RecurrentClassificationTrainer.Options { Cell = options.Cell, HiddenSize = 32, Epochs = 3, Bidirectional = true }))
                .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedSource", "PredictedLabel"));
            var model = pipeline.Fit(split.TrainSet);
            var metrics = ml.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
            Console.WriteLine($"Held-out accuracy {metrics.MicroAccuracy:F3}, log-loss {metrics.LogLoss:F4}\n{metrics.ConfusionMatrix.GetFormattedConfusionTable()}");
            using var engine = ml.Model.CreatePredictionEngine<Line, Predicted>(model);
            foreach (var text in new[] { "Call me Ishmael.", "明月几时有", "The whale", "把酒问青天" })
                Console.WriteLine($"{text} → {engine.Predict(new Line { Text = text }).PredictedSource}");
        }
    }
}
