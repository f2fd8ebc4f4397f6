using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using TorchSharp;
using static MlnetLstm.Tests.NetworkTestKit;
using static TorchSharp.torch;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The managed engine that scores fitted models must compute what the trainer's TorchSharp network (libtorch's
    /// fused nn.LSTM/GRU/RNN kernels) computes on the same weights: per-position log-probabilities and next-token
    /// probabilities of language models, pooled outputs of sequence encoders, within 1e-5.
    /// </summary>
    [TestClass]
    public sealed class ManagedEngineAgreementTests
    {
        private const double Tolerance = 1e-5;
        private const int Steps = 24;

        private static readonly RecurrentCell[] Cells = { RecurrentCell.Lstm, RecurrentCell.Gru, RecurrentCell.RnnTanh, RecurrentCell.RnnRelu };

        /// <summary>Every cell × 1–3 layers × H ∈ {17, 32, 33, 256} at V = 85; every cell × 1–2 layers × H ∈ {33, 256} at V = 4,300.</summary>
        public static IEnumerable<object[]> LanguageModels()
        {
            foreach (var cell in Cells)
            {
                foreach (int layers in new[] { 1, 2, 3 })
                    foreach (int hidden in new[] { 17, 32, 33, 256 })
                        yield return new object[] { cell, layers, hidden, 85, false };
                foreach (int layers in new[] { 1, 2 })
                    foreach (int hidden in new[] { 33, 256 })
                        yield return new object[] { cell, layers, hidden, 4300, false };
                yield return new object[] { cell, 2, 33, 85, true };
            }
        }

        /// <summary>
        /// Parameters drawn at a scale that keeps every cell's gates away from their linear region without saturating
        /// them all (the default initialisation is gentler than trained weights). A vanilla RNN whose recurrent matrix
        /// has a spectral radius above 1 is chaotic: any difference in float rounding (here, the order of a dot
        /// product's terms) grows exponentially with the steps (at 3/√H, 6.7e-5 after 24 steps), so its scale keeps the
        /// radius near 0.9, where trained RNNs live; that also keeps a ReLU RNN's state of order 1.
        /// </summary>
        private static double Scale(RecurrentCell cell, int hidden) => cell is RecurrentCell.RnnTanh or RecurrentCell.RnnRelu
            ? Math.Min(0.8, 1.6 / Math.Sqrt(hidden))
            : Math.Min(0.8, 3 / Math.Sqrt(hidden));

        /// <summary>Randomizes the network at <see cref="Scale"/>, and its head wider, so that log-probabilities span several nats.</summary>
        private static void Randomize(RecurrentNetwork network, Generator generator, RecurrentCell cell, int hidden)
        {
            NetworkTestKit.Randomize(network, generator, Scale(cell, hidden));
            using var noGrad = no_grad();
            foreach (var (name, parameter) in network.named_parameters().Where(p => p.name.StartsWith("head.", StringComparison.Ordinal)))
            {
                using var values = (rand(parameter.shape, generator: generator) * 2 - 1) * (5 / Math.Sqrt(network.Architecture.OutputWidth));
                parameter.copy_(values);
            }
        }

        [TestMethod]
        [DynamicData(nameof(LanguageModels))]
        public void LanguageModelLogProbabilitiesAgree(RecurrentCell cell, int layers, int hidden, int vocabulary, bool embedding)
        {
            using var scope = NewDisposeScope();
            var architecture = new RecurrentArchitecture(cell, embedding ? NetworkInput.TokensEmbedding : NetworkInput.TokensOneHot, vocabulary, embedding ? 12 : 0,
                hidden, layers, 0, vocabulary);
            using var generator = new Generator((ulong)(1000 * (int)cell + 100 * layers + hidden + vocabulary), CPU);
            using var network = new RecurrentNetwork(architecture, 1, CPU);
            Randomize(network, generator, cell, hidden);
            network.eval();
            var random = new Random(hidden + vocabulary);
            var tokens = Enumerable.Range(0, Steps).Select(_ => random.Next(vocabulary)).ToArray();

            Tensor expected;
            using (no_grad())
            {
                using var state = network.ZeroState(1);
                var (output, final) = network.Encode(tensor(tokens.Select(t => (long)t).ToArray()).view(Steps, 1), state);
                final.Dispose();
                expected = network.Head(output).squeeze(1).log_softmax(1);
            }

            var engine = new RecurrentEngine(network.ToWeights());
            var managedState = engine.CreateState();
            var actual = new float[Steps * vocabulary];
            var probabilities = new float[vocabulary];
            double worstProbability = 0;
            var expectedValues = expected.data<float>().ToArray();
            for (int t = 0; t < Steps; t++)
            {
                engine.Step(managedState, tokens[t]);
                engine.Head(engine.Top(managedState), managedState.Output);
                var logits = managedState.Output;
                double max = logits.Max(), logSum = Math.Log(logits.Sum(l => Math.Exp(l - max))) + max;
                for (int v = 0; v < vocabulary; v++)
                    actual[t * vocabulary + v] = (float)(logits[v] - logSum);
                VectorKernels.Softmax(logits, probabilities);
                for (int v = 0; v < vocabulary; v++)
                    worstProbability = Math.Max(worstProbability, Math.Abs(probabilities[v] - Math.Exp(expectedValues[t * vocabulary + v])));
            }
            double worst = expectedValues.Zip(actual, (e, a) => Math.Abs(e - (double)a)).Max();
            double spread = expectedValues.Max() - expectedValues.Min();
            Console.WriteLine($"{cell} {layers}×{hidden}, V = {vocabulary}{(embedding ? ", embedding" : "")}: max |Δ log p| = {worst:E2}, max |Δ p| = {worstProbability:E2} (log p spans {spread:F2})");
            Assert.IsGreaterThan(1.0, spread, "the log-probabilities must vary, or the comparison tests nothing");
            Assert.IsLessThanOrEqualTo(Tolerance, worst, "max |Δ| of the per-position log-probabilities");
            Assert.IsLessThanOrEqualTo(Tolerance, worstProbability, "max |Δ| of the next-token probabilities");
        }

        /// <summary>The bidirectional (and unidirectional) classifier network with each pooling, on tokens; and the regressor's network on features.</summary>
        [TestMethod]
        [DataRow(RecurrentCell.Lstm, true, 1, SequencePooling.Last)]
        [DataRow(RecurrentCell.Lstm, true, 2, SequencePooling.Mean)]
        [DataRow(RecurrentCell.Lstm, true, 3, SequencePooling.Max)]
        [DataRow(RecurrentCell.Gru, true, 2, SequencePooling.Last)]
        [DataRow(RecurrentCell.Gru, true, 1, SequencePooling.Mean)]
        [DataRow(RecurrentCell.Gru, true, 2, SequencePooling.Max)]
        [DataRow(RecurrentCell.RnnTanh, true, 2, SequencePooling.Mean)]
        [DataRow(RecurrentCell.RnnRelu, true, 2, SequencePooling.Max)]
        [DataRow(RecurrentCell.Lstm, false, 2, SequencePooling.Mean)]
        [DataRow(RecurrentCell.Gru, false, 3, SequencePooling.Max)]
        public void SequenceEncodersAgree(RecurrentCell cell, bool bidirectional, int layers, SequencePooling pooling)
        {
            using var scope = NewDisposeScope();
            const int vocabulary = 40, hidden = 33, classes = 5;
            var architecture = new RecurrentArchitecture(cell, NetworkInput.TokensEmbedding, vocabulary, 10, hidden, layers, 0, classes, bidirectional);
            using var generator = new Generator((ulong)(7 * (int)cell + layers + (int)pooling), CPU);
            using var network = new RecurrentNetwork(architecture, 1, CPU);
            Randomize(network, generator, cell, hidden);
            network.eval();
            var engine = new RecurrentEngine(network.ToWeights());
            var state = engine.CreateState();
            var random = new Random(layers);
            foreach (int length in new[] { 1, 9, 30 })
            {
                var tokens = Enumerable.Range(0, length).Select(_ => random.Next(vocabulary)).ToArray();
                float[] expected;
                using (no_grad())
                    expected = network.EncodeSequences(tensor(tokens.Select(t => (long)t).ToArray()).view(length, 1), null, pooling).data<float>().ToArray();
                engine.Encode(state, tokens, pooling);
                double worst = expected.Zip(state.Output, (e, a) => Math.Abs(e - (double)a)).Max();
                Console.WriteLine($"{cell} {(bidirectional ? "bidirectional " : "")}{layers}×{hidden}, {pooling}, T = {length}: max |Δ| = {worst:E2}");
                Assert.IsLessThanOrEqualTo(Tolerance, worst, $"T = {length}: max |Δ| of the class scores");
            }
        }

        [TestMethod]
        [DataRow(RecurrentCell.Lstm, 2)]
        [DataRow(RecurrentCell.Gru, 1)]
        [DataRow(RecurrentCell.RnnTanh, 3)]
        [DataRow(RecurrentCell.RnnRelu, 1)]
        public void FeatureSequenceEncodersAgree(RecurrentCell cell, int layers)
        {
            using var scope = NewDisposeScope();
            const int features = 3, steps = 19, horizon = 2;
            var architecture = new RecurrentArchitecture(cell, NetworkInput.Features, features, 0, 17, layers, 0, horizon);
            using var generator = new Generator((ulong)(11 * (int)cell + layers), CPU);
            using var network = new RecurrentNetwork(architecture, 1, CPU);
            Randomize(network, generator, cell, 17);
            network.eval();
            var window = Normal(generator, steps, 1, features);
            float[] expected;
            using (no_grad())
                expected = network.EncodeSequences(window, null, SequencePooling.Last).data<float>().ToArray();
            var engine = new RecurrentEngine(network.ToWeights());
            var state = engine.CreateState();
            engine.Encode(state, window.data<float>().ToArray(), steps, SequencePooling.Last);
            double worst = expected.Zip(state.Output, (e, a) => Math.Abs(e - (double)a)).Max();
            Console.WriteLine($"{cell} {layers}×17 on {features} features: max |Δ| = {worst:E2}");
            Assert.IsLessThanOrEqualTo(Tolerance, worst);
        }

        /// <summary>An empty sequence pools to zeros, as in the TorchSharp network: the head's bias alone.</summary>
        [TestMethod]
        public void EmptySequencePoolsToZeros()
        {
            using var scope = NewDisposeScope();
            var architecture = new RecurrentArchitecture(RecurrentCell.Gru, NetworkInput.TokensEmbedding, 10, 4, 6, 2, 0, 3, bidirectional: true);
            using var network = new RecurrentNetwork(architecture, 3, CPU);
            var weights = network.ToWeights();
            var engine = new RecurrentEngine(weights);
            var state = engine.CreateState();
            foreach (var pooling in new[] { SequencePooling.Last, SequencePooling.Mean, SequencePooling.Max })
            {
                engine.Encode(state, ReadOnlySpan<int>.Empty, pooling);
                CollectionAssert.AreEqual(weights["head.bias"], state.Output, $"{pooling}");
            }
        }

        /// <summary>The weights' layout (names, shapes, order) is exactly TorchSharp's list of the network's parameters.</summary>
        [TestMethod]
        [DataRow(RecurrentCell.Lstm, 0, false)]
        [DataRow(RecurrentCell.Gru, 1, true)]
        [DataRow(RecurrentCell.RnnRelu, 2, false)]
        public void WeightLayoutIsTorchSharpsParameterList(RecurrentCell cell, int inputKind, bool bidirectional)
        {
            var input = (NetworkInput)inputKind;
            var architecture = new RecurrentArchitecture(cell, input, 9, input == NetworkInput.TokensEmbedding ? 5 : 0, 6, 2, 0, 4, bidirectional);
            using var network = new RecurrentNetwork(architecture, 1, CPU);
            var expected = network.named_parameters().Select(p => $"{p.name} [{string.Join(", ", p.parameter.shape)}]").ToArray();
            var actual = NetworkWeights.Layout(architecture).Select(p => $"{p.Name} [{string.Join(", ", p.Shape)}]").ToArray();
            CollectionAssert.AreEqual(expected, actual);
        }
    }
}
