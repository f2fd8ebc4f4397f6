using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// A stack of recurrent layers (optionally bidirectional) with an optional token embedding and a linear head: the
    /// one network behind the language model, the sequence regressor and the sequence classifier. Time-major: inputs
    /// are [T, B] token ids or [T, B, features].
    /// </summary>
    internal sealed class RecurrentNetwork : nn.Module
    {
        private readonly Embedding? _embedding;
        private readonly RecurrentLayer[] _layers;
        private readonly Linear _head;
        private readonly Generator _dropoutGenerator;

        /// <summary>Builds the network with deterministic initial weights drawn from <paramref name="seed"/> (PyTorch's default distributions).</summary>
        public RecurrentNetwork(RecurrentArchitecture architecture, int seed, Device device) : base("RecurrentNetwork")
        {
            Architecture = architecture;
            if (architecture.Input == NetworkInput.TokensEmbedding)
            {
                _embedding = nn.Embedding(architecture.InputSize, architecture.EmbeddingSize);
                register_module("embedding", _embedding);
            }
            // Layer l, direction d is _layers[l × directions + d]; the backward direction of layer l is "layer{l}_reverse".
            _layers = Enumerable.Range(0, architecture.Layers * architecture.Directions)
                .Select(i => new RecurrentLayer(LayerName(i), architecture.Cell,
                    i < architecture.Directions ? architecture.FirstLayerInputSize : architecture.OutputWidth, architecture.HiddenSize))
                .ToArray();
            for (int i = 0; i < _layers.Length; i++)
                register_module(LayerName(i), _layers[i]);
            _head = nn.Linear(architecture.OutputWidth, architecture.OutputSize);
            register_module("head", _head);
            Initialize(seed);
            this.to(device);
            ArrangeInputWeights();
            Device = device;
            _dropoutGenerator = new Generator((ulong)seed + 1, device);
        }

        public RecurrentArchitecture Architecture { get; }

        private string LayerName(int index) => Architecture.Directions == 1 || index % 2 == 0
            ? $"layer{index / Architecture.Directions}"
            : $"layer{index / Architecture.Directions}_reverse";

        public Device Device { get; }

        /// <summary>How the recurrent layers are computed; changeable at any time (same parameters).</summary>
        public RecurrentImplementation Implementation { get; set; }

        /// <summary>How one-hot token input is projected; changeable at any time (same parameters).</summary>
        public OneHotProjection OneHotProjection
        {
            get => _oneHotProjection;
            set
            {
                _oneHotProjection = value;
                ArrangeInputWeights();
            }
        }

        private OneHotProjection _oneHotProjection;

        /// <summary>Whether <see cref="OneHotProjection.Auto"/> currently means gathering (large vocabularies).</summary>
        public bool GathersOneHot => OneHotProjection switch
        {
            OneHotProjection.Gather => true,
            OneHotProjection.Dense => false,
            _ => Architecture.InputSize > 4 * Architecture.HiddenSize,
        };

        // The gather reads the first layer's W_ih by columns, so it stores them column-major; the dense path keeps
        // PyTorch's row-major layout (and so the very same rounding as nn.LSTM on a one-hot matrix).
        private void ArrangeInputWeights()
        {
            if (Architecture.Input == NetworkInput.TokensOneHot)
                for (int direction = 0; direction < Architecture.Directions; direction++)
                    _layers[direction].StoreInputWeights(columnMajor: GathersOneHot);
        }

        private void Initialize(int seed)
        {
            using var generator = new Generator((ulong)seed, CPU);
            using var noGrad = no_grad();
            foreach (var (name, parameter) in named_parameters())
            {
                // PyTorch's defaults: N(0, 1) for embeddings, U(-1/√fan, 1/√fan) for recurrent layers (fan = hidden
                // size) and for the linear head (fan = its input size, which is also the hidden size).
                using var values = name.StartsWith("embedding", StringComparison.Ordinal)
                    ? randn(parameter.shape, generator: generator)
                    : (rand(parameter.shape, generator: generator) * 2 - 1) / Math.Sqrt(Architecture.HiddenSize);
                parameter.copy_(values);
            }
        }

        /// <summary>A managed copy of the parameters, in PyTorch's row-major layout whatever the storage here: what the fitted transformer scores with.</summary>
        public NetworkWeights ToWeights() => new(Architecture, named_parameters().Select(p =>
        {
            using var cpu = p.parameter.detach().cpu().contiguous();
            return new WeightTensor(p.name, p.parameter.shape, cpu.data<float>().ToArray());
        }).ToList());

        /// <summary>Copies <paramref name="weights"/>, of this network's architecture, into its parameters.</summary>
        public void LoadWeights(NetworkWeights weights)
        {
            using var noGrad = no_grad();
            foreach (var (name, parameter) in named_parameters())
            {
                using var values = tensor(weights[name], parameter.shape);
                parameter.copy_(values);
            }
        }

        /// <summary>Zero state for a batch, on the network's device.</summary>
        public RecurrentState ZeroState(long batch) => RecurrentState.Zeros(Architecture, batch, Device);

        /// <summary>
        /// Runs the recurrent layers. Returns the last layer's outputs [T, B, H × directions] and the final state of
        /// every layer and direction. Dropout between layers applies only in training mode. With
        /// <paramref name="lengths"/> (a [B] tensor of valid lengths, for padded batches) the backward direction reads
        /// each sequence from its own last valid step; forward outputs at valid steps never see padding.
        /// </summary>
        public (Tensor Output, RecurrentState State) Encode(Tensor input, RecurrentState state, Tensor? lengths = null)
        {
            int directions = Architecture.Directions;
            var hidden = new Tensor[_layers.Length];
            var cell = state.Cell is null ? null : new Tensor[_layers.Length];
            var reverseIndex = directions == 2 ? ReverseIndex(input.shape[0], input.shape[1], lengths, input.device) : null;
            Tensor x = input;
            for (int layer = 0; layer < Architecture.Layers; layer++)
            {
                if (layer > 0)
                    x = Dropout(x);
                var outputs = new Tensor[directions];
                for (int direction = 0; direction < directions; direction++)
                {
                    int i = layer * directions + direction;
                    var layerInput = direction == 0 ? x : Reverse(x, reverseIndex!);
                    var (output, h, c) = RunLayer(i, layer, layerInput, state.Hidden[i], state.Cell?[i]);
                    outputs[direction] = direction == 0 ? output : Reverse(output, reverseIndex!);
                    hidden[i] = h;
                    if (cell is not null)
                        cell[i] = c!;
                }
                x = directions == 1 ? outputs[0] : cat(outputs, 2);
            }
            return (x, new RecurrentState(hidden, cell));
        }

        private (Tensor Output, Tensor Hidden, Tensor? Cell) RunLayer(int index, int layer, Tensor input, Tensor hidden, Tensor? cell)
        {
            if (layer > 0 || Architecture.Input == NetworkInput.Features)
                return _layers[index].Forward(input, hidden, cell, Implementation);
            if (_embedding is not null)
                return _layers[index].Forward(_embedding.call(input), hidden, cell, Implementation);
            return GathersOneHot
                ? _layers[index].ForwardOneHot(input, hidden, cell)
                : _layers[index].Forward(nn.functional.one_hot(input, Architecture.InputSize).to(ScalarType.Float32), hidden, cell, Implementation);
        }

        /// <summary>index[t, b] = lengths[b] − 1 − t for t below lengths[b], else t: reverses each sequence within its length.</summary>
        private static Tensor ReverseIndex(long steps, long batch, Tensor? lengths, Device device)
        {
            var t = arange(steps, device: device).unsqueeze(1).expand(steps, batch);
            if (lengths is null)
                return (steps - 1) - t;
            var length = lengths.to(ScalarType.Int64).unsqueeze(0);
            return where(t < length, length - 1 - t, t);
        }

        private static Tensor Reverse(Tensor x, Tensor index) => x.dim() == 2
            ? x.gather(0, index)
            : x.gather(0, index.unsqueeze(2).expand(x.shape));

        /// <summary>
        /// Encodes whole sequences from a zero state and applies the head to their pooled outputs: [B, output size].
        /// <paramref name="lengths"/> ([B], for padded batches; null when every sequence fills all T steps) keeps
        /// padding out of the pooling. An empty sequence pools to zeros.
        /// </summary>
        public Tensor EncodeSequences(Tensor input, Tensor? lengths, SequencePooling pooling)
        {
            long steps = input.shape[0], batch = input.shape[1];
            using var state = ZeroState(batch);
            var (output, final) = Encode(input, state, lengths);
            final.Dispose();
            var length = lengths?.to(ScalarType.Int64) ?? full(batch, steps, dtype: ScalarType.Int64, device: Device);
            // valid[t, b, 1] = t < length[b]
            var valid = (arange(steps, device: Device).unsqueeze(1) < length.unsqueeze(0)).unsqueeze(2);
            Tensor pooled;
            switch (pooling)
            {
                case SequencePooling.Mean:
                    // dim: names the overload; a bare sum(0) binds the literal 0 to the dtype overload (ScalarType.Byte) and sums everything.
                    pooled = (output * valid).sum(dim: 0) / length.clamp_min(1).unsqueeze(1).to(output.dtype);
                    break;
                case SequencePooling.Max:
                    pooled = output.masked_fill(valid.logical_not(), float.NegativeInfinity).amax(0).masked_fill(length.eq(0).unsqueeze(1), 0);
                    break;
                default:
                    int hidden = Architecture.HiddenSize;
                    var last = (length - 1).clamp_min(0).view(1, batch, 1).expand(1, batch, hidden);
                    pooled = output.narrow(2, 0, hidden).gather(0, last).squeeze(0);
                    if (Architecture.Bidirectional)
                        pooled = cat(new[] { pooled, output[0].narrow(1, hidden, hidden) }, 1);
                    pooled = pooled * length.gt(0).unsqueeze(1).to(output.dtype);
                    break;
            }
            return Head(pooled);
        }

        /// <summary>The linear head on hidden states [..., H] → [..., output size].</summary>
        public Tensor Head(Tensor hidden) => _head.call(hidden);

        // Dropout with the network's own generator, so training is reproducible whatever else uses torch's global one.
        private Tensor Dropout(Tensor x)
        {
            float p = Architecture.Dropout;
            if (!training || p == 0)
                return x;
            var keep = rand(x.shape, generator: _dropoutGenerator, device: x.device).ge_(p).to(x.dtype);
            return x * keep / (1 - p);
        }

        protected override void Dispose(bool disposing)
        {
            if (disposing)
                _dropoutGenerator.Dispose();
            base.Dispose(disposing);
        }
    }
}
