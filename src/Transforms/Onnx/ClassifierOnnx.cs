using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>A sequence classifier's Score and PredictedLabel columns inside ML.NET's ConvertToOnnx.</summary>
    internal static class ClassifierOnnx
    {
        /// <summary>Score = softmax of the head on the pooled encoding; PredictedLabel = its arg-max + 1 as a UInt32 key (ties: the lowest class, as the managed scorer).</summary>
        public static void Save(MlNetOnnxGraph g, NetworkWeights weights, TokenColumn column, SequencePooling pooling,
            string scoreColumn, DataViewType scoreType, string predictedLabelColumn, DataViewType predictedLabelType, string component)
        {
            string ids = OnnxTokenInput.Ids(g, column, component);
            var layers = RecurrentNetworkOnnx.Layers(g, weights, g.Transpose(ids, 1, 0));
            string logits = RecurrentNetworkOnnx.Head(g, RecurrentNetworkOnnx.HeadWeights(g, weights), RecurrentNetworkOnnx.Pool(g, layers, pooling));
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
