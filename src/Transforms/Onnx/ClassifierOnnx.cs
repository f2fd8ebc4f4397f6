using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>A sequence classifier's Score and PredictedLabel columns inside ML.NET's ConvertToOnnx.</summary>
    internal static class ClassifierOnnx
    {
        /// <summary>
        /// Score = softmax of the head on the pooled encoding; PredictedLabel = its arg-max + 1 as a UInt32 key (ties:
        /// the lowest class, as the managed scorer). An empty text pools to zeros, as in the managed engine.
        /// </summary>
        public static void Save(MlNetOnnxGraph g, NetworkWeights weights, TokenColumn column, SequencePooling pooling,
            string scoreColumn, DataViewType scoreType, string predictedLabelColumn, DataViewType predictedLabelType, string component)
        {
            // Slice with inputs (the padding of an empty text) needs opset 10.
            g.RequireOpset(10, component);
            string ids = g.Transpose(OnnxTokenInput.Ids(g, column, component), 1, 0);
            // ONNX Runtime aborts the process on a GRU of zero steps, so an empty text gets one padding step (token 0),
            // whose pooled encoding is then replaced by zeros.
            string steps = g.Apply("Gather", new[] { g.Apply("Shape", new[] { ids }), g.Constant("time_axis", 0L) }, n => n.Set("axis", 0L));
            string empty = g.Apply("Equal", new[] { steps, g.Constant("zero", 0L) });
            string padding = g.Apply("Slice", new[]
            {
                g.Transpose(OnnxTokenInput.FilledColumn(g, g.Transpose(ids, 1, 0), 0), 1, 0),
                g.Constant("starts", 0L), g.Cast(empty, OnnxElementType.Int64), g.Constant("axes", 0L),
            });
            var layers = RecurrentNetworkOnnx.Layers(g, weights, g.Concat(0, ids, padding));
            string pooled = g.Apply("Where", new[] { empty, g.FloatConstant("zero_encoding", 0), RecurrentNetworkOnnx.Pool(g, weights, layers, pooling) });
            string logits = RecurrentNetworkOnnx.Head(g, RecurrentNetworkOnnx.HeadWeights(g, weights), pooled);
            string score = g.Apply("Softmax", new[] { logits }, n => n.Set("axis", 1L), g.AddColumn(scoreColumn, scoreType));
            string best = g.Apply("ArgMax", new[] { score }, n =>
            {
                n.Set("axis", 1L);
                n.Set("keepdims", 1L);
            });
            g.Cast(g.Apply("Add", new[] { best, g.Constant("one", 1L) }), OnnxElementType.UInt32, g.AddColumn(predictedLabelColumn, predictedLabelType));
        }
    }
}
