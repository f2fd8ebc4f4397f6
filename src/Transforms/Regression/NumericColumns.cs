using System;
using System.Collections.Generic;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>Reads the numeric feature and label columns of the sequence regressor, with errors that name the column and the fix.</summary>
    internal static class NumericColumns
    {
        /// <summary>The size of a float column: 1 for a scalar, the length of a known-size vector; else an error.</summary>
        public static int Width(DataViewSchema schema, string name, string role, bool allowScalar)
        {
            var column = schema.GetColumnOrNull(name)
                ?? throw new ArgumentOutOfRangeException(nameof(schema), $"{role} column '{name}' is not in the data. Name it with the {role}ColumnName option.");
            return column.Type switch
            {
                NumberDataViewType n when n == NumberDataViewType.Single && allowScalar => 1,
                VectorDataViewType { ItemType: NumberDataViewType n, Size: > 0 } v when n == NumberDataViewType.Single => v.Size,
                _ => throw new ArgumentOutOfRangeException(nameof(schema),
                    $"{role} column '{name}' is {column.Type}; it must be a known-size vector of Single{(allowScalar ? " or a Single" : "")} " +
                    "(for a series, SequenceWindows.FromSeries makes such windows; convert other types with mlContext.Transforms.Conversion.ConvertType)."),
            };
        }

        /// <summary>A reader of the current row's values of a float column (scalar or vector).</summary>
        public static Func<float[]> Reader(DataViewRow row, string name)
        {
            var column = row.Schema[name];
            if (column.Type is VectorDataViewType)
            {
                var getter = row.GetGetter<VBuffer<float>>(column);
                VBuffer<float> buffer = default;
                return () =>
                {
                    getter(ref buffer);
                    var values = new float[buffer.Length];
                    buffer.CopyTo(values);
                    return values;
                };
            }
            var scalar = row.GetGetter<float>(column);
            return () =>
            {
                float value = 0;
                scalar(ref value);
                return new[] { value };
            };
        }

        /// <summary>
        /// Throws unless every value is finite, naming the column, the row and what to do. The row is named by its
        /// position when <paramref name="row"/> is a cursor over data; a row scored on its own (PredictionEngine.Predict,
        /// whose row position counts the calls made so far) is "the row being scored".
        /// </summary>
        public static void CheckFinite(float[] values, string column, DataViewRow row)
        {
            foreach (var value in values)
                if (!float.IsFinite(value))
                    throw new InvalidOperationException(
                        (row is DataViewRowCursor ? $"Row {row.Position} of column '{column}'" : $"Column '{column}' of the row being scored") +
                        $" holds {value}. Recurrent models need finite numbers: remove the row or fill missing values " +
                        "(for example mlContext.Transforms.ReplaceMissingValues) before training or scoring.");
        }

        /// <summary>Reads every row of the given columns.</summary>
        public static (List<float[]> Features, List<float[]> Labels) ReadAll(IDataView data, string featureColumn, string labelColumn)
        {
            var features = new List<float[]>();
            var labels = new List<float[]>();
            using var cursor = data.GetRowCursor(new[] { data.Schema[featureColumn], data.Schema[labelColumn] });
            var readFeatures = Reader(cursor, featureColumn);
            var readLabel = Reader(cursor, labelColumn);
            while (cursor.MoveNext())
            {
                var x = readFeatures();
                var y = readLabel();
                CheckFinite(x, featureColumn, cursor);
                CheckFinite(y, labelColumn, cursor);
                features.Add(x);
                labels.Add(y);
            }
            return (features, labels);
        }
    }
}
