using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Samples
{
    /// <summary>A recurrent text classifier: which corpus (Moby-Dick in English, Song ci in Chinese) a line comes from.</summary>
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
            Line[] Lines(string file, string source, int minimum) => File.ReadLines(Path.Combine(options.CacheDirectory, file))
                .Where(l => l.Length >= minimum).Take(1000).Select(l => new Line { Text = l, Source = source }).ToArray();
            var lines = Lines("moby-dick.txt", "Moby-Dick", 10).Zip(Lines("songci.txt", "Song ci", 5), (a, b) => new[] { a, b }).SelectMany(p => p).ToArray();
            var ml = new MLContext(seed: options.Seed);
            ProgressBar.ShowTrainingLog(ml);
            var split = ml.Data.TrainTestSplit(ml.Data.LoadFromEnumerable(lines), testFraction: 0.3, seed: options.Seed);
            var pipeline = ml.Transforms.Text.TokenizeIntoCharacterIds("Tokens", "Text")
                .Append(ml.Transforms.Conversion.MapValueToKey("Label", "Source"))
                .Append(ml.MulticlassClassification.Trainers.Recurrent(new RecurrentClassificationTrainer.Options { Cell = options.Cell, HiddenSize = 32, Epochs = 3, Bidirectional = true }))
                .Append(ml.Transforms.Conversion.MapKeyToValue("PredictedSource", "PredictedLabel"));
            var model = pipeline.Fit(split.TrainSet);
            var metrics = ml.MulticlassClassification.Evaluate(model.Transform(split.TestSet));
            Console.WriteLine($"Held-out accuracy {metrics.MicroAccuracy:F3}, log-loss {metrics.LogLoss:F4}\n{metrics.ConfusionMatrix.GetFormattedConfusionTable()}");
            using var engine = ml.Model.CreatePredictionEngine<Line, Predicted>(model);
            foreach (var text in new[] { "Call me Ishmael.", "明月几时有", "The sea 与 the sky" })
                Console.WriteLine($"{text} → {engine.Predict(new Line { Text = text }).PredictedSource}");
        }
    }
}
