using System.Collections.Generic;
using System.Linq;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using ScottPlot;

namespace MlnetLstm.Samples
{
    /// <summary>Plots training and validation perplexity per epoch to a PNG.</summary>
    internal static class PerplexityPlot
    {
        public static void Write(IReadOnlyList<EpochMetrics> history, string title, string path)
        {
            var plot = new Plot();
            double[] epochs = history.Select(m => (double)m.Epoch).ToArray();
            var training = plot.Add.Scatter(epochs, history.Select(m => m.TrainingPerplexity).ToArray());
            training.LegendText = "training";
            var withValidation = history.Where(m => m.ValidationPerplexity.HasValue).ToList();
            if (withValidation.Count > 0)
            {
                var validation = plot.Add.Scatter(withValidation.Select(m => (double)m.Epoch).ToArray(), withValidation.Select(m => m.ValidationPerplexity!.Value).ToArray());
                validation.LegendText = "validation";
            }
            plot.Title(title);
            plot.XLabel("epoch");
            plot.YLabel("perplexity");
            plot.ShowLegend();
            plot.SavePng(path, 800, 500);
        }
    }
}
