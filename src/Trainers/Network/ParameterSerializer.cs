using System.Collections.Generic;
using System.IO;
using System.Linq;
using MlnetLstm.Transforms;
using static TorchSharp.torch;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Writes and reads TorchSharp tensors (a network's parameters, an optimizer's moments) in the format of
    /// <see cref="WeightsFormat"/>, device-independently: a run trained on CUDA resumes on a CPU-only machine.
    /// </summary>
    internal static class ParameterSerializer
    {
        // *** Binary format ***
        // see WeightsFormat
        public static void Save(BinaryWriter writer, nn.Module network)
            => Save(writer, network.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList());

        /// <summary>Writes named tensors (for example a copy of a network's parameters).</summary>
        public static void Save(BinaryWriter writer, IReadOnlyList<(string Name, Tensor Value)> parameters)
        {
            writer.Write(parameters.Count);
            foreach (var (name, parameter) in parameters)
            {
                using var cpu = parameter.detach().cpu().contiguous();
                WeightsFormat.Write(writer, name, parameter.shape, cpu.data<float>().ToArray());
            }
        }

        /// <exception cref="System.FormatException">The data does not match the network, or holds a value that is not finite; the message names <paramref name="source"/> and the parameter.</exception>
        /// <param name="reader">The reader, at the start of the data.</param>
        /// <param name="network">The network whose parameters to fill.</param>
        /// <param name="source">The data's description for messages.</param>
        /// <param name="end">The stream position where the data ends (a checksum or other data may follow); null for the end of the stream.</param>
        public static void Load(BinaryReader reader, nn.Module network, string source, long? end = null)
            => Load(reader, network.named_parameters().Select(p => (p.name, (Tensor)p.parameter)).ToList(), source, end);

        /// <summary>Reads into named tensors, checking names and shapes as for a network.</summary>
        /// <exception cref="System.FormatException">The data does not match the tensors, or holds a value that is not finite; the message names <paramref name="source"/> and the parameter.</exception>
        public static void Load(BinaryReader reader, IReadOnlyList<(string Name, Tensor Value)> parameters, string source, long? end = null)
        {
            // *** Binary format *** (see Save)
            long limit = end ?? (reader.BaseStream.CanSeek ? reader.BaseStream.Length : long.MaxValue);
            try
            {
                WeightsFormat.ReadCount(reader, parameters.Count, source);
                using var noGrad = no_grad();
                foreach (var (name, parameter) in parameters)
                {
                    var values = new float[parameter.numel()];
                    WeightsFormat.Read(reader, name, parameter.shape, values, source, limit);
                    using var tensorValues = tensor(values, parameter.shape);
                    parameter.copy_(tensorValues);
                }
            }
            catch (EndOfStreamException e)
            {
                throw new System.FormatException($"{source}: the weights entry is truncated.", e);
            }
        }
    }
}
