using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>A sequence regressor's Score column inside ML.NET's ConvertToOnnx, standardization included.</summary>
    internal static class RegressorOnnx
    {
        /// <summary>
        /// Score = the head on the last step's state, in the label's units: windows [N, steps × features] are
        /// standardized per feature, read time-major, and the head's output is mapped back with the label's mean and deviation.
        /// </summary>
        public static void Save(MlNetOnnxGraph g, NetworkWeights weights, RegressionScaling scaling, string featureColumn, int steps,
            string scoreColumn, DataViewType scoreType, string component)
        {
            var a = weights.Architecture;
            string window = g.Reshape(OnnxTokenInput.Column(g, featureColumn, component), 0, steps, a.InputSize);
            string centred = g.Apply("Sub", new[] { window, g.Initializer("feature_mean", scaling.Features.Mean, new long[] { a.InputSize }) });
            string standardized = g.Apply("Div", new[] { centred, g.Initializer("feature_deviation", scaling.Features.Deviation, new long[] { a.InputSize }) });
            var layers = RecurrentNetworkOnnx.Layers(g, weights, g.Transpose(standardized, 1, 0, 2));
            string value = RecurrentNetworkOnnx.Head(g, RecurrentNetworkOnnx.HeadWeights(g, weights), g.Squeeze(layers.FinalHidden[^1], 0));
            string scaled = g.Apply("Mul", new[] { value, g.Initializer("label_deviation", scaling.Targets.Deviation, new long[] { a.OutputSize }) });
            g.Apply("Add", new[] { scaled, g.Initializer("label_mean", scaling.Targets.Mean, new long[] { a.OutputSize }) }, output: g.AddColumn(scoreColumn, scoreType));
        }
    }
}
