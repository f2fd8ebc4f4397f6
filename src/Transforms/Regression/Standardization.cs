using System;
using System.IO;
using System.Linq;

namespace MlnetLstm.Transforms
{
    /// <summary>Per-column mean and standard deviation learned at Fit: x ↦ (x − mean) / std, and back.</summary>
    internal sealed record Standardization(float[] Mean, float[] Deviation)
    {
        /// <summary>Learns from rows of <paramref name="width"/> values laid out as consecutive groups (steps × width).</summary>
        public static Standardization Learn(float[][] rows, int width)
        {
            var sum = new double[width];
            var squares = new double[width];
            long count = 0;
            foreach (var row in rows)
                for (int i = 0; i < row.Length; i++)
                {
                    sum[i % width] += row[i];
                    squares[i % width] += (double)row[i] * row[i];
                    if (i % width == 0)
                        count++;
                }
            var mean = sum.Select(s => s / count).ToArray();
            var deviation = squares.Select((q, i) => Math.Sqrt(Math.Max(0, q / count - mean[i] * mean[i]))).ToArray();
            // A constant column (deviation 0) is only centred.
            return new Standardization(mean.Select(m => (float)m).ToArray(), deviation.Select(d => d > 1e-12 ? (float)d : 1f).ToArray());
        }

        public float[] Apply(ReadOnlySpan<float> values)
        {
            var result = new float[values.Length];
            Apply(values, result);
            return result;
        }

        /// <summary>Standardizes <paramref name="values"/> (consecutive groups of the width) into <paramref name="destination"/>.</summary>
        public void Apply(ReadOnlySpan<float> values, Span<float> destination)
        {
            for (int i = 0; i < values.Length; i++)
                destination[i] = (values[i] - Mean[i % Mean.Length]) / Deviation[i % Mean.Length];
        }

        public float Invert(float value, int column) => value * Deviation[column] + Mean[column];

        // *** Binary format ***
        // int: width W; W × float: means; W × float: standard deviations
        public void Save(BinaryWriter writer)
        {
            writer.Write(Mean.Length);
            foreach (var m in Mean)
                writer.Write(m);
            foreach (var d in Deviation)
                writer.Write(d);
        }

        public static Standardization Load(BinaryReader reader, string source, int expectedWidth)
        {
            int width = reader.ReadInt32();
            if (width != expectedWidth)
                throw new FormatException($"{source}: the standardization has {width} columns but the network needs {expectedWidth}; the file is inconsistent.");
            var mean = Enumerable.Range(0, width).Select(_ => reader.ReadSingle()).ToArray();
            var deviation = Enumerable.Range(0, width).Select(_ => reader.ReadSingle()).ToArray();
            if (mean.Any(m => !float.IsFinite(m)) || deviation.Any(d => !(d > 0) || !float.IsFinite(d)))
                throw new FormatException($"{source}: the standardization holds a non-finite mean or a non-positive deviation; the file is corrupt.");
            return new Standardization(mean, deviation);
        }
    }
}
