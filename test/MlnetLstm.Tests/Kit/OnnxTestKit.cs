using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.OnnxRuntime;
using Microsoft.ML.OnnxRuntime.Tensors;

namespace MlnetLstm.Tests
{
    /// <summary>What the ONNX tests share: ConvertToOnnx to bytes, ONNX Runtime sessions, ApplyOnnxModel, and |Δ|.</summary>
    internal static class OnnxTestKit
    {
        /// <summary>How close ONNX Runtime and ApplyOnnxModel must come to the PredictionEngine.</summary>
        public const double Tolerance = 1e-5;

        /// <summary>ML.NET's ConvertToOnnx of <paramref name="model"/> on <paramref name="data"/>'s schema.</summary>
        public static byte[] Convert(MLContext ml, ITransformer model, IDataView data)
        {
            using var stream = new MemoryStream();
            ml.Model.ConvertToOnnx(model, data, stream);
            return stream.ToArray();
        }

        /// <summary>A single-threaded ONNX Runtime session (the machine is shared; the graphs are tiny).</summary>
        public static InferenceSession Session(byte[] model)
        {
            using var options = new SessionOptions { IntraOpNumThreads = 1, InterOpNumThreads = 1 };
            return new InferenceSession(model, options);
        }

        /// <summary>Runs a session on named inputs and copies every output's floats (doubles and integers widened to double).</summary>
        public static Dictionary<string, (double[] Values, long[] Shape)> Run(InferenceSession session, IReadOnlyDictionary<string, OrtValue> inputs)
        {
            var names = session.OutputMetadata.Keys.ToArray();
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, inputs, names);
            var result = new Dictionary<string, (double[], long[])>();
            int i = 0;
            foreach (var output in outputs)
            {
                var info = output.GetTensorTypeAndShape();
                double[] values = info.ElementDataType switch
                {
                    TensorElementType.Float => output.GetTensorDataAsSpan<float>().ToArray().Select(v => (double)v).ToArray(),
                    TensorElementType.Double => output.GetTensorDataAsSpan<double>().ToArray(),
                    TensorElementType.Int64 => output.GetTensorDataAsSpan<long>().ToArray().Select(v => (double)v).ToArray(),
                    TensorElementType.UInt32 => output.GetTensorDataAsSpan<uint>().ToArray().Select(v => (double)v).ToArray(),
                    _ => Array.Empty<double>(),
                };
                result[names[i++]] = (values, info.Shape);
            }
            return result;
        }

        /// <summary>A [1, 1] string tensor: one row of an ML.NET text column.</summary>
        public static OrtValue Text(string text)
        {
            var value = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, new long[] { 1, 1 });
            value.StringTensorSetElementAt(text.AsSpan(), 0);
            return value;
        }

        /// <summary>A float tensor of the given shape.</summary>
        public static OrtValue Floats(float[] values, params long[] shape) => OrtValue.CreateTensorValueFromMemory(values, shape);

        /// <summary>An int64 tensor of the given shape.</summary>
        public static OrtValue Longs(long[] values, params long[] shape) => OrtValue.CreateTensorValueFromMemory(values, shape);

        /// <summary>The rows of <paramref name="model"/>'s ApplyOnnxModel on <paramref name="data"/>: each of <paramref name="outputs"/>' values per row.</summary>
        public static Dictionary<string, double[][]> ApplyOnnxModel(MLContext ml, byte[] model, IDataView data, string directory, params string[] outputs)
        {
            string path = Path.Combine(directory, $"model-{Guid.NewGuid():N}.onnx");
            File.WriteAllBytes(path, model);
            var transformed = ml.Transforms.ApplyOnnxModel(outputs, InputNames(model), path).Fit(data).Transform(data);
            var result = new Dictionary<string, double[][]>();
            foreach (var name in outputs)
                // ApplyOnnxModel names a column after its output without ML.NET's ".output" suffix.
                result[name] = ReadColumn(transformed, name.EndsWith(".output", StringComparison.Ordinal) ? name[..^".output".Length] : name);
            return result;
        }

        private static string[] InputNames(byte[] model)
        {
            using var session = Session(model);
            return session.InputMetadata.Keys.ToArray();
        }

        /// <summary>Every row's values of a numeric column (scalar or vector; float, double or UInt32), as doubles.</summary>
        public static double[][] ReadColumn(IDataView data, string name)
        {
            var column = data.Schema[name];
            var rows = new List<double[]>();
            using var cursor = data.GetRowCursor(new[] { column });
            var type = (column.Type is VectorDataViewType vector ? vector.ItemType : column.Type).RawType;
            Func<double[]> read;
            if (column.Type is VectorDataViewType)
            {
                if (type == typeof(float))
                    read = VectorReader<float>(cursor, column, v => v);
                else if (type == typeof(double))
                    read = VectorReader<double>(cursor, column, v => v);
                else
                    read = VectorReader<uint>(cursor, column, v => v);
            }
            else if (type == typeof(float))
                read = ScalarReader<float>(cursor, column, v => v);
            else if (type == typeof(double))
                read = ScalarReader<double>(cursor, column, v => v);
            else
                read = ScalarReader<uint>(cursor, column, v => v);
            while (cursor.MoveNext())
                rows.Add(read());
            return rows.ToArray();
        }

        private static Func<double[]> VectorReader<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Func<T, double> widen)
        {
            var getter = cursor.GetGetter<VBuffer<T>>(column);
            VBuffer<T> buffer = default;
            return () =>
            {
                getter(ref buffer);
                return buffer.DenseValues().Select(widen).ToArray();
            };
        }

        private static Func<double[]> ScalarReader<T>(DataViewRowCursor cursor, DataViewSchema.Column column, Func<T, double> widen)
        {
            var getter = cursor.GetGetter<T>(column);
            T value = default!;
            return () =>
            {
                getter(ref value);
                return new[] { widen(value) };
            };
        }

        /// <summary>max |a − b|, failing on a length mismatch.</summary>
        public static double MaxAbsDiff(IReadOnlyList<double> expected, IReadOnlyList<double> actual, string what)
        {
            if (expected.Count != actual.Count)
                throw new InvalidOperationException($"{what}: {expected.Count} expected values, {actual.Count} from ONNX.");
            double max = 0;
            for (int i = 0; i < expected.Count; i++)
            {
                double d = Math.Abs(expected[i] - actual[i]);
                if (double.IsNaN(expected[i]) && double.IsNaN(actual[i]))
                    d = 0;
                else if (double.IsNaN(d))
                    d = double.PositiveInfinity;
                max = Math.Max(max, d);
            }
            return max;
        }
    }
}
