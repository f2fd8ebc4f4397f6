using static TorchSharp.torch;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// One time step of each recurrent cell, written gate by gate with tensor operations, in PyTorch's parameter
    /// layout. The input projection x·W_ihᵀ + b_ih is computed beforehand for all time steps at once (or gathered, for
    /// one-hot input), so a step takes that projection, the previous state and the recurrent weights. These are the
    /// equations of the seed tutorials; <see cref="RecurrentImplementation.Fused"/> computes the same numbers.
    /// </summary>
    public static class GateLevelCells
    {
        /// <summary>
        /// LSTM: with gates = xp + h·W_hhᵀ + b_hh split into i, f, g, o:
        /// I = σ(i), F = σ(f), G = tanh(g), O = σ(o); c' = F⊙c + I⊙G; h' = O⊙tanh(c').
        /// </summary>
        /// <param name="inputProjection">x·W_ihᵀ + b_ih, [batch, 4·hidden].</param>
        /// <param name="hidden">h, [batch, hidden].</param>
        /// <param name="cell">c, [batch, hidden].</param>
        /// <param name="weightHh">W_hh, [4·hidden, hidden].</param>
        /// <param name="biasHh">b_hh, [4·hidden].</param>
        /// <returns>The new hidden and cell state.</returns>
        public static (Tensor Hidden, Tensor Cell) Lstm(Tensor inputProjection, Tensor hidden, Tensor cell, Tensor weightHh, Tensor biasHh)
        {
            var gates = addmm(inputProjection + biasHh, hidden, weightHh.t(), 1, 1).chunk(4, 1);
            var inputGate = gates[0].sigmoid();
            var forgetGate = gates[1].sigmoid();
            var candidate = gates[2].tanh();
            var outputGate = gates[3].sigmoid();
            var newCell = forgetGate * cell + inputGate * candidate;
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
            var candidate = (x[2] + reset * h[2]).tanh();
            return candidate + update * (hidden - candidate);
        }

        /// <summary>Vanilla RNN: h' = act(xp + h·W_hhᵀ + b_hh), with act = tanh or ReLU.</summary>
        /// <param name="inputProjection">x·W_ihᵀ + b_ih, [batch, hidden].</param>
        /// <param name="hidden">h, [batch, hidden].</param>
        /// <param name="weightHh">W_hh, [hidden, hidden].</param>
        /// <param name="biasHh">b_hh, [hidden].</param>
        /// <param name="relu">ReLU instead of tanh.</param>
        /// <returns>The new hidden state.</returns>
        public static Tensor Rnn(Tensor inputProjection, Tensor hidden, Tensor weightHh, Tensor biasHh, bool relu)
        {
            var preActivation = addmm(inputProjection + biasHh, hidden, weightHh.t(), 1, 1);
            return relu ? preActivation.relu() : preActivation.tanh();
        }
    }
}
