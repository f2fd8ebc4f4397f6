using System;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// What back-propagation through a batch of whole sequences keeps in memory, and the limit the classifier and the
    /// regressor hold it to. A batch padded to its longest row keeps, for every time step of every row, each layer's
    /// gates, states and outputs: measured with the fused kernels, about 17 floats per hidden unit per layer and
    /// direction (2.2 KB per step at hidden size 32), so a batch of 32 rows padded to one row of a million characters
    /// would need 70 GB. A batch's padded steps × rows stay within <see cref="Budget"/>: a batch of long rows takes
    /// fewer of them, and a row that alone would exceed it is refused before training, naming the row.
    /// </summary>
    internal static class BatchMemory
    {
        /// <summary>The most a batch's activations may take.</summary>
        public const long Budget = 192L << 20;

        /// <summary>Floats kept per time step per hidden unit of a layer and direction (measured: LSTM and GRU, fused kernels).</summary>
        private const int FloatsPerHiddenUnit = 17;

        /// <summary>The bytes back-propagation keeps for one time step of one row of <paramref name="architecture"/>.</summary>
        public static long BytesPerStep(RecurrentArchitecture architecture)
            => sizeof(float) * ((long)FloatsPerHiddenUnit * architecture.HiddenSize * architecture.Layers * architecture.Directions
                + architecture.EmbeddingSize + (architecture.Input == NetworkInput.Features ? architecture.InputSize : 0));

        /// <summary>The most time steps × rows a batch of <paramref name="architecture"/> may hold: also the longest row training takes.</summary>
        public static long MaximumSteps(RecurrentArchitecture architecture) => Math.Max(1, Budget / BytesPerStep(architecture));

        /// <summary>
        /// Throws, before training, for a row longer than <see cref="MaximumSteps"/>: <paramref name="row"/> names it
        /// ("Row 64 of token column 'Tokens'"), <paramref name="fix"/> says how to shorten it.
        /// </summary>
        public static void CheckRow(string row, long steps, string unit, RecurrentArchitecture architecture, string fix)
        {
            long maximum = MaximumSteps(architecture);
            if (steps > maximum)
                throw new InvalidOperationException(
                    $"{row} has {steps:N0} {unit}, more than the {maximum:N0} a training row may have at HiddenSize {architecture.HiddenSize}, Layers {architecture.Layers}" +
                    $"{(architecture.Bidirectional ? ", bidirectional" : "")}: back-propagation keeps about {BytesPerStep(architecture):N0} bytes per step of a row, and " +
                    $"training holds a batch to {Budget >> 20} MiB. {fix}, or lower HiddenSize or Layers.");
        }
    }
}
