using System.Collections.Generic;
using System.Linq;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Options of <see cref="Microsoft.ML.PyTorchCatalog.ImportPyTorchRegressor"/>: a forecaster that reads a window of feature
    /// vectors (<c>nn.LSTM(input_size=FeaturesPerStep, …)</c>) and maps the last step's hidden state through a linear
    /// head to the next value(s).
    /// </summary>
    public sealed class PyTorchRegressorImportOptions : PyTorchImportOptions
    {
        /// <summary>The window column: a known-size vector of Single, step-major (WindowLength × FeaturesPerStep). Default "Features".</summary>
        public string FeatureColumnName { get; set; } = "Features";

        /// <summary>The recurrent module's <c>input_size</c>: features per time step. Default 1.</summary>
        public int FeaturesPerStep { get; set; } = 1;

        /// <summary>Time steps per window. Required; 1 to 1,048,576.</summary>
        public int WindowLength { get; set; }

        /// <summary>The head's <c>out_features</c>: values predicted per window. Default 1.</summary>
        public int Horizon { get; set; } = 1;

        /// <summary>
        /// Per feature, what the PyTorch model subtracted from its inputs before it read them (and <see cref="FeatureStandardDeviation"/>
        /// what it divided them by); null for none. Default null.
        /// </summary>
        public IReadOnlyList<float>? FeatureMean { get; set; }

        /// <summary>Per feature, what the PyTorch model divided its (centred) inputs by; null for 1. Default null.</summary>
        public IReadOnlyList<float>? FeatureStandardDeviation { get; set; }

        /// <summary>Per predicted value, the mean the PyTorch model's outputs are to be shifted by (output × deviation + mean); null for 0. Default null.</summary>
        public IReadOnlyList<float>? LabelMean { get; set; }

        /// <summary>Per predicted value, the scale of the PyTorch model's outputs; null for 1. Default null.</summary>
        public IReadOnlyList<float>? LabelStandardDeviation { get; set; }

        /// <summary>The output column. Default "Score".</summary>
        public string ScoreColumnName { get; set; } = "Score";

        internal override void Validate()
        {
            base.Validate();
            Require(!string.IsNullOrWhiteSpace(FeatureColumnName), nameof(FeatureColumnName), FeatureColumnName, "the name of the window column");
            Require(FeaturesPerStep >= 1 && FeaturesPerStep <= RecurrentArchitecture.MaximumWidth, nameof(FeaturesPerStep), FeaturesPerStep, $"the input_size of the PyTorch network, 1 to {RecurrentArchitecture.MaximumWidth}");
            Require(WindowLength >= 1 && WindowLength <= 1 << 20, nameof(WindowLength), WindowLength, $"the number of time steps per window, 1 to {1 << 20}");
            Require(Horizon >= 1 && Horizon <= Vocabulary.MaximumSize, nameof(Horizon), Horizon, "the out_features of the PyTorch head, at least 1");
            CheckScale(FeatureMean, nameof(FeatureMean), FeaturesPerStep, deviation: false);
            CheckScale(FeatureStandardDeviation, nameof(FeatureStandardDeviation), FeaturesPerStep, deviation: true);
            CheckScale(LabelMean, nameof(LabelMean), Horizon, deviation: false);
            CheckScale(LabelStandardDeviation, nameof(LabelStandardDeviation), Horizon, deviation: true);
            Require(!string.IsNullOrWhiteSpace(ScoreColumnName), nameof(ScoreColumnName), ScoreColumnName, "the name of the output column");
        }

        private static void CheckScale(IReadOnlyList<float>? values, string option, int width, bool deviation)
            => Require(values is null || (values.Count == width && values.All(v => float.IsFinite(v) && (!deviation || v > 0))), option, values is null ? null : $"{values.Count} values",
                $"null, or {width} finite{(deviation ? " positive" : "")} values (one per {(option.StartsWith("Feature", System.StringComparison.Ordinal) ? "feature" : "predicted value")})");

        internal RegressionScaling Scaling => new(
            new Standardization(FeatureMean?.ToArray() ?? new float[FeaturesPerStep], FeatureStandardDeviation?.ToArray() ?? Enumerable.Repeat(1f, FeaturesPerStep).ToArray()),
            new Standardization(LabelMean?.ToArray() ?? new float[Horizon], LabelStandardDeviation?.ToArray() ?? Enumerable.Repeat(1f, Horizon).ToArray()));
    }
}
