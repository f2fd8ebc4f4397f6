using System;
using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>Reads a recurrent model's input columns inside ML.NET's ConvertToOnnx graph.</summary>
    internal static class OnnxTokenInput
    {
        /// <summary>
        /// The 0-based token ids [N, T] (int64) of a token column: its keys − 1, or the positions of the ones of a
        /// variable-length one-hot sequence.
        /// </summary>
        /// <exception cref="NotSupportedException">The column is not in the graph, or is a fixed-length one-hot sequence.</exception>
        public static string Ids(MlNetOnnxGraph g, TokenColumn column, string component)
        {
            string variable = Column(g, column.Name, component);
            if (!column.IsOneHot)
                return g.Apply("Sub", new[] { g.Cast(variable, OnnxElementType.Int64), g.Constant("one", 1L) });
            if (column.Column.Type.GetValueCount() != 0)
                throw new NotSupportedException(
                    $"{component} reads the fixed-length one-hot sequence '{column.Name}', whose padding positions ONNX cannot tell from token 0 without an explicit length. " +
                    "Export a pipeline that feeds the model the token keys (TokenizeWithCharacterVocabulary/TokenizeWithWordVocabulary), or a variable-length one-hot sequence (maximumLength 0).");
            var oneHot = g.Reshape(variable, 0, -1, column.Tokens.Length);
            return g.Apply("ArgMax", new[] { oneHot }, n =>
            {
                n.Set("axis", 2L);
                n.Set("keepdims", 0L);
            });
        }

        /// <summary>The variable of an input column, or an error that says which step could not be exported.</summary>
        public static string Column(MlNetOnnxGraph g, string name, string component)
        {
            if (!g.HasColumn(name))
                throw new NotSupportedException(
                    $"{component} reads column '{name}', which the ONNX graph does not compute: a step before it in the pipeline cannot be exported " +
                    "(ML.NET's log names it: 'Had to stop walkback of pipeline at …'). Export a pipeline whose every step supports ONNX, or start it at data that holds the column.");
            return g.ColumnVariable(name);
        }

        /// <summary>[N, 1] int64 filled with <paramref name="value"/>, N being the first dimension of <paramref name="like"/>.</summary>
        public static string FilledColumn(OnnxGraph g, string like, long value)
        {
            string rows = g.Apply("Gather", new[] { g.Apply("Shape", new[] { like }), g.Constant("first_axis", 0L) }, n => n.Set("axis", 0L));
            string shape = g.Concat(0, rows, g.Constant("one_column", 1L));
            // ConstantOfShape without a value attribute gives float zeros (ML.NET's nodes cannot carry a tensor attribute).
            string zeros = g.Cast(g.Apply("ConstantOfShape", new[] { shape }), OnnxElementType.Int64);
            return g.Apply("Add", new[] { zeros, g.Constant("fill", value) });
        }
    }
}
