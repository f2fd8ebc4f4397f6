using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using ScottPlot;

namespace MlnetLstm.Samples
{
    /// <summary>Recurrent forecasting: the seed-003 sine wave and yearly sunspots.</summary>
    internal static class ForecastingSamples
    {
        private sealed class Prediction
        {
            public float Score { get; set; }
        }

        /// <summary>Seed 003: an RNN (hidden 16) predicts the next value of a sine wave from the previous 19; plots prediction vs truth.</summary>
        public static void Sine(SampleOptions options)
        {
            var ml = new MLContext(seed: options.Seed);
            ProgressBar.ShowTrainingLog(ml);
            var series = Enumerable.Range(0, 1200).Select(t => (float)Math.Sin(t * 0.5263)).ToArray();
            var model = ml.Regression.Trainers.Recurrent(new RecurrentRegressionTrainer.Options { Cell = RecurrentCell.RnnTanh, HiddenSize = 16, Epochs = 10, LearningRate = 0.01 })
                .Fit(ml.Data.FromSeries(series[..1000], windowSize: 19));
            var test = ml.Data.FromSeries(series[1000..], windowSize: 19);
            var scored = model.Transform(test);
            Console.WriteLine($"Held-out MSE: {ml.Regression.Evaluate(scored).MeanSquaredError:E3}");
            var predicted = ml.Data.CreateEnumerable<Prediction>(scored, false).Select(p => (double)p.Score).ToArray();
            var truth = series[1019..].Select(v => (double)v).ToArray();
            WritePlot("Seed 003: RNN next-value prediction of a sine wave", truth, predicted, Enumerable.Range(1019, truth.Length).Select(t => (double)t).ToArray(),
                "time step", Path.Combine(options.OutputDirectory, "sine-prediction.png"));
        }

        /// <summary>Yearly sunspots 1700–2008: one-step-ahead forecasts of the last 30 years against the naive and 11-year seasonal-naive forecasts.</summary>
        public static void Sunspots(SampleOptions options)
        {
            var lines = File.ReadAllLines(Path.Combine(options.CacheDirectory, "sunspots.csv")).Skip(1).Select(l => l.Split(',')).ToArray();
            var years = lines.Select(f => double.Parse(f[0].Trim('"'), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            var values = lines.Select(f => float.Parse(f[1].Trim('"'), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
            const int window = 22, testYears = 30;
            int testStart = values.Length - testYears;
            var ml = new MLContext(seed: options.Seed);
            ProgressBar.ShowTrainingLog(ml);
            var model = ml.Regression.Trainers.Recurrent(new RecurrentRegressionTrainer.Options
            {
                Cell = options.Cell, HiddenSize = 32, Epochs = 150, LearningRate = 0.005, Loss = RegressionLoss.Huber, ValidationFraction = 0,
            }).Fit(ml.Data.FromSeries(values[..testStart], window));
            var predicted = ml.Data.CreateEnumerable<Prediction>(model.Transform(ml.Data.FromSeries(values[(testStart - window)..], window)), false)
                .Select(p => (double)p.Score).ToArray();
            var truth = values[testStart..].Select(v => (double)v).ToArray();
            double Mae(Func<int, double> forecast) => Enumerable.Range(0, testYears).Average(i => Math.Abs(forecast(i) - truth[i]));
            Console.WriteLine($"Mean absolute error over {years[testStart]:F0}–{years[^1]:F0} (one step ahead):");
            Console.WriteLine($"  recurrent {options.Cell,-7} {Mae(i => predicted[i]),8:F2}");
            Console.WriteLine($"  naive (last value) {Mae(i => values[testStart + i - 1]),8:F2}");
            Console.WriteLine($"  seasonal naive (11 years) {Mae(i => values[testStart + i - 11]),8:F2}");
            WritePlot("Yearly sunspots: one-step-ahead forecasts", truth, predicted, years[testStart..], "year", Path.Combine(options.OutputDirectory, "sunspots-forecast.png"));
        }

        private static void WritePlot(string title, double[] truth, double[] predicted, double[] x, string xLabel, string path)
        {
            Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(path))!);
            var plot = new Plot();
            plot.Add.Scatter(x, truth).LegendText = "truth";
            plot.Add.Scatter(x, predicted).LegendText = "prediction";
            plot.Title(title);
            plot.XLabel(xLabel);
            plot.ShowLegend();
            plot.SavePng(path, 800, 450);
            Console.WriteLine($"Wrote {path}.");
        }
    }
}
