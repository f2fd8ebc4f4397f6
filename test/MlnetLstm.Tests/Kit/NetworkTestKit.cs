using System;
using System.Collections.Generic;
using System.Linq;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace MlnetLstm.Tests
{
    /// <summary>Small helpers shared by the network tests: building networks, random tensors and comparisons.</summary>
    internal static class NetworkTestKit
    {
        /// <summary>A network on the CPU with the given shape.</summary>
        public static RecurrentNetwork Network(RecurrentCell cell, NetworkInput input, int inputSize, int hiddenSize, int layers, float dropout = 0, int outputSize = 3, int seed = 7)
            => new(new RecurrentArchitecture(cell, input, inputSize, 0, hiddenSize, layers, dropout, outputSize), seed, CPU);

        /// <summary>Overwrites every parameter with U(-scale, scale), so that the gates work away from zero.</summary>
        public static void Randomize(nn.Module network, Generator generator, double scale)
        {
            using var noGrad = no_grad();
            foreach (var (_, parameter) in network.named_parameters())
            {
                using var values = (rand(parameter.shape, generator: generator) * 2 - 1) * scale;
                parameter.copy_(values);
            }
        }

        /// <summary>N(0, 1) values of the given shape.</summary>
        public static Tensor Normal(Generator generator, params long[] shape) => randn(shape, generator: generator);

        /// <summary>A random, nonzero initial state for every layer (cell state too for LSTM).</summary>
        public static RecurrentState RandomState(RecurrentCell cell, int layers, long batch, int hidden, Generator generator)
        {
            Tensor[] Make() => Enumerable.Range(0, layers).Select(_ => Normal(generator, batch, hidden) * 0.8).ToArray();
            return new RecurrentState(Make(), cell == RecurrentCell.Lstm ? Make() : null);
        }

        /// <summary>A copy of a state whose tensors are fresh autograd leaves, so their gradients can be read.</summary>
        public static RecurrentState LeafCopy(RecurrentState state) => new(
            state.Hidden.Select(h => h.detach().clone().requires_grad_()).ToArray(),
            state.Cell?.Select(c => c.detach().clone().requires_grad_()).ToArray());

        /// <summary>max |a − b| over all elements.</summary>
        public static double MaxAbsDiff(Tensor a, Tensor b)
        {
            Assert(a.shape.SequenceEqual(b.shape), $"shapes differ: [{string.Join(",", a.shape)}] vs [{string.Join(",", b.shape)}]");
            using var scope = NewDisposeScope();
            return (a.detach().to(ScalarType.Float64) - b.detach().to(ScalarType.Float64)).abs().max().ToDouble();
        }

        /// <summary>The gradient of every parameter that has one, detached and cloned, by name.</summary>
        public static Dictionary<string, Tensor> Gradients(nn.Module module)
        {
            var result = new Dictionary<string, Tensor>();
            foreach (var (name, parameter) in module.named_parameters())
                if (parameter.grad is { } grad)
                    result[name] = grad.detach().clone();
            return result;
        }

        /// <summary>
        /// A fixed random linear function Σ_k Σ w_k⊙y_k of the given tensors, whose weights w_k come from
        /// <paramref name="seed"/>: the same weights for the same seed and shapes.
        /// </summary>
        public static Tensor LinearFunction(int seed, IEnumerable<Tensor> tensors)
        {
            using var generator = new Generator((ulong)seed, CPU);
            Tensor? total = null;
            foreach (var y in tensors)
            {
                var term = (y * Normal(generator, y.shape)).sum();
                total = total is null ? term : total + term;
            }
            return total ?? throw new ArgumentException("no tensors", nameof(tensors));
        }

        /// <summary>The hidden states, then the cell states, of every layer.</summary>
        public static IEnumerable<Tensor> Tensors(RecurrentState state) => state.Hidden.Concat(state.Cell ?? Array.Empty<Tensor>());

        private static void Assert(bool condition, string message)
        {
            if (!condition)
                throw new InvalidOperationException(message);
        }
    }
}
