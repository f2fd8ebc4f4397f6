using System;
using System.Linq;
using Microsoft.ML;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.ModelRunner;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    [TestClass]
    public sealed class SequenceRegressionTests
    {
        [TestMethod]
        public void SineNextValueMseBelowOneThousandth()
        {
            // Seed 003: an RNN predicts the next value of a sine wave from the previous 19 (MSE loss, Adam).
            var ml = new MLContext(seed: 1);
            var series = Enumerable.Range(0, 1200).Select(t => (float)Math.Sin(t * 0.5263)).ToArray();
            var train = ml.Data.FromSeries(series[..1000], windowSize: 19);
            var test = ml.Data.FromSeries(series[1000..], windowSize: 19);
            var model = ml.Regression.Trainers.Recurrent(new RecurrentRegressionTrainer.Options
            {
                Cell = RecurrentCell.RnnTanh,
                HiddenSize = 16,
                Epochs = 8,
                LearningRate = 0.01,
                Seed = 1,
            }).Fit(train);
            var metrics = ml.Regression.Evaluate(model.Transform(test));
            Console.WriteLine($"sine test MSE {metrics.MeanSquaredError:E3}");
            Assert.IsTrue(metrics.MeanSquaredError < 1e-3, $"held-out MSE {metrics.MeanSquaredError}");
        }

        [TestMethod]
        public void SunspotForecastBeatsNaiveLastValue()
        {
            var ml = new MLContext(seed: 1);
            var sunspots = TestData.Sunspots();
            var values = sunspots.Select(s => s.Value).ToArray();
            const int window = 22, testYears = 30;
            int testStart = values.Length - testYears;
            var train = ml.Data.FromSeries(values[..testStart], window);
            // One-step-ahead forecasts for each of the last 30 years, from the actual values before it.
            var test = ml.Data.FromSeries(values[(testStart - window)..], window);
            var model = ml.Regression.Trainers.Recurrent(new RecurrentRegressionTrainer.Options
            {
                HiddenSize = 32,
                Epochs = 150,
                LearningRate = 0.005,
                Loss = RegressionLoss.Huber,
                ValidationFraction = 0,
                Seed = 2,
            }).Fit(train);
            var predictions = ml.Data.CreateEnumerable<RegressionOutput>(model.Transform(test), reuseRowObject: false).Select(p => p.Score).ToArray();
            Assert.AreEqual(testYears, predictions.Length);

            double modelMae = Enumerable.Range(0, testYears).Average(i => Math.Abs(predictions[i] - values[testStart + i]));
            double naiveMae = Enumerable.Range(0, testYears).Average(i => Math.Abs(values[testStart + i - 1] - values[testStart + i]));
            double seasonalMae = Enumerable.Range(0, testYears).Average(i => Math.Abs(values[testStart + i - 11] - values[testStart + i]));
            Console.WriteLine($"sunspots {sunspots[testStart].Year}-{sunspots[^1].Year} MAE: model {modelMae:F2}, naive last value {naiveMae:F2}, seasonal naive (11 y) {seasonalMae:F2}");
            Assert.IsTrue(modelMae < naiveMae, $"model MAE {modelMae:F2} vs naive {naiveMae:F2}");
        }
    }
}
