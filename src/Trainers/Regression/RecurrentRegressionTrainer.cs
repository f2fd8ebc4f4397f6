using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Trains a recurrent network to forecast: from a window of past values (one or several features per step) to
    /// the next value or the next <c>horizon</c> values. Inputs and targets are standardized with statistics learned
    /// at Fit and saved with the model. The output Score column works with <c>mlContext.Regression.Evaluate</c> (for a
    /// one-step label). Enter it through <see cref="RecurrentCatalog.Recurrent(RegressionCatalog.RegressionTrainers, Options)"/>.
    /// </summary>
    public sealed class RecurrentRegressionTrainer : RecurrentTrainerBase<RecurrentRegressionTrainer.Options, RecurrentRegressionTransformer>
    {
        /// <summary>Options of <see cref="RecurrentRegressionTrainer"/>. Defaults: Adam, 32 hidden units, 100 epochs, constant learning rate.</summary>
        public sealed class Options : RecurrentTrainingOptions
        {
            /// <summary>Creates options with the regression defaults.</summary>
            public Options()
            {
                HiddenSize = 32;
                Epochs = 100;
            }

            /// <summary>The window column: a known-size vector of Single, step-major (steps × <see cref="FeaturesPerStep"/>). Default "Features".</summary>
            public string FeatureColumnName { get; set; } = "Features";

            /// <summary>The label column: a Single (next value) or a known-size vector of Single (the next values). Default "Label".</summary>
            public string LabelColumnName { get; set; } = "Label";

            /// <summary>Features per time step; the window length is the feature column's size divided by it. Default 1.</summary>
            public int FeaturesPerStep { get; set; } = 1;

            /// <summary>The loss on standardized targets. Default squared error.</summary>
            public RegressionLoss Loss { get; set; } = RegressionLoss.SquaredError;

            /// <summary>Huber's δ in standard deviations of the target, for <see cref="RegressionLoss.Huber"/>. Default 1; positive.</summary>
            public double HuberDelta { get; set; } = 1;

            /// <summary>The output column: a Single prediction (or a vector, for a vector label). Default "Score".</summary>
            public string ScoreColumnName { get; set; } = "Score";

            internal override void AddSettings(IDictionary<string, string> settings)
            {
                base.AddSettings(settings);
                settings[nameof(FeaturesPerStep)] = TrainingSettings.Text(FeaturesPerStep);
                settings[nameof(Loss)] = Loss == RegressionLoss.Huber ? $"Huber (delta {TrainingSettings.Text(HuberDelta)})" : Loss.ToString();
            }

            internal override void Validate()
            {
                base.Validate();
                Require(!string.IsNullOrWhiteSpace(FeatureColumnName), nameof(FeatureColumnName), FeatureColumnName, "the name of the window column");
                Require(!string.IsNullOrWhiteSpace(LabelColumnName), nameof(LabelColumnName), LabelColumnName, "the name of the label column");
                Require(FeaturesPerStep >= 1 && FeaturesPerStep <= RecurrentArchitecture.MaximumWidth, nameof(FeaturesPerStep), FeaturesPerStep, $"1 to {RecurrentArchitecture.MaximumWidth}");
                Require(Enum.IsDefined(Loss), nameof(Loss), Loss, "SquaredError or Huber");
                Require(HuberDelta > 0 && double.IsFinite(HuberDelta), nameof(HuberDelta), HuberDelta, "positive");
                Require(!string.IsNullOrWhiteSpace(ScoreColumnName), nameof(ScoreColumnName), ScoreColumnName, "the name of the output column");
            }
        }

        internal RecurrentRegressionTrainer(IHostEnvironment env, Options options)
            : base(env, options, nameof(RecurrentRegressionTrainer))
        {
        }

        /// <summary>Trains on the feature and label columns of <paramref name="input"/>.</summary>
        private protected override RecurrentRegressionTransformer FitCore(IDataView input, Options options, TrainingClock clock)
        {
            var shape = CheckColumns(input.Schema, options);
            var (features, labels) = NumericColumns.ReadAll(input, options.FeatureColumnName, options.LabelColumnName);
            if (features.Count == 0)
                throw new InvalidOperationException($"The training data has no rows. Fit on windows in columns '{options.FeatureColumnName}' and '{options.LabelColumnName}'.");
            int trainRows = features.Count;
            System.Collections.Generic.List<float[]> validationFeatures, validationLabels;
            if (options.ValidationData is { } validationData)
            {
                if (CheckColumns(validationData.Schema, options) != shape)
                    throw new ArgumentOutOfRangeException(nameof(input), "ValidationData's feature or label column has a different size than the training data's.");
                (validationFeatures, validationLabels) = NumericColumns.ReadAll(validationData, options.FeatureColumnName, options.LabelColumnName);
            }
            else
            {
                trainRows = Math.Max(1, (int)(features.Count * (1 - options.ValidationFraction)));
                validationFeatures = features.Skip(trainRows).ToList();
                validationLabels = labels.Skip(trainRows).ToList();
            }

            var scaling = new RegressionScaling(
                Standardization.Learn(features.Take(trainRows).ToArray(), options.FeaturesPerStep),
                Standardization.Learn(labels.Take(trainRows).ToArray(), shape.Horizon));
            var architecture = new RecurrentArchitecture(options.Cell, NetworkInput.Features, options.FeaturesPerStep, 0,
                options.EffectiveHiddenSize, options.Layers, options.Dropout, shape.Horizon);
            var trained = TrainingLoop.Train(Host, options, clock, new[] { architecture }, vocabulary: null, trainRows, OneHotProjection.Auto, network =>
            {
                Tensor Windows(System.Collections.Generic.IEnumerable<float[]> rows) => Standardized(rows.ToList(), scaling.Features, shape.Steps, network.Device);
                Tensor Labels(System.Collections.Generic.IEnumerable<float[]> rows) => Standardized(rows.ToList(), scaling.Targets, null, network.Device);
                return new RegressionObjective(network, Windows(features.Take(trainRows)), Labels(labels.Take(trainRows)),
                    validationFeatures.Count > 0 ? Windows(validationFeatures) : null, validationLabels.Count > 0 ? Labels(validationLabels) : null,
                    options.BatchSize, options.Loss, options.HuberDelta);
            }, $"a sequence regressor on {trainRows:N0} windows of {shape.Steps} steps × {options.FeaturesPerStep} features ({validationFeatures.Count:N0} for validation)");
            return new RecurrentRegressionTransformer(Host, trained, scaling, options.FeatureColumnName, shape.Steps, options.ScoreColumnName);
        }

        /// <summary>Standardized rows as a [rows, steps, features] tensor, or [rows, width] without <paramref name="steps"/>.</summary>
        private static Tensor Standardized(System.Collections.Generic.List<float[]> rows, Standardization standardization, int? steps, Device device)
        {
            int width = standardization.Mean.Length;
            var shape = steps is int s ? new long[] { rows.Count, s, width } : new long[] { rows.Count, width };
            return tensor(rows.SelectMany(row => standardization.Apply(row)).ToArray(), shape, device: device);
        }

        private static (int Steps, int Horizon) CheckColumns(DataViewSchema schema, Options options)
        {
            int size = NumericColumns.Width(schema, options.FeatureColumnName, "Feature", allowScalar: false);
            if (size % options.FeaturesPerStep != 0)
                throw new ArgumentOutOfRangeException(nameof(schema),
                    $"Feature column '{options.FeatureColumnName}' has {size} values, not a whole number of steps of FeaturesPerStep = {options.FeaturesPerStep}. " +
                    "Lay the window out step-major and set FeaturesPerStep to the number of features per step (SequenceWindows.FromSeries does both).");
            return (size / options.FeaturesPerStep, NumericColumns.Width(schema, options.LabelColumnName, "Label", allowScalar: true));
        }

        private protected override SchemaShape OutputSchema(SchemaShape inputSchema)
        {
            if (!inputSchema.TryFindColumn(TrainerOptions.FeatureColumnName, out var features) || features.Kind != SchemaShape.Column.VectorKind.Vector || features.ItemType != NumberDataViewType.Single)
                throw new ArgumentOutOfRangeException(nameof(inputSchema), $"Feature column '{TrainerOptions.FeatureColumnName}' must be in the data as a known-size vector of Single.");
            bool vectorLabel = inputSchema.TryFindColumn(TrainerOptions.LabelColumnName, out var label) && label.Kind == SchemaShape.Column.VectorKind.Vector;
            var result = inputSchema.ToDictionary(c => c.Name);
            result[TrainerOptions.ScoreColumnName] = new SchemaShape.Column(TrainerOptions.ScoreColumnName,
                vectorLabel ? SchemaShape.Column.VectorKind.Vector : SchemaShape.Column.VectorKind.Scalar, NumberDataViewType.Single, false);
            return new SchemaShape(result.Values);
        }
    }
}
