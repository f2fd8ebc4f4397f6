using System;
using System.Collections.Generic;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// One recurrent layer. Its parameters are those of a one-layer TorchSharp nn.LSTM/GRU/RNN (weight_ih_l0,
    /// weight_hh_l0, bias_ih_l0, bias_hh_l0), which <see cref="RecurrentImplementation.Fused"/> runs directly and
    /// <see cref="RecurrentImplementation.GateLevel"/> runs through <see cref="GateLevelCells"/>.
    /// </summary>
    internal sealed class RecurrentLayer : nn.Module
    {
        private readonly nn.Module _fused;
        private readonly RecurrentCell _cell;

        public RecurrentLayer(string name, RecurrentCell cell, int inputSize, int hiddenSize) : base(name)
        {
            _cell = cell;
            _fused = cell switch
            {
                RecurrentCell.Lstm => nn.LSTM(inputSize, hiddenSize),
                RecurrentCell.Gru => nn.GRU(inputSize, hiddenSize),
                RecurrentCell.RnnTanh => nn.RNN(inputSize, hiddenSize, nonLinearity: nn.NonLinearities.Tanh),
                RecurrentCell.RnnRelu => nn.RNN(inputSize, hiddenSize, nonLinearity: nn.NonLinearities.ReLU),
                _ => throw new ArgumentOutOfRangeException(nameof(cell)),
            };
            register_module("fused", _fused);
        }

        private Tensor WeightIh => _fused.get_parameter("weight_ih_l0")!;

        private Tensor WeightHh => _fused.get_parameter("weight_hh_l0")!;

        private Tensor BiasIh => _fused.get_parameter("bias_ih_l0")!;

        private Tensor BiasHh => _fused.get_parameter("bias_hh_l0")!;

        /// <summary>Runs the layer over dense input [T, B, in].</summary>
        public (Tensor Output, Tensor Hidden, Tensor? Cell) Forward(Tensor input, Tensor hidden, Tensor? cell, RecurrentImplementation implementation)
        {
            if (implementation == RecurrentImplementation.GateLevel)
                return Recur(nn.functional.linear(input, WeightIh, BiasIh), hidden, cell);

            switch (_fused)
            {
                case LSTM lstm:
                {
                    // libtorch 2.5's oneDNN LSTM inference kernel, chosen on the CPU under no_grad, returns wrong outputs
                    // on AVX-512 machines when H mod 32 is 1–16 (measured: H = 1…16, 33…48, 65…; |Δ| ≈ 0.3). Its training
                    // kernel is right for every H and as fast at inference sizes, so scoring runs that one and drops the graph.
                    bool inference = !is_grad_enabled() && input.device_type == DeviceType.CPU;
                    using var grad = inference ? enable_grad() : null;
                    var (output, h, c) = lstm.call(input, (hidden.unsqueeze(0), cell!.unsqueeze(0)));
                    return inference
                        ? (output.detach(), h.squeeze(0).detach(), c.squeeze(0).detach())
                        : (output, h.squeeze(0), c.squeeze(0));
                }
                case GRU gru:
                    var (gruOutput, gruHidden) = gru.call(input, hidden.unsqueeze(0));
                    return (gruOutput, gruHidden.squeeze(0), null);
                case RNN rnn:
                    var (rnnOutput, rnnHidden) = rnn.call(input, hidden.unsqueeze(0));
                    return (rnnOutput, rnnHidden.squeeze(0), null);
                default:
                    throw new InvalidOperationException($"Unexpected fused module {_fused.GetType()}.");
            }
        }

        /// <summary>
        /// Stores W_ih column-major (its transpose contiguous) or row-major (PyTorch's layout). For one-hot input,
        /// <see cref="ForwardOneHot"/> gathers W_ih's columns: column-major, they are contiguous in memory and their
        /// gradient accumulates in the same layout; row-major, the gradient of the gather is a transposed copy of all of
        /// W_ih every batch (at V = 4,335 and H = 256 that took 20–30 ms of a 110 ms batch; column-major, under 2 ms).
        /// Shape, values and name are unchanged, and the fused kernels read either layout.
        /// </summary>
        public void StoreInputWeights(bool columnMajor)
        {
            var weight = WeightIh; // the module's own parameter object: not ours to dispose
            bool isColumnMajor = weight.stride(0) == 1 && weight.stride(1) == weight.shape[0];
            if (columnMajor ? isColumnMajor : weight.is_contiguous())
                return;
            using var noGrad = no_grad();
            if (columnMajor)
            {
                using var transposed = weight.t();
                using var contiguous = transposed.contiguous();
                using var arranged = contiguous.t();
                weight.set_(arranged);
            }
            else
            {
                using var arranged = weight.contiguous();
                weight.set_(arranged);
            }
        }

        /// <summary>
        /// Runs the layer over one-hot token ids [T, B] without a one-hot matrix: W_ih·one_hot(x) is column x of W_ih,
        /// so the input projection is a gather of W_ih's columns.
        /// </summary>
        public (Tensor Output, Tensor Hidden, Tensor? Cell) ForwardOneHot(Tensor ids, Tensor hidden, Tensor? cell)
        {
            var projection = WeightIh.t().index_select(0, ids.reshape(-1)).reshape(ids.shape[0], ids.shape[1], -1) + BiasIh;
            return Recur(projection, hidden, cell);
        }

        /// <summary>The recurrence over precomputed input projections [T, B, gates·H], one time step at a time.</summary>
        private (Tensor Output, Tensor Hidden, Tensor? Cell) Recur(Tensor projection, Tensor hidden, Tensor? cell)
        {
            var weightHh = WeightHh;
            var biasHh = BiasHh;
            // LSTM and RNN add b_hh outside the nonlinearity's inner products, so it joins the projection once for all steps.
            if (_cell != RecurrentCell.Gru)
                projection = projection + biasHh;
            long steps = projection.shape[0];
            var outputs = new List<Tensor>((int)steps);
            for (long t = 0; t < steps; t++)
            {
                var xp = projection[t];
                switch (_cell)
                {
                    case RecurrentCell.Lstm:
                        (hidden, cell) = GateLevelCells.Lstm(xp, hidden, cell!, weightHh);
                        break;
                    case RecurrentCell.Gru:
                        hidden = GateLevelCells.Gru(xp, hidden, weightHh, biasHh);
                        break;
                    default:
                        hidden = GateLevelCells.Rnn(xp, hidden, weightHh, _cell == RecurrentCell.RnnRelu);
                        break;
                }
                outputs.Add(hidden);
            }
            return (stack(outputs), hidden, cell);
        }
    }
}
