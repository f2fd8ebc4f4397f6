using System;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// A stack of recurrent layers with an optional token embedding and a linear head: the one network behind the
    /// language model, the sequence regressor and the sequence classifier. Time-major: inputs are [T, B] token ids
    /// or [T, B, features].
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
            _layers = Enumerable.Range(0, architecture.Layers)
                .Select(i => new RecurrentLayer($"layer{i}", architecture.Cell, i == 0 ? architecture.FirstLayerInputSize : architecture.HiddenSize, architecture.HiddenSize))
                .ToArray();
            for (int i = 0; i < _layers.Length; i++)
                register_module($"layer{i}", _layers[i]);
            _head = nn.Linear(architecture.HiddenSize, architecture.OutputSize);
            register_module("head", _head);
            Initialize(seed);
            this.to(device);
            Device = device;
            _dropoutGenerator = new Generator((ulong)seed + 1, device);
        }

        public RecurrentArchitecture Architecture { get; }

        public Device Device { get; }

        /// <summary>How the recurrent layers are computed; changeable at any time (same parameters).</summary>
        public RecurrentImplementation Implementation { get; set; }

        /// <summary>How one-hot token input is projected; changeable at any time (same parameters).</summary>
        public OneHotProjection OneHotProjection { get; set; }

        /// <summary>Whether <see cref="OneHotProjection.Auto"/> currently means gathering (large vocabularies).</summary>
        public bool GathersOneHot => OneHotProjection switch
        {
            OneHotProjection.Gather => true,
            OneHotProjection.Dense => false,
            _ => Architecture.InputSize > 4 * Architecture.HiddenSize,
        };

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

        /// <summary>Zero state for a batch, on the network's device.</summary>
        public RecurrentState ZeroState(long batch) => RecurrentState.Zeros(Architecture, batch, Device);

        /// <summary>
        /// Runs the recurrent layers. Returns the last layer's outputs [T, B, H] and the final state of every layer.
        /// Dropout between layers applies only in training mode.
        /// </summary>
        public (Tensor Output, RecurrentState State) Encode(Tensor input, RecurrentState state)
        {
            var hidden = new Tensor[_layers.Length];
            var cell = state.Cell is null ? null : new Tensor[_layers.Length];
            Tensor x = input;
            for (int i = 0; i < _layers.Length; i++)
            {
                var (h0, c0) = (state.Hidden[i], state.Cell?[i]);
                (Tensor output, Tensor h, Tensor? c) result;
                if (i == 0 && Architecture.Input == NetworkInput.TokensOneHot)
                {
                    result = GathersOneHot
                        ? _layers[0].ForwardOneHot(x, h0, c0)
                        : _layers[0].Forward(nn.functional.one_hot(x, Architecture.InputSize).to(ScalarType.Float32), h0, c0, Implementation);
                }
                else
                {
                    if (i == 0 && _embedding is not null)
                        x = _embedding.call(x);
                    else if (i > 0)
                        x = Dropout(x);
                    result = _layers[i].Forward(x, h0, c0, Implementation);
                }
                x = result.output;
                hidden[i] = result.h;
                if (cell is not null)
                    cell[i] = result.c!;
            }
            return (x, new RecurrentState(hidden, cell));
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
