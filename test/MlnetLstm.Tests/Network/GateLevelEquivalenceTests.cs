using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using TorchSharp;
using TorchSharp.Modules;
using static MlnetLstm.Tests.NetworkTestKit;
using static TorchSharp.torch;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The two implementations of a recurrent layer (TorchSharp's fused nn.LSTM/GRU/RNN and the gate-level equations
    /// of <see cref="GateLevelCells"/>) are a switch on the same parameters, so they must compute the same outputs,
    /// final states and gradients; and both must agree with an independent reference, TorchSharp's own
    /// nn.LSTMCell/GRUCell/RNNCell stepped in a loop with the weights copied in.
    /// </summary>
    [TestClass]
    public sealed class GateLevelEquivalenceTests
    {
        private const double ForwardTolerance = 1e-5;
        private const double GradientTolerance = 1e-4;
        private const double OneHotTolerance = 1e-5;

        /// <summary>
        /// The scale of the random parameters: large enough for the gates to leave their linear region. A ReLU RNN is
        /// unbounded, and with weights that large its state grows geometrically (max |output| 11 already with 2 layers
        /// of 8 units; with 3 layers of 16 the two implementations then differed by 3.6e-5, float32 rounding of large
        /// values, not a different function); its weights are kept at 1.5/√H so that its values stay of order 1 like
        /// the other cells'.
        /// </summary>
        private static double ParameterScale(RecurrentCell cell, int hiddenSize)
            => cell == RecurrentCell.RnnRelu ? Math.Min(0.8, 1.5 / Math.Sqrt(hiddenSize)) : 0.8;

        [TestMethod]
        [DataRow(RecurrentCell.Lstm, 1, 1, 1, 2, 4)]
        [DataRow(RecurrentCell.Lstm, 3, 4, 1, 2, 5)]
        [DataRow(RecurrentCell.Lstm, 7, 8, 2, 3, 6)]
        [DataRow(RecurrentCell.Lstm, 5, 16, 3, 4, 7)]
        [DataRow(RecurrentCell.Gru, 1, 1, 1, 2, 4)]
        [DataRow(RecurrentCell.Gru, 3, 4, 1, 2, 5)]
        [DataRow(RecurrentCell.Gru, 7, 8, 2, 3, 6)]
        [DataRow(RecurrentCell.Gru, 5, 16, 3, 4, 7)]
        [DataRow(RecurrentCell.RnnTanh, 1, 1, 1, 2, 4)]
        [DataRow(RecurrentCell.RnnTanh, 3, 4, 1, 2, 5)]
        [DataRow(RecurrentCell.RnnTanh, 7, 8, 2, 3, 6)]
        [DataRow(RecurrentCell.RnnTanh, 5, 16, 3, 4, 7)]
        [DataRow(RecurrentCell.RnnRelu, 1, 1, 1, 2, 4)]
        [DataRow(RecurrentCell.RnnRelu, 3, 4, 1, 2, 5)]
        [DataRow(RecurrentCell.RnnRelu, 7, 8, 2, 3, 6)]
        [DataRow(RecurrentCell.RnnRelu, 5, 16, 3, 4, 7)]
        public void FusedAndGateLevelAgreeOnDenseInput(RecurrentCell cell, int inputSize, int hiddenSize, int layers, int batch, int steps)
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator((ulong)(1000 * (int)cell + 100 * layers + hiddenSize), CPU);
            using var network = Network(cell, NetworkInput.Features, inputSize, hiddenSize, layers);
            Randomize(network, generator, ParameterScale(cell, hiddenSize));
            var input = Normal(generator, steps, batch, inputSize);
            var initial = RandomState(cell, layers, batch, hiddenSize, generator);
            AssertNonzero(initial);

            var fused = Run(network, RecurrentImplementation.Fused, OneHotProjection.Auto, input, initial, includeHead: true);
            var gateLevel = Run(network, RecurrentImplementation.GateLevel, OneHotProjection.Auto, input, initial, includeHead: true);

            var (forward, gradient) = AssertSame(fused, gateLevel, ForwardTolerance, GradientTolerance, $"{cell} fused vs gate-level");
            Console.WriteLine($"{cell} in={inputSize} H={hiddenSize} L={layers} B={batch} T={steps}: fused vs gate-level max |Δ| forward {forward:E2}, gradients {gradient:E2} (max |output| {fused.Output.abs().max().ToDouble():F2}, max |gradient| {fused.Gradients.Values.Max(g => g.abs().max().ToDouble()):F2})");
        }

        [TestMethod]
        [DataRow(RecurrentCell.Lstm, 11, 6, 1, 3, 5)]
        [DataRow(RecurrentCell.Lstm, 40, 8, 2, 4, 6)]
        [DataRow(RecurrentCell.Gru, 11, 6, 1, 3, 5)]
        [DataRow(RecurrentCell.Gru, 40, 8, 2, 4, 6)]
        [DataRow(RecurrentCell.RnnTanh, 11, 6, 1, 3, 5)]
        [DataRow(RecurrentCell.RnnTanh, 40, 8, 2, 4, 6)]
        [DataRow(RecurrentCell.RnnRelu, 11, 6, 1, 3, 5)]
        [DataRow(RecurrentCell.RnnRelu, 40, 8, 2, 4, 6)]
        public void GatheredAndDenseOneHotAgree(RecurrentCell cell, int vocabulary, int hiddenSize, int layers, int batch, int steps)
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator((ulong)(2000 * (int)cell + vocabulary), CPU);
            using var network = Network(cell, NetworkInput.TokensOneHot, vocabulary, hiddenSize, layers);
            Randomize(network, generator, ParameterScale(cell, hiddenSize));
            var ids = randint(vocabulary, new long[] { steps, batch }, ScalarType.Int64, generator: generator);
            var initial = RandomState(cell, layers, batch, hiddenSize, generator);

            foreach (var implementation in new[] { RecurrentImplementation.GateLevel, RecurrentImplementation.Fused })
            {
                var gathered = Run(network, implementation, OneHotProjection.Gather, ids, initial, includeHead: true);
                var dense = Run(network, implementation, OneHotProjection.Dense, ids, initial, includeHead: true);
                var (forward, gradient) = AssertSame(gathered, dense, OneHotTolerance, OneHotTolerance, $"{cell} {implementation} one-hot gather vs dense");
                Console.WriteLine($"{cell} V={vocabulary} H={hiddenSize} L={layers} {implementation}: gather vs dense max |Δ| forward {forward:E2}, gradients {gradient:E2}");
            }
        }

        /// <summary>
        /// Both implementations against TorchSharp's nn.LSTMCell/GRUCell/RNNCell (libtorch's own cell kernels),
        /// stepped over time and stacked over layers by this test, with the network's weights copied in: in training
        /// (outputs and gradients) and in scoring, without autograd, where libtorch chooses other kernels (its oneDNN
        /// LSTM inference kernel is wrong on AVX-512 machines for H mod 32 in 1–16; hence H = 4, 10, 17, 32, 33).
        /// </summary>
        [TestMethod]
        [DataRow(RecurrentCell.Lstm, 3, 4, 1, 2, 5)]
        [DataRow(RecurrentCell.Lstm, 6, 10, 3, 3, 6)]
        [DataRow(RecurrentCell.Lstm, 5, 17, 1, 2, 4)]
        [DataRow(RecurrentCell.Lstm, 5, 32, 1, 2, 4)]
        [DataRow(RecurrentCell.Lstm, 5, 33, 2, 2, 4)]
        [DataRow(RecurrentCell.Gru, 3, 4, 1, 2, 5)]
        [DataRow(RecurrentCell.Gru, 6, 10, 3, 3, 6)]
        [DataRow(RecurrentCell.RnnTanh, 3, 4, 1, 2, 5)]
        [DataRow(RecurrentCell.RnnTanh, 6, 10, 3, 3, 6)]
        [DataRow(RecurrentCell.RnnRelu, 3, 4, 1, 2, 5)]
        [DataRow(RecurrentCell.RnnRelu, 6, 10, 3, 3, 6)]
        public void BothImplementationsMatchTorchCellsSteppedInALoop(RecurrentCell cell, int inputSize, int hiddenSize, int layers, int batch, int steps)
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator((ulong)(3000 * (int)cell + 10 * layers + inputSize), CPU);
            using var network = Network(cell, NetworkInput.Features, inputSize, hiddenSize, layers);
            Randomize(network, generator, ParameterScale(cell, hiddenSize));
            var input = Normal(generator, steps, batch, inputSize);
            var initial = RandomState(cell, layers, batch, hiddenSize, generator);

            var networkParameters = network.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
            var cells = new List<nn.Module>();
            var names = new Dictionary<string, string>();
            for (int layer = 0; layer < layers; layer++)
            {
                var module = MakeCell(cell, layer == 0 ? inputSize : hiddenSize, hiddenSize);
                cells.Add(module);
                var cellParameters = module.named_parameters().ToDictionary(p => p.name, p => (Tensor)p.parameter);
                CollectionAssert.AreEquivalent(new[] { "weight_ih", "weight_hh", "bias_ih", "bias_hh" }, cellParameters.Keys.ToArray());
                using var noGrad = no_grad();
                foreach (var (name, parameter) in cellParameters)
                {
                    string ours = $"layer{layer}.fused.{name}_l0";
                    Assert.IsTrue(networkParameters.ContainsKey(ours), $"network has no parameter {ours}");
                    parameter.copy_(networkParameters[ours]);
                    names[ours] = $"{layer}.{name}";
                }
            }

            // The reference: every layer stepped one time step at a time through the torch cell.
            var referenceInput = input.clone().requires_grad_();
            var referenceStart = LeafCopy(initial);
            Tensor x = referenceInput;
            var finalHidden = new Tensor[layers];
            var finalCell = cell == RecurrentCell.Lstm ? new Tensor[layers] : null;
            for (int layer = 0; layer < layers; layer++)
            {
                var h = referenceStart.Hidden[layer];
                var c = referenceStart.Cell?[layer];
                var outputs = new List<Tensor>();
                for (int t = 0; t < steps; t++)
                {
                    switch (cells[layer])
                    {
                        case LSTMCell lstm:
                            (h, c) = lstm.call(x[t], (h, c!));
                            break;
                        case GRUCell gru:
                            h = gru.call(x[t], h);
                            break;
                        case RNNCell rnn:
                            h = rnn.call(x[t], h);
                            break;
                        default:
                            throw new InvalidOperationException(cells[layer].GetType().Name);
                    }
                    outputs.Add(h);
                }
                x = stack(outputs);
                finalHidden[layer] = h;
                if (finalCell is not null)
                    finalCell[layer] = c!;
            }
            var referenceState = new RecurrentState(finalHidden, finalCell);
            LinearFunction(LossSeed, new[] { x }.Concat(Tensors(referenceState))).backward();
            var reference = new RunResult(
                x, referenceState,
                cells.SelectMany((module, layer) => module.named_parameters().Select(p => ($"{layer}.{p.name}", p.parameter.grad!.detach().clone()))).ToDictionary(p => p.Item1, p => p.Item2),
                Tensors(referenceStart).Select(s => s.grad!.detach().clone()).ToArray(),
                referenceInput.grad!.detach().clone());

            foreach (var implementation in new[] { RecurrentImplementation.Fused, RecurrentImplementation.GateLevel })
            {
                var ours = Run(network, implementation, OneHotProjection.Auto, input, initial, includeHead: false);
                // Same gradients under the reference's parameter names (the head is not part of this function).
                var renamed = ours with { Gradients = ours.Gradients.Where(g => names.ContainsKey(g.Key)).ToDictionary(g => names[g.Key], g => g.Value) };
                Assert.AreEqual(4 * layers, renamed.Gradients.Count, "every recurrent parameter must have a gradient");
                var (forward, gradient) = AssertSame(reference, renamed, ForwardTolerance, GradientTolerance, $"{cell} {implementation} vs torch cells");
                Console.WriteLine($"{cell} in={inputSize} H={hiddenSize} L={layers} {implementation} vs torch {cell}Cell loop: max |Δ| forward {forward:E2}, gradients {gradient:E2}");

                using var noGrad = no_grad();
                network.Implementation = implementation;
                var (scored, scoredState) = network.Encode(input, initial);
                double scoring = Math.Max(MaxAbsDiff(reference.Output, scored), Tensors(reference.State).Zip(Tensors(scoredState), MaxAbsDiff).Max());
                Assert.IsTrue(scoring <= ForwardTolerance, $"{cell} {implementation} scoring (no autograd) vs torch cells: max |Δ| {scoring:E2}");
            }
            foreach (var module in cells)
                module.Dispose();
        }

        /// <summary>The fixed linear function of the outputs whose gradients are compared.</summary>
        private const int LossSeed = 12345;

        private sealed record RunResult(Tensor Output, RecurrentState State, Dictionary<string, Tensor> Gradients, Tensor[] StateGradients, Tensor? InputGradient);

        /// <summary>
        /// Runs the network from a copy of <paramref name="initial"/>, back-propagates a fixed random linear function of
        /// the outputs (of the head's logits too if <paramref name="includeHead"/>) and of every final state, and keeps
        /// the gradients of the parameters, of the initial state and of dense input.
        /// </summary>
        private static RunResult Run(RecurrentNetwork network, RecurrentImplementation implementation, OneHotProjection projection, Tensor input, RecurrentState initial, bool includeHead)
        {
            network.zero_grad();
            network.Implementation = implementation;
            network.OneHotProjection = projection;
            var start = LeafCopy(initial);
            var x = input.is_floating_point() ? input.clone().requires_grad_() : input;
            var (output, state) = network.Encode(x, start);
            var terms = new[] { output }.Concat(Tensors(state)).ToList();
            if (includeHead)
                terms.Add(network.Head(output));
            LinearFunction(LossSeed, terms).backward();
            var gradients = Gradients(network);
            Assert.AreEqual(network.named_parameters().Count() - (includeHead ? 0 : 2), gradients.Count, "every parameter (but an unused head) must receive a gradient");
            return new RunResult(
                output.detach(), state,
                gradients,
                Tensors(start).Select(s => s.grad!.detach().clone()).ToArray(),
                x.requires_grad ? x.grad!.detach().clone() : null);
        }

        /// <summary>Asserts outputs, states and all gradients agree; returns the largest forward and gradient differences.</summary>
        private static (double Forward, double Gradient) AssertSame(RunResult expected, RunResult actual, double forwardTolerance, double gradientTolerance, string what)
        {
            double forward = MaxAbsDiff(expected.Output, actual.Output);
            Assert.IsTrue(forward <= forwardTolerance, $"{what}: outputs differ by {forward:E3}");
            var expectedStates = Tensors(expected.State).ToArray();
            var actualStates = Tensors(actual.State).ToArray();
            Assert.AreEqual(expectedStates.Length, actualStates.Length, $"{what}: number of state tensors");
            for (int i = 0; i < expectedStates.Length; i++)
            {
                double d = MaxAbsDiff(expectedStates[i], actualStates[i]);
                Assert.IsTrue(d <= forwardTolerance, $"{what}: final state {i} differs by {d:E3}");
                forward = Math.Max(forward, d);
            }

            double gradient = 0;
            CollectionAssert.AreEquivalent(expected.Gradients.Keys.ToArray(), actual.Gradients.Keys.ToArray(), $"{what}: parameters with gradients");
            foreach (var (name, grad) in expected.Gradients)
            {
                Assert.IsTrue(grad.abs().max().ToDouble() > 0, $"{what}: gradient of {name} is zero, which tests nothing");
                double d = MaxAbsDiff(grad, actual.Gradients[name]);
                Assert.IsTrue(d <= gradientTolerance, $"{what}: gradient of {name} differs by {d:E3}");
                gradient = Math.Max(gradient, d);
            }
            Assert.AreEqual(expected.StateGradients.Length, actual.StateGradients.Length);
            for (int i = 0; i < expected.StateGradients.Length; i++)
            {
                double d = MaxAbsDiff(expected.StateGradients[i], actual.StateGradients[i]);
                Assert.IsTrue(d <= gradientTolerance, $"{what}: gradient of initial state {i} differs by {d:E3}");
                gradient = Math.Max(gradient, d);
            }
            if (expected.InputGradient is not null || actual.InputGradient is not null)
            {
                double d = MaxAbsDiff(expected.InputGradient!, actual.InputGradient!);
                Assert.IsTrue(d <= gradientTolerance, $"{what}: gradient of the input differs by {d:E3}");
                gradient = Math.Max(gradient, d);
            }
            return (forward, gradient);
        }

        private static void AssertNonzero(RecurrentState state)
        {
            foreach (var s in Tensors(state))
                Assert.IsTrue(s.abs().min().ToDouble() > 0, "the initial state must be nonzero");
        }

        private static nn.Module MakeCell(RecurrentCell cell, int inputSize, int hiddenSize) => cell switch
        {
            RecurrentCell.Lstm => nn.LSTMCell(inputSize, hiddenSize),
            RecurrentCell.Gru => nn.GRUCell(inputSize, hiddenSize),
            RecurrentCell.RnnTanh => nn.RNNCell(inputSize, hiddenSize, nn.NonLinearities.Tanh),
            RecurrentCell.RnnRelu => nn.RNNCell(inputSize, hiddenSize, nn.NonLinearities.ReLU),
            _ => throw new ArgumentOutOfRangeException(nameof(cell)),
        };
    }
}
