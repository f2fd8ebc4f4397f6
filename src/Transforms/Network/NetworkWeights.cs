using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace MlnetLstm.Transforms
{
    /// <summary>One named parameter tensor: its shape and its values, row-major.</summary>
    internal sealed record WeightTensor(string Name, long[] Shape, float[] Values);

    /// <summary>
    /// The parameters of a recurrent network, as plain float arrays with PyTorch's names, shapes, gate order and
    /// row-major layout: what the trainer's TorchSharp network holds, and what the managed engine scores with.
    /// </summary>
    internal sealed class NetworkWeights
    {
        private readonly Dictionary<string, WeightTensor> _byName;

        /// <summary>Checks <paramref name="tensors"/> against the layout of <paramref name="architecture"/>: same names, order and shapes.</summary>
        /// <exception cref="FormatException">A tensor is missing, extra, misnamed or misshapen.</exception>
        public NetworkWeights(RecurrentArchitecture architecture, IReadOnlyList<WeightTensor> tensors)
        {
            var layout = Layout(architecture);
            if (tensors.Count != layout.Count)
                throw new FormatException($"The network needs {layout.Count} parameter tensors ({string.Join(", ", layout.Select(l => l.Name))}), but {tensors.Count} were given.");
            for (int i = 0; i < layout.Count; i++)
            {
                var (name, shape) = layout[i];
                if (tensors[i].Name != name || !tensors[i].Shape.SequenceEqual(shape) || tensors[i].Values.LongLength != shape.Aggregate(1L, (a, b) => a * b))
                    throw new FormatException($"Parameter {i} must be '{name}' of shape [{string.Join(", ", shape)}]; found '{tensors[i].Name}' of shape [{string.Join(", ", tensors[i].Shape)}] with {tensors[i].Values.Length} values.");
            }
            Architecture = architecture;
            Tensors = tensors;
            _byName = tensors.ToDictionary(t => t.Name);
        }

        public RecurrentArchitecture Architecture { get; }

        /// <summary>Every parameter, in the order of <see cref="Layout"/>.</summary>
        public IReadOnlyList<WeightTensor> Tensors { get; }

        public float[] this[string name] => _byName[name].Values;

        /// <summary>The name of the module of layer <paramref name="layer"/>, direction <paramref name="direction"/> (1 = backward).</summary>
        public static string LayerName(int layer, int direction) => direction == 0 ? $"layer{layer}" : $"layer{layer}_reverse";

        /// <summary>The name of one of a layer's four tensors: weight_ih, weight_hh, bias_ih or bias_hh.</summary>
        public static string LayerTensor(int layer, int direction, string tensor) => $"{LayerName(layer, direction)}.fused.{tensor}_l0";

        /// <summary>
        /// The parameters of a network of <paramref name="architecture"/>, by name and shape, in the order TorchSharp
        /// lists them: the embedding, then per layer and direction a one-layer nn.LSTM/GRU/RNN's weight_ih_l0,
        /// weight_hh_l0, bias_ih_l0 and bias_hh_l0, then the linear head's weight and bias.
        /// </summary>
        public static IReadOnlyList<(string Name, long[] Shape)> Layout(RecurrentArchitecture architecture)
        {
            var layout = new List<(string, long[])>();
            long h = architecture.HiddenSize, gates = architecture.Gates * h;
            if (architecture.Input == NetworkInput.TokensEmbedding)
                layout.Add(("embedding.weight", new long[] { architecture.InputSize, architecture.EmbeddingSize }));
            for (int layer = 0; layer < architecture.Layers; layer++)
                for (int direction = 0; direction < architecture.Directions; direction++)
                {
                    long input = layer == 0 ? architecture.FirstLayerInputSize : architecture.OutputWidth;
                    layout.Add((LayerTensor(layer, direction, "weight_ih"), new[] { gates, input }));
                    layout.Add((LayerTensor(layer, direction, "weight_hh"), new[] { gates, h }));
                    layout.Add((LayerTensor(layer, direction, "bias_ih"), new[] { gates }));
                    layout.Add((LayerTensor(layer, direction, "bias_hh"), new[] { gates }));
                }
            layout.Add(("head.weight", new long[] { architecture.OutputSize, architecture.OutputWidth }));
            layout.Add(("head.bias", new long[] { architecture.OutputSize }));
            return layout;
        }

        /// <summary>Writes every tensor (see <see cref="WeightsFormat"/>).</summary>
        public void Save(BinaryWriter writer)
        {
            writer.Write(Tensors.Count);
            foreach (var tensor in Tensors)
                WeightsFormat.Write(writer, tensor.Name, tensor.Shape, tensor.Values);
        }

        /// <summary>
        /// Reads the tensors of a network of <paramref name="architecture"/>, checking every name, shape and length
        /// before allocating, and every value for finiteness.
        /// </summary>
        /// <exception cref="FormatException">The data does not match the architecture or is damaged; the message names <paramref name="source"/> and the parameter.</exception>
        public static NetworkWeights Load(BinaryReader reader, RecurrentArchitecture architecture, string source, long? end = null)
        {
            var layout = Layout(architecture);
            long limit = end ?? (reader.BaseStream.CanSeek ? reader.BaseStream.Length : long.MaxValue);
            try
            {
                WeightsFormat.ReadCount(reader, layout.Count, source);
                var tensors = new List<WeightTensor>(layout.Count);
                foreach (var (name, shape) in layout)
                {
                    var values = new float[shape.Aggregate(1L, (a, b) => a * b)];
                    WeightsFormat.Read(reader, name, shape, values, source, limit);
                    tensors.Add(new WeightTensor(name, shape, values));
                }
                return new NetworkWeights(architecture, tensors);
            }
            catch (EndOfStreamException e)
            {
                throw new FormatException($"{source}: the weights entry is truncated.", e);
            }
        }
    }
}
