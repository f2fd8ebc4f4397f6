using System;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Scratch for <see cref="RecurrentEngine"/>'s batched step and head: the streams' states gathered into
    /// contiguous matrices ([streams × H] hidden states, [streams × gates·H] recurrent products, [streams × width]
    /// top outputs, [streams × outputs] head outputs), so that one matrix-matrix product serves every stream. One per
    /// thread that steps batches; it grows to the largest batch and model it has served and is then reused, so a
    /// step allocates nothing.
    /// </summary>
    internal sealed class RecurrentEngineBatch
    {
        /// <summary>The streams' hidden states of one layer, row by row.</summary>
        public float[] Hidden { get; private set; } = Array.Empty<float>();

        /// <summary>The streams' recurrent products W_hh·h (added to what the cell prepared), row by row.</summary>
        public float[] Products { get; private set; } = Array.Empty<float>();

        /// <summary>The streams' top-layer outputs, the head's input.</summary>
        public float[] Tops { get; private set; } = Array.Empty<float>();

        /// <summary>The head's outputs for the streams.</summary>
        public float[] Outputs { get; private set; } = Array.Empty<float>();

        /// <summary>Grows the buffers (never shrinks them) to hold <paramref name="count"/> streams of the given widths.</summary>
        public void Ensure(int count, int hidden, int products, int width, int outputs)
        {
            Hidden = Grown(Hidden, (long)count * hidden);
            Products = Grown(Products, (long)count * products);
            Tops = Grown(Tops, (long)count * width);
            Outputs = Grown(Outputs, (long)count * outputs);
        }

        private static float[] Grown(float[] buffer, long length)
        {
            if (length > Array.MaxLength)
                throw new InvalidOperationException($"A batch of {length:N0} values is too large; serve fewer streams per batch.");
            return buffer.Length >= length ? buffer : new float[length];
        }
    }
}
