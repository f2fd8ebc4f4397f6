using System;
using System.IO;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// What every import of PyTorch weights needs besides the file: the network's cell, sizes and layers (a state_dict
    /// has shapes but not the cell's nonlinearity or how its layers are meant to be read), and the parameters' names.
    /// </summary>
    public abstract class PyTorchImportOptions
    {
        /// <summary>
        /// The weights: a <c>.pth</c> written by <c>torch.save(model.state_dict(), path)</c>, or a <c>.safetensors</c>
        /// file. Required. A .pth is a pickle; only state_dicts of tensors are read from it (see the README's
        /// "From and to PyTorch"): anything else in it is refused before it is unpickled.
        /// </summary>
        public string WeightsPath { get; set; } = "";

        /// <summary>The recurrent cell: <c>nn.LSTM</c>, <c>nn.GRU</c>, <c>nn.RNN</c> (tanh, its default) or <c>nn.RNN(nonlinearity='relu')</c>. Default LSTM.</summary>
        public RecurrentCell Cell { get; set; } = RecurrentCell.Lstm;

        /// <summary>The recurrent module's <c>hidden_size</c>. Required; 1 to 65,536.</summary>
        public int HiddenSize { get; set; }

        /// <summary>The recurrent module's <c>num_layers</c>. Default 1; 1 to 64.</summary>
        public int Layers { get; set; } = 1;

        /// <summary>The state_dict keys of the network's parameters. Default those of d2l's <c>RNNModel</c> (Dive into Deep Learning, section 8.6): rnn.*, linear.*.</summary>
        public PyTorchParameterNames Names { get; set; } = new();

        /// <summary>Checks every option, throwing an exception that names the option, its value and what it must be.</summary>
        internal virtual void Validate()
        {
            Require(!string.IsNullOrWhiteSpace(WeightsPath), nameof(WeightsPath), WeightsPath, "the path of a .pth or .safetensors file");
            if (!File.Exists(WeightsPath))
                throw new FileNotFoundException($"Option WeightsPath names '{WeightsPath}', which does not exist. Give the .pth of torch.save(model.state_dict(), path) or a .safetensors file.", WeightsPath);
            Require(Enum.IsDefined(Cell), nameof(Cell), Cell, "Lstm, Gru, RnnTanh or RnnRelu");
            Require(HiddenSize >= 1 && HiddenSize <= RecurrentArchitecture.MaximumWidth, nameof(HiddenSize), HiddenSize,
                $"the hidden_size of the PyTorch network, 1 to {RecurrentArchitecture.MaximumWidth}");
            Require(Layers >= 1 && Layers <= RecurrentArchitecture.MaximumLayers, nameof(Layers), Layers, $"the num_layers of the PyTorch network, 1 to {RecurrentArchitecture.MaximumLayers}");
            Require(Names is not null, nameof(Names), Names, "the parameter names (new PyTorchParameterNames() for d2l's RNNModel: rnn, linear)");
        }

        /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the option unless <paramref name="valid"/>.</summary>
        private protected static void Require(bool valid, string option, object? value, string expected)
        {
            if (!valid)
                throw new ArgumentOutOfRangeException(option, value, $"Option {option} is {(value is string s ? $"'{s}'" : value?.ToString() ?? "null")}; it must be {expected}.");
        }
    }
}
