using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// One time step of each recurrent cell, written gate by gate with tensor operations, in PyTorch's parameter
    /// layout. The input projection is computed beforehand for all time steps at once (or gathered, for one-hot input),
    /// so a step takes that projection, the previous state and the recurrent weights. These are the equations of the
    /// seed tutorials; <see cref="RecurrentImplementation.Fused"/> computes the same numbers.
    /// </summary>
    internal static class GateLevelCells
    {
        /// <summary>
        /// LSTM: with gates = xp + h·W_hhᵀ split into i, f, g, o (xp includes both biases):
        /// I = σ(i), F = σ(f), G = tanh(g), O = σ(o); c' = F⊙c + I⊙G; h' = O⊙tanh(c').
        /// </summary>
        /// <param name="inputProjection">x·W_ihᵀ + b_ih + b_hh, [batch, 4·hidden].</param>
        /// <param name="hidden">h, [batch, hidden].</param>
        /// <param name="cell">c, [batch, hidden].</param>
        /// <param name="weightHh">W_hh, [4·hidden, hidden].</param>
        /// <returns>The new hidden and cell state.</returns>
        public static (Tensor Hidden, Tensor Cell) Lstm(Tensor inputProjection, Tensor hidden, Tensor cell, Tensor weightHh)
        {
            var gates = addmm(inputProjection, hidden, weightHh.t(), 1, 1);
            // One sigmoid over all four blocks (the candidate block's is unused): fewer kernel launches per step.
            var sigmoid = gates.sigmoid().chunk(4, 1);
            var (inputGate, forgetGate, outputGate) = (sigmoid[0], sigmoid[1], sigmoid[3]);
            var candidate = gates.chunk(4, 1)[2].tanh();
            var newCell = addcmul(forgetGate * cell, inputGate, candidate, 1);
            return (outputGate * newCell.tanh(), newCell);
        }

        /// <summary>
        /// GRU: with xr, xz, xn = xp and hr, hz, hn = h·W_hhᵀ + b_hh:
        /// r = σ(xr + hr), z = σ(xz + hz), n = tanh(xn + r⊙hn); h' = (1 − z)⊙n + z⊙h.
        /// The reset gate multiplies the recurrent term after its bias, as in PyTorch (and cuDNN).
        /// </summary>
        /// <param name="inputProjection">x·W_ihᵀ + b_ih, [batch, 3·hidden].</param>
        /// <param name="hidden">h, [batch, hidden].</param>
        /// <param name="weightHh">W_hh, [3·hidden, hidden].</param>
        /// <param name="biasHh">b_hh, [3·hidden].</param>
        /// <returns>The new hidden state.</returns>
        public static Tensor Gru(Tensor inputProjection, Tensor hidden, Tensor weightHh, Tensor biasHh)
        {
            var x = inputProjection.chunk(3, 1);
            var h = addmm(biasHh, hidden, weightHh.t(), 1, 1).chunk(3, 1);
            var reset = (x[0] + h[0]).sigmoid();
            var update = (x[1] + h[1]).sigmoid();
            var candidate = addcmul(x[2], reset, h[2], 1).tanh();
            return candidate + update * (hidden - candidate);
        }

        /// <summary>Vanilla RNN: h' = act(xp + h·W_hhᵀ), with act = tanh or ReLU (xp includes both biases).</summary>
        /// <param name="inputProjection">x·W_ihᵀ + b_ih + b_hh, [batch, hidden].</param>
        /// <param name="hidden">h, [batch, hidden].</param>
        /// <param name="weightHh">W_hh, [hidden, hidden].</param>
        /// <param name="relu">ReLU instead of tanh.</param>
        /// <returns>The new hidden state.</returns>
        public static Tensor Rnn(Tensor inputProjection, Tensor hidden, Tensor weightHh, bool relu)
        {
            var preActivation = addmm(inputProjection, hidden, weightHh.t(), 1, 1);
            return relu ? preActivation.relu() : preActivation.tanh();
        }
    }
}
