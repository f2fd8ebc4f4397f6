using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using static TorchSharp.torch;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Writes and reads a network's parameters in a plain, device-independent format: a model trained on CUDA loads
    /// on a CPU-only machine. Reading checks every name, shape and length against the network built from the saved
    /// architecture before copying, and never allocates from a size it has not checked.
    /// </summary>
    internal static class ParameterSerializer
    {
        // *** Binary format ***
        // int: number of parameters P
        // P × {
        //   string: parameter name (as TorchSharp names it, e.g. "layer0.fused.weight_ih_l0")
        //   int: rank R
        //   R × long: dimensions
        //   float32 × product of dimensions: values, row-major, little-endian
        // }
        public static void Save(BinaryWriter writer, nn.Module network)
            => Save(writer, network.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList());

        /// <summary>Writes named tensors (for example a copy of a network's parameters) in the same format.</summary>
        public static void Save(BinaryWriter writer, IReadOnlyList<(string Name, Tensor Value)> parameters)
        {
            writer.Write(parameters.Count);
            foreach (var (name, parameter) in parameters)
            {
                writer.Write(name);
                writer.Write(parameter.shape.Length);
                foreach (var dimension in parameter.shape)
                    writer.Write(dimension);
                using var cpu = parameter.detach().cpu().contiguous();
                writer.Write(MemoryMarshal.AsBytes(cpu.data<float>().ToArray().AsSpan()));
            }
        }

        /// <exception cref="FormatException">The data does not match the network, or holds a value that is not finite; the message names <paramref name="source"/> and the parameter.</exception>
        /// <param name="reader">The reader, at the start of the data.</param>
        /// <param name="network">The network whose parameters to fill.</param>
        /// <param name="source">The data's description for messages.</param>
        /// <param name="end">The stream position where the data ends (a checksum or other data may follow); null for the end of the stream.</param>
        public static void Load(BinaryReader reader, nn.Module network, string source, long? end = null)
            => Load(reader, network.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList(), source, end);

        /// <summary>Reads into named tensors (for example a copy of a network's parameters), checking names and shapes as for a network.</summary>
        /// <exception cref="FormatException">The data does not match the tensors, or holds a value that is not finite; the message names <paramref name="source"/> and the parameter.</exception>
        public static void Load(BinaryReader reader, IReadOnlyList<(string Name, Tensor Value)> parameters, string source, long? end = null)
        {
            long limit = end ?? (reader.BaseStream.CanSeek ? reader.BaseStream.Length : long.MaxValue);
            try
            {
                int count = reader.ReadInt32();
                if (count != parameters.Count)
                    throw new FormatException($"{source}: the weights hold {count} parameter tensors but the saved architecture has {parameters.Count}; the model file is corrupt or inconsistent.");
                using var noGrad = no_grad();
                foreach (var (name, parameter) in parameters)
                {
                    string savedName = reader.ReadString();
                    if (savedName != name)
                        throw new FormatException($"{source}: expected parameter '{name}' but found '{savedName}'; the model file is corrupt or inconsistent.");
                    int rank = reader.ReadInt32();
                    if (rank != parameter.shape.Length)
                        throw new FormatException($"{source}: parameter '{name}' has rank {rank}, expected {parameter.shape.Length} for the saved architecture.");
                    var shape = new long[rank];
                    for (int i = 0; i < rank; i++)
                        shape[i] = reader.ReadInt64();
                    if (!shape.SequenceEqual(parameter.shape))
                        throw new FormatException($"{source}: parameter '{name}' has shape [{string.Join(", ", shape)}] but the saved architecture (and vocabulary) need [{string.Join(", ", parameter.shape)}].");
                    long bytes = parameter.numel() * sizeof(float);
                    if (reader.BaseStream.CanSeek && limit - reader.BaseStream.Position < bytes)
                        throw new FormatException($"{source}: the weights entry is truncated inside parameter '{name}'.");
                    var values = new float[parameter.numel()];
                    // A zip entry's stream may return fewer bytes per read than asked for, so read until full.
                    for (var rest = MemoryMarshal.AsBytes(values.AsSpan()); !rest.IsEmpty;)
                    {
                        int read = reader.Read(rest);
                        if (read == 0)
                            throw new FormatException($"{source}: the weights entry is truncated inside parameter '{name}'.");
                        rest = rest[read..];
                    }
                    // Training never produces these (it stops when the loss is not finite): they can only come from damage.
                    int bad = Array.FindIndex(values, v => !float.IsFinite(v));
                    if (bad >= 0)
                        throw new FormatException($"{source}: parameter '{name}' holds {values[bad].ToString(System.Globalization.CultureInfo.InvariantCulture)} at index {bad}; " +
                            "a trained network's weights are finite, so the model file is corrupt.");
                    using var tensorValues = tensor(values, shape);
                    parameter.copy_(tensorValues);
                }
            }
            catch (EndOfStreamException e)
            {
                throw new FormatException($"{source}: the weights entry is truncated.", e);
            }
        }
    }
}
