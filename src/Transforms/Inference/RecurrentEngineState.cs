using System;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// The mutable part of managed scoring: one caller's recurrent state and scratch buffers. The engine is shared;
    /// each caller (a PredictionEngine's row, a cursor, a streaming generation) owns one of these, so scoring
    /// allocates nothing per step and needs no locks.
    /// </summary>
    internal sealed class RecurrentEngineState
    {
        public RecurrentEngineState(RecurrentArchitecture architecture)
        {
            int h = architecture.HiddenSize, units = architecture.Layers * architecture.Directions;
            Hidden = new float[units][];
            Cell = architecture.Cell == RecurrentCell.Lstm ? new float[units][] : null;
            for (int i = 0; i < units; i++)
            {
                Hidden[i] = new float[h];
                if (Cell is not null)
                    Cell[i] = new float[h];
            }
            Gates = new float[architecture.Gates * h];
            Recurrent = new float[architecture.Gates * h];
            Pooled = new float[architecture.OutputWidth];
            Output = new float[architecture.OutputSize];
            Scratch = new float[architecture.OutputSize];
        }

        /// <summary>h of every layer and direction (index layer × directions + direction).</summary>
        public float[][] Hidden { get; }

        /// <summary>The LSTM cell state c, like <see cref="Hidden"/>; null for GRU and RNN.</summary>
        public float[][]? Cell { get; }

        /// <summary>One step's gate pre-activations, [gates × H].</summary>
        public float[] Gates { get; }

        /// <summary>A GRU's recurrent term W_hh·h + b_hh, [3H]; scratch for the other cells.</summary>
        public float[] Recurrent { get; }

        /// <summary>A sequence's pooled top-layer output, [H × directions].</summary>
        public float[] Pooled { get; }

        /// <summary>The head's output: logits, classes or standardized values.</summary>
        public float[] Output { get; }

        /// <summary>Scratch of the head's width (softmax, sampling).</summary>
        public float[] Scratch { get; }

        /// <summary>A bidirectional layer's outputs over a sequence, [T × 2H], grown on demand (two, swapped layer by layer).</summary>
        public float[] Sequence { get; private set; } = Array.Empty<float>();

        /// <summary>The other sequence buffer.</summary>
        public float[] NextSequence { get; private set; } = Array.Empty<float>();

        /// <summary>Makes both sequence buffers hold at least <paramref name="length"/> values.</summary>
        public void EnsureSequence(long length)
        {
            if (length > Array.MaxLength)
                throw new InvalidOperationException($"A bidirectional sequence of {length:N0} values is too long to encode at once; split the text into shorter rows.");
            if (Sequence.Length < length)
            {
                Sequence = new float[length];
                NextSequence = new float[length];
            }
        }

        /// <summary>Swaps the two sequence buffers.</summary>
        public void SwapSequences() => (Sequence, NextSequence) = (NextSequence, Sequence);

        /// <summary>Sets every layer's state to zero, as at the start of a document.</summary>
        public void Reset()
        {
            foreach (var h in Hidden)
                Array.Clear(h);
            if (Cell is not null)
                foreach (var c in Cell)
                    Array.Clear(c);
        }
    }
}
