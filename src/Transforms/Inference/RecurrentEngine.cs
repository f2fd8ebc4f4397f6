using System;
using System.Numerics.Tensors;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// The forward pass of a trained recurrent network in managed code: LSTM, GRU and RNN (tanh, ReLU) layers in
    /// PyTorch's parameter layout and gate order, any number of layers, one-hot, embedded or feature input,
    /// bidirectional encoders with pooling, and the linear head. It computes what the trainer's TorchSharp network
    /// computes (to float rounding), one time step at a time, single-threaded per call: scoring needs neither
    /// libtorch nor its thread pool. Immutable, so any number of threads share one engine, each with its own
    /// <see cref="RecurrentEngineState"/>.
    /// </summary>
    internal sealed class RecurrentEngine
    {
        /// <summary>The weights of one layer and direction, arranged for stepping.</summary>
        private sealed class Unit
        {
            public Unit(float[] inputWeights, float[] recurrentWeights, float[] inputBias, float[]? recurrentBias, int inputSize)
            {
                InputWeights = inputWeights;
                RecurrentWeights = recurrentWeights;
                InputBias = inputBias;
                RecurrentBias = recurrentBias;
                InputSize = inputSize;
            }

            /// <summary>W_ih, [gates·H, input] row-major; for one-hot input its transpose [V, gates·H], so a token's column is one contiguous row.</summary>
            public float[] InputWeights { get; }

            /// <summary>W_hh, [gates·H, H] row-major.</summary>
            public float[] RecurrentWeights { get; }

            /// <summary>b_ih, with b_hh added for LSTM and RNN (where it is outside every product).</summary>
            public float[] InputBias { get; }

            /// <summary>A GRU's b_hh, which the reset gate multiplies; null for LSTM and RNN.</summary>
            public float[]? RecurrentBias { get; }

            public int InputSize { get; }
        }

        private readonly Unit[] _units;
        private readonly float[]? _embedding;
        private readonly float[] _headWeights;
        private readonly float[] _headBias;
        private readonly int _hidden;
        private readonly int _gateWidth;

        public RecurrentEngine(NetworkWeights weights)
        {
            var a = Architecture = weights.Architecture;
            _hidden = a.HiddenSize;
            _gateWidth = a.Gates * a.HiddenSize;
            _embedding = a.Input == NetworkInput.TokensEmbedding ? weights["embedding.weight"] : null;
            _units = new Unit[a.Layers * a.Directions];
            for (int layer = 0; layer < a.Layers; layer++)
                for (int direction = 0; direction < a.Directions; direction++)
                {
                    var inputWeights = weights[NetworkWeights.LayerTensor(layer, direction, "weight_ih")];
                    var inputBias = weights[NetworkWeights.LayerTensor(layer, direction, "bias_ih")];
                    var recurrentBias = weights[NetworkWeights.LayerTensor(layer, direction, "bias_hh")];
                    int inputSize = layer == 0 ? a.FirstLayerInputSize : a.OutputWidth;
                    bool oneHot = layer == 0 && a.Input == NetworkInput.TokensOneHot;
                    bool gru = a.Cell == RecurrentCell.Gru;
                    var bias = inputBias;
                    if (!gru)
                    {
                        bias = new float[_gateWidth];
                        TensorPrimitives.Add(inputBias, recurrentBias, bias);
                    }
                    _units[layer * a.Directions + direction] = new Unit(oneHot ? Transpose(inputWeights, _gateWidth, inputSize) : inputWeights,
                        weights[NetworkWeights.LayerTensor(layer, direction, "weight_hh")], bias, gru ? recurrentBias : null, inputSize);
                }
            _headWeights = weights["head.weight"];
            _headBias = weights["head.bias"];
        }

        public RecurrentArchitecture Architecture { get; }

        /// <summary>A new state for one caller, at the zero state.</summary>
        public RecurrentEngineState CreateState() => new(Architecture);

        /// <summary>The top layer's hidden state after the last <see cref="Step(RecurrentEngineState, int)"/>.</summary>
        public ReadOnlySpan<float> Top(RecurrentEngineState state) => state.Hidden[^1];

        /// <summary>One time step of a unidirectional network on token <paramref name="token"/>: every layer's state advances.</summary>
        public void Step(RecurrentEngineState state, int token) => Step(state, token, default);

        /// <summary>One time step of a unidirectional network on a feature vector.</summary>
        public void Step(RecurrentEngineState state, ReadOnlySpan<float> features) => Step(state, -1, features);

        /// <summary>
        /// One time step of a unidirectional token network for several independent streams at once: stream s reads
        /// <paramref name="tokens"/>[s] and advances <paramref name="states"/>[s]. Each layer's recurrent product is one
        /// matrix-matrix product over the streams, so W_hh is read from memory once per step for all of them instead
        /// of once per stream; every stream's result is the one <see cref="Step(RecurrentEngineState, int)"/> gives
        /// (the same sums in the same order). Allocates nothing once <paramref name="batch"/> has grown to the size.
        /// </summary>
        /// <exception cref="InvalidOperationException">The network is bidirectional or reads features: only a token language model steps.</exception>
        public void Step(RecurrentEngineBatch batch, ReadOnlySpan<RecurrentEngineState> states, ReadOnlySpan<int> tokens)
        {
            var a = Architecture;
            if (a.Directions != 1 || a.Input == NetworkInput.Features)
                throw new InvalidOperationException("Only a unidirectional network on tokens steps in batches; a bidirectional or feature network encodes whole sequences (Encode).");
            if (tokens.Length != states.Length)
                throw new ArgumentException($"{states.Length} states but {tokens.Length} tokens: one token per stream.", nameof(tokens));
            int count = states.Length, h = _hidden;
            int productWidth = a.Cell is RecurrentCell.Lstm or RecurrentCell.Gru ? _gateWidth : h;
            batch.Ensure(count, h, productWidth, a.OutputWidth, a.OutputSize);
            var hidden = batch.Hidden.AsSpan(0, count * h);
            var products = batch.Products.AsSpan(0, count * productWidth);
            for (int layer = 0; layer < a.Layers; layer++)
            {
                var unit = _units[layer];
                for (int s = 0; s < count; s++)
                {
                    var state = states[s];
                    if (layer == 0)
                        ProjectFirstLayer(unit, state.Gates, tokens[s], default);
                    else
                        Project(unit, state.Gates, state.Hidden[layer - 1]);
                    state.Hidden[layer].CopyTo(hidden.Slice(s * h, h));
                    BeginRecurrentProduct(unit, state).CopyTo(products.Slice(s * productWidth, productWidth));
                }
                VectorKernels.MultiplyAdd(unit.RecurrentWeights, productWidth, h, hidden, count, products);
                for (int s = 0; s < count; s++)
                {
                    var state = states[s];
                    products.Slice(s * productWidth, productWidth).CopyTo(a.Cell == RecurrentCell.Gru ? state.Recurrent : state.Gates);
                    Activate(unit, state, layer);
                }
            }
        }

        /// <summary>
        /// The head on the top layer of several streams at once, into each one's <see cref="RecurrentEngineState.Output"/>:
        /// W_head is read once for all of them. The same values as <see cref="Head(ReadOnlySpan{float}, Span{float})"/> per stream.
        /// </summary>
        public void Head(RecurrentEngineBatch batch, ReadOnlySpan<RecurrentEngineState> states)
        {
            int count = states.Length, width = Architecture.OutputWidth, size = _headBias.Length;
            batch.Ensure(count, _hidden, _gateWidth, width, size);
            var tops = batch.Tops.AsSpan(0, count * width);
            var outputs = batch.Outputs.AsSpan(0, count * size);
            for (int s = 0; s < count; s++)
                Top(states[s]).CopyTo(tops.Slice(s * width, width));
            Head(tops, count, outputs);
            for (int s = 0; s < count; s++)
                outputs.Slice(s * size, size).CopyTo(states[s].Output);
        }

        private void Step(RecurrentEngineState state, int token, ReadOnlySpan<float> features)
        {
            for (int layer = 0; layer < Architecture.Layers; layer++)
            {
                if (layer == 0)
                    ProjectFirstLayer(_units[0], state.Gates, token, features);
                else
                    Project(_units[layer], state.Gates, state.Hidden[layer - 1]);
                Advance(_units[layer], state, layer);
            }
        }

        /// <summary>output = W_head·input + b_head: logits, class scores or standardized values.</summary>
        public void Head(ReadOnlySpan<float> input, Span<float> output) => Head(input, 1, output);

        /// <summary>
        /// The head on <paramref name="count"/> inputs at once ([count × width] → [count × outputs]): W_head is read
        /// once for all of them, which matters when it is large (a vocabulary of thousands of tokens).
        /// </summary>
        public void Head(ReadOnlySpan<float> inputs, int count, Span<float> outputs)
        {
            int size = _headBias.Length;
            for (int t = 0; t < count; t++)
                _headBias.CopyTo(outputs.Slice(t * size, size));
            VectorKernels.MultiplyAdd(_headWeights, size, Architecture.OutputWidth, inputs, count, outputs);
        }

        /// <summary>
        /// Encodes a whole token sequence from the zero state, pools the top layer's outputs and applies the head into
        /// <see cref="RecurrentEngineState.Output"/>. An empty sequence pools to zeros.
        /// </summary>
        public void Encode(RecurrentEngineState state, ReadOnlySpan<int> tokens, SequencePooling pooling) => Encode(state, tokens, default, tokens.Length, pooling);

        /// <summary>Like <see cref="Encode(RecurrentEngineState, ReadOnlySpan{int}, SequencePooling)"/> for <paramref name="steps"/> feature vectors laid out step-major.</summary>
        public void Encode(RecurrentEngineState state, ReadOnlySpan<float> features, int steps, SequencePooling pooling) => Encode(state, default, features, steps, pooling);

        private void Encode(RecurrentEngineState state, ReadOnlySpan<int> tokens, ReadOnlySpan<float> features, int steps, SequencePooling pooling)
        {
            var a = Architecture;
            int h = _hidden, width = a.OutputWidth, featureWidth = a.Input == NetworkInput.Features ? a.InputSize : 0;
            state.Reset();
            var pooled = state.Pooled.AsSpan();
            pooled.Fill(pooling == SequencePooling.Max && steps > 0 ? float.NegativeInfinity : 0);
            if (a.Directions == 1)
            {
                // Every layer steps at each time step; only the top layer's output is pooled, so memory is constant in T.
                for (int t = 0; t < steps; t++)
                {
                    Step(state, tokens.IsEmpty ? -1 : tokens[t], features.IsEmpty ? default : features.Slice(t * featureWidth, featureWidth));
                    Pool(pooling, Top(state), pooled);
                }
            }
            else
            {
                // A backward direction needs the whole sequence of the layer below, so the outputs of every layer but
                // the top one are kept ([T × 2H]); the top layer's are pooled as they come.
                if (a.Layers > 1)
                    state.EnsureSequence((long)steps * width);
                for (int layer = 0; layer < a.Layers; layer++)
                {
                    bool top = layer == a.Layers - 1;
                    for (int direction = 0; direction < 2; direction++)
                    {
                        int index = layer * 2 + direction;
                        var unit = _units[index];
                        for (int k = 0; k < steps; k++)
                        {
                            int t = direction == 0 ? k : steps - 1 - k;
                            if (layer > 0)
                                Project(unit, state.Gates, state.Sequence.AsSpan(t * width, width));
                            else
                                ProjectFirstLayer(unit, state.Gates, tokens.IsEmpty ? -1 : tokens[t], features.IsEmpty ? default : features.Slice(t * featureWidth, featureWidth));
                            Advance(unit, state, index);
                            if (top)
                                Pool(pooling, state.Hidden[index], pooled.Slice(direction * h, h));
                            else
                                state.Hidden[index].CopyTo(state.NextSequence.AsSpan(t * width + direction * h, h));
                        }
                    }
                    if (!top)
                        state.SwapSequences();
                }
            }
            // Last needs nothing more: Pool kept the last output of each direction, the forward one's at T − 1 and the
            // backward one's at 0, where it ends.
            if (pooling == SequencePooling.Mean && steps > 0)
                TensorPrimitives.Divide(pooled, steps, pooled);
            Head(pooled, state.Output);
        }

        private static void Pool(SequencePooling pooling, ReadOnlySpan<float> output, Span<float> pooled)
        {
            switch (pooling)
            {
                case SequencePooling.Mean:
                    TensorPrimitives.Add(pooled, output, pooled);
                    break;
                case SequencePooling.Max:
                    TensorPrimitives.Max(pooled, output, pooled);
                    break;
                default:
                    output.CopyTo(pooled);
                    break;
            }
        }

        /// <summary>gates = b + W_ih·x for the first layer: a row of the transposed W_ih for one-hot input, an embedding row, or features.</summary>
        private void ProjectFirstLayer(Unit unit, Span<float> gates, int token, ReadOnlySpan<float> features)
        {
            switch (Architecture.Input)
            {
                case NetworkInput.TokensOneHot:
                    TensorPrimitives.Add(unit.InputWeights.AsSpan(token * _gateWidth, _gateWidth), unit.InputBias, gates);
                    break;
                case NetworkInput.TokensEmbedding:
                    int e = Architecture.EmbeddingSize;
                    Project(unit, gates, _embedding.AsSpan(token * e, e));
                    break;
                default:
                    Project(unit, gates, features);
                    break;
            }
        }

        /// <summary>gates = b + W_ih·x.</summary>
        private void Project(Unit unit, Span<float> gates, ReadOnlySpan<float> x)
        {
            unit.InputBias.CopyTo(gates);
            VectorKernels.MultiplyAdd(unit.InputWeights, _gateWidth, unit.InputSize, x, gates);
        }

        /// <summary>
        /// Advances unit <paramref name="index"/>'s state by one step, given its input projection in
        /// <see cref="RecurrentEngineState.Gates"/>: the recurrent product, then the cell's equations.
        /// </summary>
        private void Advance(Unit unit, RecurrentEngineState state, int index)
        {
            var product = BeginRecurrentProduct(unit, state);
            VectorKernels.MultiplyAdd(unit.RecurrentWeights, product.Length, _hidden, state.Hidden[index], product);
            Activate(unit, state, index);
        }

        /// <summary>
        /// Where W_hh·h is added for this cell, prepared: the gate pre-activations for LSTM ([4H]) and RNN ([H]); for
        /// GRU a buffer of its own ([3H], set to b_hh), since its reset gate multiplies the recurrent term alone.
        /// </summary>
        private Span<float> BeginRecurrentProduct(Unit unit, RecurrentEngineState state)
        {
            switch (Architecture.Cell)
            {
                case RecurrentCell.Lstm:
                    return state.Gates;
                case RecurrentCell.Gru:
                    unit.RecurrentBias.CopyTo(state.Recurrent);
                    return state.Recurrent;
                default:
                    return state.Gates.AsSpan(0, _hidden);
            }
        }

        /// <summary>
        /// The cell's equations on the input projection in <see cref="RecurrentEngineState.Gates"/> and the recurrent
        /// product added by <see cref="BeginRecurrentProduct"/>: unit <paramref name="index"/>'s h (and c) become the
        /// next step's. The equations are PyTorch's (see GateLevelCells in the trainers).
        /// </summary>
        private void Activate(Unit unit, RecurrentEngineState state, int index)
        {
            int h = _hidden;
            var hidden = state.Hidden[index].AsSpan();
            var gates = state.Gates.AsSpan();
            switch (Architecture.Cell)
            {
                case RecurrentCell.Lstm:
                {
                    // gates = [i f g o] pre-activations; c' = σ(f)⊙c + σ(i)⊙tanh(g); h' = σ(o)⊙tanh(c').
                    var cell = state.Cell![index].AsSpan();
                    var input = gates[..h];
                    var forget = gates.Slice(h, h);
                    var candidate = gates.Slice(2 * h, h);
                    var output = gates.Slice(3 * h, h);
                    TensorPrimitives.Sigmoid(gates[..(2 * h)], gates[..(2 * h)]);
                    TensorPrimitives.Tanh(candidate, candidate);
                    TensorPrimitives.Sigmoid(output, output);
                    TensorPrimitives.Multiply(forget, cell, cell);
                    TensorPrimitives.MultiplyAdd(input, candidate, cell, cell);
                    TensorPrimitives.Tanh(cell, candidate);
                    TensorPrimitives.Multiply(output, candidate, hidden);
                    break;
                }
                case RecurrentCell.Gru:
                {
                    // [xr xz xn] = gates; [hr hz hn] = W_hh·h + b_hh; r = σ(xr + hr), z = σ(xz + hz),
                    // n = tanh(xn + r⊙hn); h' = n + z⊙(h − n).
                    var recurrent = state.Recurrent.AsSpan();
                    var resetUpdate = gates[..(2 * h)];
                    TensorPrimitives.Add(resetUpdate, recurrent[..(2 * h)], resetUpdate);
                    TensorPrimitives.Sigmoid(resetUpdate, resetUpdate);
                    var candidate = gates.Slice(2 * h, h);
                    TensorPrimitives.MultiplyAdd(gates[..h], recurrent.Slice(2 * h, h), candidate, candidate);
                    TensorPrimitives.Tanh(candidate, candidate);
                    var difference = recurrent[..h];
                    TensorPrimitives.Subtract(hidden, candidate, difference);
                    TensorPrimitives.MultiplyAdd(gates.Slice(h, h), difference, candidate, hidden);
                    break;
                }
                default:
                {
                    var preActivation = gates[..h];
                    if (Architecture.Cell == RecurrentCell.RnnRelu)
                        TensorPrimitives.Max(preActivation, 0f, hidden);
                    else
                        TensorPrimitives.Tanh(preActivation, hidden);
                    break;
                }
            }
        }

        private static float[] Transpose(float[] matrix, int rows, int columns)
        {
            var transposed = new float[matrix.Length];
            for (int r = 0; r < rows; r++)
                for (int c = 0; c < columns; c++)
                    transposed[(long)c * rows + r] = matrix[(long)r * columns + c];
            return transposed;
        }
    }
}
