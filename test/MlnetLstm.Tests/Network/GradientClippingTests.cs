using System;
using System.Linq;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;
using TorchSharp;
using static TorchSharp.torch;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// <see cref="GradientClipping.ClipByGlobalNorm"/> against a hand computation in double precision:
    /// ‖g‖ = √(Σ over all parameters of Σ g²), and every gradient scaled by θ/‖g‖ when ‖g‖ &gt; θ.
    /// </summary>
    [TestClass]
    public sealed class GradientClippingTests
    {
        // Gradients set by hand. Σ g² = (9 + 16 + 0 + 1 + 4 + 4) + (1 + 0.25 + 144 + 0) + (0.01 + 0.04) = 179.3.
        private static readonly float[] GradientA = { 3, 4, 0, 1, -2, 2 };   // shape [2, 3], ‖·‖ = √34 > θ below
        private static readonly float[] GradientB = { -1, 0.5f, 12, 0 };     // shape [4], ‖·‖ = √145.25 > θ below
        private static readonly float[] GradientD = { 0.1f, -0.2f };         // shape [2], ‖·‖ ≈ 0.22 < θ, scaled all the same
        private const double SumOfSquares = 179.3;

        [TestMethod]
        public void ScalesEveryGradientByThetaOverTheGlobalNormWhenAbove()
        {
            using var scope = NewDisposeScope();
            const double theta = 5;
            var (a, b, c, d) = ParametersWithHandSetGradients();

            double norm = HandNorm(GradientA, GradientB, GradientD);
            Assert.AreEqual(Math.Sqrt(SumOfSquares), norm, 1e-6, "hand norm (sanity of the test's own arithmetic)");
            Assert.IsTrue(norm > theta);

            var returned = GradientClipping.ClipByGlobalNorm(new[] { a, b, c, d }, theta);

            Assert.AreEqual(norm, returned.ToDouble(), 1e-5, "the returned norm is the norm before clipping");
            double factor = theta / norm;
            AssertValues(GradientA.Select(g => g * factor).ToArray(), a.grad!, "a");
            AssertValues(GradientB.Select(g => g * factor).ToArray(), b.grad!, "b");
            // A parameter whose own norm is below θ is scaled by the same global factor, not left alone.
            AssertValues(GradientD.Select(g => g * factor).ToArray(), d.grad!, "d");
            Assert.IsNull(c.grad, "a parameter without a gradient keeps none");

            double clippedNorm = HandNorm(Values(a.grad!), Values(b.grad!), Values(d.grad!));
            Assert.AreEqual(theta, clippedNorm, 1e-5, "after clipping the global norm is θ");
        }

        [TestMethod]
        public void LeavesGradientsExactlyUnchangedWhenTheNormIsBelowTheta()
        {
            using var scope = NewDisposeScope();
            const double theta = 13.5; // just above √179.3 ≈ 13.39
            var (a, b, c, d) = ParametersWithHandSetGradients();

            var returned = GradientClipping.ClipByGlobalNorm(new[] { a, b, c, d }, theta);

            Assert.AreEqual(Math.Sqrt(SumOfSquares), returned.ToDouble(), 1e-5);
            CollectionAssert.AreEqual(GradientA, Values(a.grad!).Select(v => (float)v).ToArray(), "a must not change");
            CollectionAssert.AreEqual(GradientB, Values(b.grad!).Select(v => (float)v).ToArray(), "b must not change");
            CollectionAssert.AreEqual(GradientD, Values(d.grad!).Select(v => (float)v).ToArray(), "d must not change");
            Assert.IsNull(c.grad);
        }

        [TestMethod]
        [DataRow(0.5)]
        [DataRow(0.01)]
        public void RandomGradientsOfSeveralShapesAreClippedToTheta(double fractionOfNorm)
        {
            using var scope = NewDisposeScope();
            using var generator = new Generator(99, CPU);
            var shapes = new[] { new long[] { 8, 5 }, new long[] { 8 }, new long[] { 3, 4, 2 }, new long[] { 1 } };
            var parameters = shapes.Select(s => zeros(s, requires_grad: true)).ToArray();
            var gradients = shapes.Select(s => randn(s, generator: generator) * 3).ToArray();
            // ∂/∂p Σ p⊙G = G exactly.
            parameters.Zip(gradients, (p, g) => (p * g).sum()).Aggregate((x, y) => x + y).backward();
            var before = gradients.Select(Values).ToArray();
            double norm = HandNorm(before.Select(v => v.Select(x => (float)x).ToArray()).ToArray());
            double theta = fractionOfNorm * norm;

            var returned = GradientClipping.ClipByGlobalNorm(parameters, theta);

            Assert.AreEqual(norm, returned.ToDouble(), 1e-5 * norm);
            for (int i = 0; i < parameters.Length; i++)
                AssertValues(before[i].Select(v => v * theta / norm).ToArray(), parameters[i].grad!, $"parameter {i}");
        }

        /// <summary>a [2,3], b [4] and d [2] with gradients <see cref="GradientA"/>, <see cref="GradientB"/>, <see cref="GradientD"/>; c [3] with none.</summary>
        private static (Tensor A, Tensor B, Tensor C, Tensor D) ParametersWithHandSetGradients()
        {
            var a = zeros(new long[] { 2, 3 }, requires_grad: true);
            var b = zeros(new long[] { 4 }, requires_grad: true);
            var c = zeros(new long[] { 3 }, requires_grad: true);
            var d = zeros(new long[] { 2 }, requires_grad: true);
            // ∂/∂p Σ p⊙G = G exactly.
            var loss = (a * tensor(GradientA, new long[] { 2, 3 })).sum() + (b * tensor(GradientB)).sum() + (d * tensor(GradientD)).sum();
            loss.backward();
            CollectionAssert.AreEqual(GradientA, a.grad!.reshape(-1).data<float>().ToArray(), "setting the gradients by hand");
            Assert.IsNull(c.grad);
            return (a, b, c, d);
        }

        private static double HandNorm(params float[][] gradients)
        {
            double sum = 0;
            foreach (var g in gradients)
                foreach (var v in g)
                    sum += (double)v * v;
            return Math.Sqrt(sum);
        }

        private static double HandNorm(params double[][] gradients) => HandNorm(gradients.Select(g => g.Select(v => (float)v).ToArray()).ToArray());

        private static double[] Values(Tensor t) => t.detach().reshape(-1).data<float>().ToArray().Select(v => (double)v).ToArray();

        private static void AssertValues(double[] expected, Tensor actual, string name)
        {
            var values = Values(actual);
            Assert.AreEqual(expected.Length, values.Length, name);
            for (int i = 0; i < expected.Length; i++)
                Assert.AreEqual(expected[i], values[i], 2e-6 + 1e-6 * Math.Abs(expected[i]), $"{name}[{i}]");
        }
    }
}
