using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// The binary layout of named float tensors, shared by model zips (the network's weights entry) and training
    /// checkpoints (weights and optimizer moments). Reading checks every name, rank, shape and length against what
    /// the reader expects before it copies, and never allocates from a size it has not checked.
    /// </summary>
    internal static class WeightsFormat
    {
        /// <summary>
        /// The largest weight magnitude a file may hold. Far beyond what training reaches (a float32 recurrent network
        /// with weights this large saturates every gate), so only a damaged or edited file has more.
        /// </summary>
        public const float MaximumMagnitude = 1e6f;

        // *** Binary format ***
        // int: number of tensors P
        // P × {
        //   string: name (as TorchSharp names the parameter, e.g. "layer0.fused.weight_ih_l0")
        //   int: rank R
        //   R × long: dimensions
        //   float32 × product of dimensions: values, row-major, little-endian
        // }
        public static void Write(BinaryWriter writer, string name, IReadOnlyList<long> shape, ReadOnlySpan<float> values)
        {
            writer.Write(name);
            writer.Write(shape.Count);
            foreach (var dimension in shape)
                writer.Write(dimension);
            writer.Write(MemoryMarshal.AsBytes(values));
        }

        /// <summary>Reads the tensor count, which must be <paramref name="expected"/>.</summary>
        /// <exception cref="FormatException">It is not.</exception>
        public static void ReadCount(BinaryReader reader, int expected, string source)
        {
            int count = reader.ReadInt32();
            if (count != expected)
                throw new FormatException($"{source}: the weights hold {count} parameter tensors but the saved architecture has {expected}; the model file is corrupt or inconsistent.");
        }

        /// <summary>Reads one tensor into <paramref name="destination"/>, which has the expected shape's size.</summary>
        /// <exception cref="FormatException">Its name, rank or shape differs, it is truncated, or it holds a value that is not finite.</exception>
        /// <exception cref="EndOfStreamException">The stream ends inside the header.</exception>
        public static void Read(BinaryReader reader, string name, IReadOnlyList<long> expectedShape, Span<float> destination, string source, long limit)
        {
            string savedName = reader.ReadString();
            if (savedName != name)
                throw new FormatException($"{source}: expected parameter '{name}' but found '{savedName}'; the model file is corrupt or inconsistent.");
            int rank = reader.ReadInt32();
            if (rank != expectedShape.Count)
                throw new FormatException($"{source}: parameter '{name}' has rank {rank}, expected {expectedShape.Count} for the saved architecture.");
            var shape = new long[rank];
            for (int i = 0; i < rank; i++)
                shape[i] = reader.ReadInt64();
            if (!shape.SequenceEqual(expectedShape))
                throw new FormatException($"{source}: parameter '{name}' has shape [{string.Join(", ", shape)}] but the saved architecture (and vocabulary) need [{string.Join(", ", expectedShape)}].");
            long bytes = (long)destination.Length * sizeof(float);
            if (reader.BaseStream.CanSeek && limit - reader.BaseStream.Position < bytes)
                throw new FormatException($"{source}: the weights entry is truncated inside parameter '{name}'.");
            // A zip entry's stream may return fewer bytes per read than asked for, so read until full.
            for (var rest = MemoryMarshal.AsBytes(destination); !rest.IsEmpty;)
            {
                int read = reader.Read(rest);
                if (read == 0)
                    throw new FormatException($"{source}: the weights entry is truncated inside parameter '{name}'.");
                rest = rest[read..];
            }
            // Training never produces these (it stops when the loss is not finite, and a step of Adam moves a weight by
            // about the learning rate): they can only come from damage or tampering, and would score every text as impossible.
            for (int i = 0; i < destination.Length; i++)
                if (!float.IsFinite(destination[i]) || Math.Abs(destination[i]) > MaximumMagnitude)
                    throw new FormatException($"{source}: parameter '{name}' holds {destination[i].ToString(CultureInfo.InvariantCulture)} at index {i}; " +
                        $"a trained network's weights are finite and at most {MaximumMagnitude:0e0} in magnitude, so the file is corrupt.");
        }
    }
}
