using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>The one-hot sequence transform inside ML.NET's ConvertToOnnx.</summary>
    internal static class OneHotSequenceOnnx
    {
        /// <summary>
        /// Keys [N, T] → [N, T × V] (or [N, L × V] padded with zero positions): one-hot over V + 1 classes with class 0,
        /// the missing key, cut off, so a missing key gives an all-zero position as here.
        /// </summary>
        public static void Save(MlNetOnnxGraph g, string inputColumn, int vocabularySize, int maximumLength, string outputColumn, DataViewType outputType, string component)
        {
            // Slice with inputs needs opset 10.
            g.RequireOpset(10, component);
            string keys = g.Cast(OnnxTokenInput.Column(g, inputColumn, component), OnnxElementType.Int64);
            string oneHot = g.Apply("OneHot", new[] { keys, g.Constant("depth", vocabularySize + 1L), g.Initializer("one_hot_values", new[] { 0f, 1f }, new long[] { 2 }) });
            string positions = g.Slice(oneHot, 2, 1, vocabularySize + 1L);
            if (maximumLength > 0)
            {
                // Zero positions from T to L; ONNX Runtime fails on a row longer than L, as the transform does.
                string shape = g.Apply("Shape", new[] { positions });
                string rows = g.Apply("Gather", new[] { shape, g.Constant("row_axis", 0L) }, n => n.Set("axis", 0L));
                string length = g.Apply("Gather", new[] { shape, g.Constant("time_axis", 1L) }, n => n.Set("axis", 0L));
                string padding = g.Apply("Sub", new[] { g.Constant("maximum_length", (long)maximumLength), length });
                string zeros = g.Apply("ConstantOfShape", new[] { g.Concat(0, rows, padding, g.Constant("vocabulary_size", (long)vocabularySize)) });
                positions = g.Concat(1, positions, zeros);
            }
            g.Apply("Reshape", new[] { positions, g.Constant("flat", 0L, -1L) }, output: g.AddColumn(outputColumn, outputType));
        }
    }
}
