using System;
using System.Linq;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The hidden state of every layer and direction (index layer × directions + direction): h [batch, hidden], and
    /// the cell state c for LSTM.
    /// </summary>
    internal sealed class RecurrentState : IDisposable
    {
        public RecurrentState(Tensor[] hidden, Tensor[]? cell)
        {
            Hidden = hidden;
            Cell = cell;
        }

        public Tensor[] Hidden { get; }

        /// <summary>The LSTM cell state per layer; null for GRU and RNN.</summary>
        public Tensor[]? Cell { get; }

        /// <summary>Zeros for every layer, on <paramref name="device"/>.</summary>
        public static RecurrentState Zeros(RecurrentArchitecture architecture, long batch, Device device)
        {
            Tensor[] Make() => Enumerable.Range(0, architecture.Layers * architecture.Directions)
                .Select(_ => zeros(batch, architecture.HiddenSize, device: device)).ToArray();
            return new RecurrentState(Make(), architecture.Cell == RecurrentCell.Lstm ? Make() : null);
        }

        /// <summary>
        /// A copy cut off from the autograd graph (truncated back-propagation through time) and moved out of the
        /// current dispose scope, so it outlives the batch that made it. Dispose it when it is replaced.
        /// </summary>
        public RecurrentState DetachToOuterScope() => new(
            Hidden.Select(h => h.detach().MoveToOuterDisposeScope()).ToArray(),
            Cell?.Select(c => c.detach().MoveToOuterDisposeScope()).ToArray());

        public void Dispose()
        {
            foreach (var h in Hidden)
                h.Dispose();
            if (Cell is not null)
                foreach (var c in Cell)
                    c.Dispose();
        }
    }
}
