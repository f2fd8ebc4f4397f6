using System;
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
    /// Deep (2–3 layer) networks with dropout between layers: dropout acts only in training mode and only between
    /// layers, so evaluation is deterministic and a network with dropout 0 computes the same in both modes.
    /// </summary>
    [TestClass]
    public sealed class DeepNetworkTests
    {
        private const int InputSize = 5;
        private const int HiddenSize = 12;
        private const int Batch = 4;
        private const int Steps = 6;

        private static readonly RecurrentImplementation[] Implementations = { RecurrentImplementation.Fused, RecurrentImplementation.GateLevel };

        [TestMethod]
        [DataRow(RecurrentCell.Lstm, 2)]
        [DataRow(RecurrentCell.Gru, 3)]
        [DataRow(RecurrentCell.RnnTanh, 2)]
        [DataRow(RecurrentCell.RnnRelu, 3)]
        public void EvalModeIsDeterministicAndTrainingModeDropsOut(RecurrentCell cell, int layers)
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator(42, CPU);
            using var network = Network(cell, NetworkInput.Features, InputSize, HiddenSize, layers, dropout: 0.5f);
            var input = Normal(generator, Steps, Batch, InputSize);
            var initial = RandomState(cell, layers, Batch, HiddenSize, generator);
            foreach (var implementation in Implementations)
            {
                network.Implementation = implementation;
                network.eval();
                var first = Scores(network, input, initial);
                var second = Scores(network, input, initial);
                Assert.AreEqual(0, MaxAbsDiff(first.Scores, second.Scores), $"{implementation}: two evaluation passes must give identical scores");
                Assert.AreEqual(0, MaxAbsDiff(first.Output, second.Output), $"{implementation}: two evaluation passes must give identical outputs");

                network.train();
                var training = Scores(network, input, initial);
                var training2 = Scores(network, input, initial);
                double trainVsEval = MaxAbsDiff(training.Scores, first.Scores);
                Assert.IsTrue(trainVsEval > 1e-3, $"{implementation}: dropout 0.5 in training must change the scores (max |Δ| {trainVsEval:E2})");
                Assert.IsTrue(MaxAbsDiff(training.Scores, training2.Scores) > 1e-3, $"{implementation}: each training pass draws a new dropout mask");
                // Dropout acts between layers only: the first layer's state never sees it, the last layer's always does.
                Assert.IsTrue(MaxAbsDiff(training.State.Hidden[0], first.State.Hidden[0]) <= 1e-6, $"{implementation}: layer 0 is before any dropout");
                Assert.IsTrue(MaxAbsDiff(training.State.Hidden[^1], first.State.Hidden[^1]) > 1e-3, $"{implementation}: the last layer reads dropped-out input");

                network.eval();
                var third = Scores(network, input, initial);
                Assert.AreEqual(0, MaxAbsDiff(first.Scores, third.Scores), $"{implementation}: evaluation after training passes is unchanged");
                Console.WriteLine($"{cell} L={layers} {implementation}: train vs eval max |Δscore| {trainVsEval:E2}");
            }
        }

        [TestMethod]
        [DataRow(RecurrentCell.Lstm, 2)]
        [DataRow(RecurrentCell.Gru, 3)]
        [DataRow(RecurrentCell.RnnTanh, 3)]
        [DataRow(RecurrentCell.RnnRelu, 2)]
        public void WithoutDropoutTrainingAndEvalModesAgree(RecurrentCell cell, int layers)
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator(43, CPU);
            using var network = Network(cell, NetworkInput.Features, InputSize, HiddenSize, layers, dropout: 0);
            var input = Normal(generator, Steps, Batch, InputSize);
            var initial = RandomState(cell, layers, Batch, HiddenSize, generator);
            foreach (var implementation in Implementations)
            {
                var (training, evaluation) = TrainingAndEvaluationScores(network, implementation, input, initial);
                Assert.AreEqual(0, MaxAbsDiff(training.Scores, evaluation.Scores), $"{implementation}: dropout 0 must make the modes identical");
                foreach (var (t, e) in Tensors(training.State).Zip(Tensors(evaluation.State)))
                    Assert.AreEqual(0, MaxAbsDiff(t, e), $"{implementation}: final states");
            }
        }

        [TestMethod]
        [DataRow(RecurrentCell.Lstm)]
        [DataRow(RecurrentCell.RnnTanh)]
        public void OneLayerHasNoDropoutToApply(RecurrentCell cell)
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator(44, CPU);
            using var network = Network(cell, NetworkInput.Features, InputSize, HiddenSize, layers: 1, dropout: 0.5f);
            var input = Normal(generator, Steps, Batch, InputSize);
            var initial = RandomState(cell, 1, Batch, HiddenSize, generator);
            foreach (var implementation in Implementations)
            {
                var (training, evaluation) = TrainingAndEvaluationScores(network, implementation, input, initial);
                Assert.AreEqual(0, MaxAbsDiff(training.Scores, evaluation.Scores), $"{implementation}: dropout is only between layers");
            }
        }

        /// <summary>
        /// Inverted dropout keeps the expected input of the next layer: for an RNN whose second layer is linear in
        /// its input at the first step (ReLU of a positive pre-activation with zero state), the average over many
        /// training passes approaches the evaluation result.
        /// </summary>
        [TestMethod]
        public void DropoutIsScaledToKeepTheExpectation()
        {
            using var scope = NewDisposeScope();
            using var network = Network(RecurrentCell.RnnRelu, NetworkInput.Features, 2, 64, layers: 2, dropout: 0.5f);
            var parameters = network.named_parameters().ToDictionary(p => p.name, p => p.parameter);
            using (no_grad())
            {
                // Layer 0: h = relu(x·1) with all-ones input weights; layer 1: one unit summing its input (weights
                // 1/64), with a bias large enough to keep the ReLU in its linear region.
                parameters["layer0.fused.weight_ih_l0"].fill_(1);
                parameters["layer0.fused.bias_ih_l0"].zero_();
                parameters["layer0.fused.bias_hh_l0"].zero_();
                parameters["layer1.fused.weight_ih_l0"].fill_(1.0 / 64);
                parameters["layer1.fused.bias_ih_l0"].fill_(10);
                parameters["layer1.fused.bias_hh_l0"].zero_();
            }
            const int batch = 256;
            var input = ones(1, batch, 2);
            using var noGrad = no_grad();
            network.eval();
            var (evaluation, _) = network.Encode(input, network.ZeroState(batch));
            // Layer 0 gives 2 in every unit; layer 1 gives 10 + mean of its input = 12.
            Assert.AreEqual(12, evaluation[0, 0, 0].ToDouble(), 1e-5, "evaluation output");
            network.train();
            var (training, _) = network.Encode(input, network.ZeroState(batch));
            var values = training.select(0, 0).select(1, 0).contiguous().data<float>().ToArray();
            double mean = values.Average();
            // Each output is 10 + (2/0.5)·(kept units)/64 with kept ~ Binomial(64, 0.5): mean 12, sd 0.25 per sample,
            // 0.016 for the mean of 256 samples.
            Assert.AreEqual(12, mean, 0.1, "inverted dropout keeps the expectation");
            Assert.IsTrue(values.All(v => Math.Abs((v - 10) * 64 / 4 - Math.Round((v - 10) * 64 / 4)) < 1e-3), "every output is 10 + 4·k/64: kept units are scaled by 1/(1−p)");
            Assert.IsTrue(values.Distinct().Count() > 3, "masks differ across the batch");
        }

        private sealed record Result(Tensor Output, RecurrentState State, Tensor Scores);

        private static Result Scores(RecurrentNetwork network, Tensor input, RecurrentState initial)
        {
            using var noGrad = no_grad();
            var (output, state) = network.Encode(input, initial);
            return new Result(output, state, network.Head(output));
        }

        /// <summary>The scores of one implementation in training mode, then in evaluation mode (which it is left in).</summary>
        private static (Result Training, Result Evaluation) TrainingAndEvaluationScores(RecurrentNetwork network, RecurrentImplementation implementation, Tensor input, RecurrentState initial)
        {
            network.Implementation = implementation;
            network.train();
            var training = Scores(network, input, initial);
            network.eval();
            return (training, Scores(network, input, initial));
        }
    }
}
