using System;
using System.Collections.Generic;
using System.Linq;

namespace MlnetLstm.Transforms
{
    /// <summary>The ONNX variables a recurrent network's layers produce.</summary>
    /// <param name="Sequence">The top layer's outputs, [T, N, H × directions] (directions side by side, as in PyTorch).</param>
    /// <param name="FinalHidden">Each layer's final hidden state, [directions, N, H].</param>
    /// <param name="FinalCell">Each layer's final LSTM cell state, [directions, N, H]; null for GRU and RNN.</param>
    internal sealed record RecurrentOnnxOutput(string Sequence, IReadOnlyList<string> FinalHidden, IReadOnlyList<string>? FinalCell);

    /// <summary>
    /// A trained network as ONNX nodes: the input encoding, one ONNX LSTM, GRU or RNN operator per layer, pooling and
    /// the linear head. ONNX's recurrent operators are PyTorch's equations with other gate orders, so the weights are
    /// only rearranged: LSTM gates i, f, g, o become i, o, f, c; GRU gates r, z, n become z, r, h with
    /// linear_before_reset = 1 (PyTorch's reset gate multiplies W_hn·h + b_hn); B is [b_ih ; b_hh]. Sequences are
    /// time-major ([T, N, …], layout 0), which every ONNX Runtime provider accepts.
    /// </summary>
    internal static class RecurrentNetworkOnnx
    {
        /// <summary>
        /// The layers over <paramref name="input"/>: token ids [T, N] (int64) for token networks, features [T, N, F]
        /// (float) for feature networks. <paramref name="initialHidden"/> and <paramref name="initialCell"/> give each
        /// layer's initial state [directions, N, H] (null: zeros).
        /// </summary>
        public static RecurrentOnnxOutput Layers(OnnxGraph g, NetworkWeights weights, string input,
            IReadOnlyList<string>? initialHidden = null, IReadOnlyList<string>? initialCell = null)
        {
            var a = weights.Architecture;
            string x = a.Input switch
            {
                NetworkInput.TokensOneHot => g.Apply("OneHot", new[] { input, g.Constant("depth", (long)a.InputSize), g.Initializer("one_hot_values", new[] { 0f, 1f }, new long[] { 2 }) }),
                NetworkInput.TokensEmbedding => g.Apply("Gather", new[] { g.Initializer("embedding", weights["embedding.weight"], new long[] { a.InputSize, a.EmbeddingSize }), input },
                    n => n.Set("axis", 0L)),
                _ => input,
            };
            var hidden = new List<string>();
            var cells = a.Cell == RecurrentCell.Lstm ? new List<string>() : null;
            for (int layer = 0; layer < a.Layers; layer++)
            {
                var (y, yH, yC) = Layer(g, weights, layer, x, initialHidden?[layer], initialCell?[layer]);
                hidden.Add(yH);
                cells?.Add(yC!);
                // Y is [T, directions, N, H]; the next layer (and pooling) reads [T, N, directions × H].
                // Explicit widths: a −1 cannot be inferred when the sequence is empty.
                x = a.Directions == 1 ? g.Squeeze(y, 1) : g.Reshape(g.Transpose(y, 0, 2, 1, 3), 0, 0, a.OutputWidth);
            }
            return new RecurrentOnnxOutput(x, hidden, cells);
        }

        /// <summary>
        /// Pools a sequence encoder's top layer into [N, H × directions] as the managed engine does: Last is the final
        /// state of each direction (forward at step T − 1, backward at step 0, where it ends), Mean and Max reduce over time.
        /// </summary>
        public static string Pool(OnnxGraph g, NetworkWeights weights, RecurrentOnnxOutput layers, SequencePooling pooling) => pooling switch
        {
            SequencePooling.Mean => g.Reduce("ReduceMean", layers.Sequence, false, 0),
            SequencePooling.Max => g.Reduce("ReduceMax", layers.Sequence, false, 0),
            _ => g.Reshape(g.Transpose(layers.FinalHidden[^1], 1, 0, 2), 0, weights.Architecture.OutputWidth),
        };

        /// <summary>The linear head's weights as constants: W_head transposed [H × directions, outputs], and its bias.</summary>
        public static (string Weight, string Bias) HeadWeights(OnnxGraph g, NetworkWeights weights)
        {
            var a = weights.Architecture;
            var transposed = Transpose(weights["head.weight"], a.OutputSize, a.OutputWidth);
            return (g.Initializer("head_weight", transposed, new long[] { a.OutputWidth, a.OutputSize }),
                g.Initializer("head_bias", weights["head.bias"], new long[] { a.OutputSize }));
        }

        /// <summary>The linear head on the last axis of <paramref name="x"/> ([…, H × directions] → […, outputs]), into <paramref name="output"/> when given.</summary>
        public static string Head(OnnxGraph g, (string Weight, string Bias) head, string x, string? output = null)
            => g.Apply("Add", new[] { g.Apply("MatMul", new[] { x, head.Weight }), head.Bias }, output: output);

        private static (string Y, string YH, string? YC) Layer(OnnxGraph g, NetworkWeights weights, int layer, string x, string? initialH, string? initialC)
        {
            var a = weights.Architecture;
            int h = a.HiddenSize, gates = a.Gates, directions = a.Directions;
            int inputSize = layer == 0 ? a.FirstLayerInputSize : a.OutputWidth;
            // For each ONNX gate block, the PyTorch block it comes from.
            int[] order = a.Cell switch
            {
                RecurrentCell.Lstm => new[] { 0, 3, 1, 2 },
                RecurrentCell.Gru => new[] { 1, 0, 2 },
                _ => new[] { 0 },
            };
            var w = new List<float>();
            var r = new List<float>();
            var b = new List<float>();
            for (int direction = 0; direction < directions; direction++)
            {
                float[] Tensor(string name) => weights[NetworkWeights.LayerTensor(layer, direction, name)];
                w.AddRange(Reorder(Tensor("weight_ih"), order, h, inputSize));
                r.AddRange(Reorder(Tensor("weight_hh"), order, h, h));
                b.AddRange(Reorder(Tensor("bias_ih"), order, h, 1));
                b.AddRange(Reorder(Tensor("bias_hh"), order, h, 1));
            }
            string name = $"layer{layer}";
            var inputs = new List<string>
            {
                x,
                g.Initializer($"{name}_W", w.ToArray(), new long[] { directions, gates * h, inputSize }),
                g.Initializer($"{name}_R", r.ToArray(), new long[] { directions, gates * h, h }),
                g.Initializer($"{name}_B", b.ToArray(), new long[] { directions, 2L * gates * h }),
                "", // sequence_lens: every sequence is full length
                initialH ?? "",
            };
            if (a.Cell == RecurrentCell.Lstm)
                inputs.Add(initialC ?? "");
            while (inputs[^1].Length == 0)
                inputs.RemoveAt(inputs.Count - 1);
            string op = a.Cell switch { RecurrentCell.Lstm => "LSTM", RecurrentCell.Gru => "GRU", _ => "RNN" };
            string y = g.Variable($"{name}_Y"), yH = g.Variable($"{name}_Y_h");
            string? yC = a.Cell == RecurrentCell.Lstm ? g.Variable($"{name}_Y_c") : null;
            var node = g.Node(op, inputs, yC is null ? new[] { y, yH } : new[] { y, yH, yC });
            node.Set("hidden_size", (long)h);
            node.Set("direction", directions == 2 ? "bidirectional" : "forward");
            if (a.Cell == RecurrentCell.Gru)
                node.Set("linear_before_reset", 1L);
            if (a.Cell is RecurrentCell.RnnTanh or RecurrentCell.RnnRelu)
                node.Set("activations", Enumerable.Repeat(a.Cell == RecurrentCell.RnnRelu ? "Relu" : "Tanh", directions).ToArray());
            return (y, yH, yC);
        }

        /// <summary>The [gates × H, columns] matrix with its gate blocks of H rows in ONNX's order.</summary>
        private static float[] Reorder(float[] matrix, int[] order, int h, int columns)
        {
            var result = new float[matrix.Length];
            int block = h * columns;
            for (int i = 0; i < order.Length; i++)
                Array.Copy(matrix, order[i] * block, result, i * block, block);
            return result;
        }

        private static float[] Transpose(float[] matrix, int rows, int columns)
        {
            var result = new float[matrix.Length];
            for (int row = 0; row < rows; row++)
                for (int column = 0; column < columns; column++)
                    result[(long)column * rows + row] = matrix[(long)row * columns + column];
            return result;
        }
    }
}
