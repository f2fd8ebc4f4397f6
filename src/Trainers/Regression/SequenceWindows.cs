using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML.Data;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace Microsoft.ML
{
    /// <summary>Turns a time series into sliding windows for <see cref="RecurrentRegressionTrainer"/>.</summary>
    public static class SequenceWindows
    {
        /// <summary>A window with a one-step label: the past values (step-major) and the next value.</summary>
        internal sealed class Window
        {
            /// <summary>The window, step-major: step 0's features, then step 1's, …</summary>
            public float[] Features { get; set; } = Array.Empty<float>();

            /// <summary>The next value of the target feature.</summary>
            public float Label { get; set; }
        }

        /// <summary>A window with a multi-step label.</summary>
        internal sealed class HorizonWindow
        {
            /// <summary>The window, step-major: step 0's features, then step 1's, …</summary>
            public float[] Features { get; set; } = Array.Empty<float>();

            /// <summary>The next <c>horizon</c> values of the target feature.</summary>
            public float[] Label { get; set; } = Array.Empty<float>();
        }

        /// <summary>
        /// Every window of <paramref name="windowSize"/> consecutive values of a univariate series, with the next
        /// <paramref name="horizon"/> values as the label: columns Features (vector of windowSize) and Label (a
        /// scalar for horizon 1, else a vector of horizon).
        /// </summary>
        /// <returns>The windows as a data view: a Features column (window, step-major) and a Label column.</returns>
        public static IDataView FromSeries(this DataOperationsCatalog catalog, IReadOnlyList<float> series, int windowSize, int horizon = 1)
            => catalog.FromSeries(series.Select(v => new[] { v }).ToList(), windowSize, horizon, targetFeature: 0);

        /// <summary>
        /// Every window of <paramref name="windowSize"/> consecutive steps of a multivariate series (each step a vector of
        /// the same length), with the next <paramref name="horizon"/> values of feature <paramref name="targetFeature"/>
        /// as the label. Features is step-major (windowSize × features); set the trainer's FeaturesPerStep to the number
        /// of features.
        /// </summary>
        /// <returns>The windows as a data view: a Features column (window, step-major) and a Label column.</returns>
        public static IDataView FromSeries(this DataOperationsCatalog catalog, IReadOnlyList<float[]> series, int windowSize, int horizon, int targetFeature)
        {
            if (catalog is null)
                throw new ArgumentNullException(nameof(catalog));
            if (series is null || series.Count == 0)
                throw new ArgumentException("The series is empty.", nameof(series));
            int features = series[0]?.Length ?? 0;
            for (int i = 0; i < series.Count; i++)
                if (features == 0 || series[i] is null || series[i].Length != features)
                    throw new ArgumentException($"Every step of the series must have the same, non-zero number of features: step {i} " +
                        $"{(series[i] is null ? "is null" : $"has {series[i].Length}")}{(i > 0 ? $", {features} at step 0" : "")}.", nameof(series));
            if (windowSize < 1)
                throw new ArgumentOutOfRangeException(nameof(windowSize), windowSize, "windowSize must be at least 1.");
            if (horizon < 1)
                throw new ArgumentOutOfRangeException(nameof(horizon), horizon, "horizon must be at least 1.");
            if (targetFeature < 0 || targetFeature >= features)
                throw new ArgumentOutOfRangeException(nameof(targetFeature), targetFeature, $"targetFeature must be a feature index, 0 to {features - 1}.");
            if (series.Count < windowSize + horizon)
                throw new ArgumentException($"The series has {series.Count} steps, fewer than windowSize + horizon = {windowSize + horizon} that one window needs.", nameof(series));

            var starts = Enumerable.Range(0, series.Count - windowSize - horizon + 1);
            float[] Past(int start) => series.Skip(start).Take(windowSize).SelectMany(step => step).ToArray();
            if (horizon == 1)
            {
                var schema = SchemaDefinition.Create(typeof(Window));
                schema[nameof(Window.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, windowSize * features);
                return catalog.LoadFromEnumerable(starts.Select(start => new Window { Features = Past(start), Label = series[start + windowSize][targetFeature] }).ToList(), schema);
            }
            var horizonSchema = SchemaDefinition.Create(typeof(HorizonWindow));
            horizonSchema[nameof(HorizonWindow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, windowSize * features);
            horizonSchema[nameof(HorizonWindow.Label)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, horizon);
            return catalog.LoadFromEnumerable(starts.Select(start => new HorizonWindow
            {
                Features = Past(start),
                Label = series.Skip(start + windowSize).Take(horizon).Select(step => step[targetFeature]).ToArray(),
            }).ToList(), horizonSchema);
        }
    }
}
