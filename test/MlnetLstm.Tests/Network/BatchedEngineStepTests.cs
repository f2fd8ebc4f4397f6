using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The managed engine's batched step (several streams advance together, one matrix-matrix product per layer) must
    /// give every stream what the one-stream step gives it: the same hidden states and log-probabilities, whatever
    /// the other streams in the batch are, and while streams join and leave between steps.
    /// </summary>
    [TestClass]
    public sealed class BatchedEngineStepTests
    {
        private const double Tolerance = 1e-6;

        /// <summary>Random weights in the engine's layout, at a scale where every gate varies (no TorchSharp needed).</summary>
        internal static RecurrentEngine RandomEngine(RecurrentCell cell, NetworkInput input, int vocabulary, int hidden, int layers, int seed)
        {
            var architecture = new RecurrentArchitecture(cell, input, vocabulary, input == NetworkInput.TokensEmbedding ? 6 : 0, hidden, layers, 0, vocabulary);
            var random = new Random(seed);
            double scale = 2.5 / Math.Sqrt(hidden);
            var tensors = NetworkWeights.Layout(architecture).Select(l => new WeightTensor(l.Name, l.Shape,
                Enumerable.Range(0, (int)l.Shape.Aggregate(1L, (a, b) => a * b)).Select(_ => (float)((random.NextDouble() * 2 - 1) * scale)).ToArray())).ToList();
            return new RecurrentEngine(new NetworkWeights(architecture, tensors));
        }

        private static double[] LogSoftmax(float[] logits)
        {
            double max = logits.Max(), logSum = Math.Log(logits.Sum(l => Math.Exp(l - max))) + max;
            return logits.Select(l => l - logSum).ToArray();
        }

        /// <summary>
        /// Nine streams of different lengths: stream s joins at step s / 2 and leaves after its last token, so the batch
        /// grows and shrinks; the head runs batched for the streams still there. Each stream is compared, step by step,
        /// with the same tokens stepped alone.
        /// </summary>
        [TestMethod]
        [DataRow(RecurrentCell.Lstm, false, 1, 33)]
        [DataRow(RecurrentCell.Lstm, true, 2, 32)]
        [DataRow(RecurrentCell.Gru, false, 2, 17)]
        [DataRow(RecurrentCell.Gru, true, 1, 40)]
        [DataRow(RecurrentCell.RnnTanh, false, 3, 20)]
        [DataRow(RecurrentCell.RnnRelu, true, 2, 9)]
        public void EveryStreamGetsWhatItGetsAlone(RecurrentCell cell, bool embedding, int layers, int hidden)
        {
            var input = embedding ? NetworkInput.TokensEmbedding : NetworkInput.TokensOneHot;
            const int vocabulary = 23, streams = 9;
            var engine = RandomEngine(cell, input, vocabulary, hidden, layers, seed: hidden * 7 + layers);
            var random = new Random(5);
            var tokens = Enumerable.Range(0, streams).Select(s => Enumerable.Range(0, 3 + 4 * s % 17).Select(_ => random.Next(vocabulary)).ToArray()).ToArray();
            var joins = Enumerable.Range(0, streams).Select(s => s / 2).ToArray();

            // Alone: each stream's log-probabilities after each of its tokens.
            var alone = new List<double[]>[streams];
            for (int s = 0; s < streams; s++)
            {
                alone[s] = new List<double[]>();
                var state = engine.CreateState();
                foreach (int token in tokens[s])
                {
                    engine.Step(state, token);
                    engine.Head(engine.Top(state), state.Output);
                    alone[s].Add(LogSoftmax(state.Output));
                }
            }

            var batch = new RecurrentEngineBatch();
            var states = Enumerable.Range(0, streams).Select(_ => engine.CreateState()).ToArray();
            var positions = new int[streams];
            var batchStates = new RecurrentEngineState[streams];
            var batchTokens = new int[streams];
            var members = new int[streams];
            double worst = 0, spread = 0;
            int largest = 0;
            for (int step = 0; positions.Where((p, s) => p < tokens[s].Length).Any(); step++)
            {
                int count = 0;
                for (int s = 0; s < streams; s++)
                    if (joins[s] <= step && positions[s] < tokens[s].Length)
                    {
                        members[count] = s;
                        batchStates[count] = states[s];
                        batchTokens[count++] = tokens[s][positions[s]];
                    }
                largest = Math.Max(largest, count);
                engine.Step(batch, batchStates.AsSpan(0, count), batchTokens.AsSpan(0, count));
                engine.Head(batch, batchStates.AsSpan(0, count));
                for (int k = 0; k < count; k++)
                {
                    int s = members[k];
                    var expected = alone[s][positions[s]++];
                    var actual = LogSoftmax(states[s].Output);
                    worst = Math.Max(worst, expected.Zip(actual, (e, a) => Math.Abs(e - a)).Max());
                    spread = Math.Max(spread, expected.Max() - expected.Min());
                }
            }
            Console.WriteLine($"{cell} {layers}×{hidden} {input}: max |Δ log p| = {worst:E2} over batches of up to {largest}");
            Assert.IsGreaterThan(1.0, spread, "the log-probabilities must vary, or the comparison tests nothing");
            Assert.IsGreaterThanOrEqualTo(6, largest, "the streams must overlap, or nothing was batched");
            Assert.IsLessThanOrEqualTo(Tolerance, worst, "max |Δ| of a stream's log-probabilities, batched against alone");
        }

        /// <summary>
        /// The matrix times several vectors (two at a time, then one): each product is, to the last bit, the one of
        /// that vector alone, and within float rounding of a double-precision product; odd rows, columns that are not a
        /// multiple of the vector width, an odd number of vectors.
        /// </summary>
        [TestMethod]
        [DataRow(7, 37, 5)]
        [DataRow(1024, 256, 16)]
        [DataRow(12, 8, 2)]
        public void MatrixTimesVectorsIsEachVectorsProduct(int rows, int columns, int count)
        {
            var random = new Random(rows + columns);
            var matrix = Enumerable.Range(0, rows * columns).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var x = Enumerable.Range(0, count * columns).Select(_ => (float)(random.NextDouble() * 2 - 1)).ToArray();
            var start = Enumerable.Range(0, count * rows).Select(_ => (float)random.NextDouble()).ToArray();
            var together = (float[])start.Clone();
            VectorKernels.MultiplyAdd(matrix, rows, columns, x, count, together);
            var alone = (float[])start.Clone();
            for (int t = 0; t < count; t++)
                VectorKernels.MultiplyAdd(matrix, rows, columns, x.AsSpan(t * columns, columns), alone.AsSpan(t * rows, rows));
            CollectionAssert.AreEqual(alone, together, "each vector's product, batched and alone");
            for (int t = 0; t < count; t++)
                for (int r = 0; r < rows; r++)
                {
                    double exact = start[t * rows + r];
                    for (int j = 0; j < columns; j++)
                        exact += (double)matrix[r * columns + j] * x[t * columns + j];
                    Assert.AreEqual(exact, together[t * rows + r], 1e-4, $"vector {t}, row {r}");
                }
        }

        [TestMethod]
        public void BidirectionalNetworkIsRefusedWithTheReason()
        {
            var architecture = new RecurrentArchitecture(RecurrentCell.Lstm, NetworkInput.TokensOneHot, 5, 0, 4, 1, 0, 3, bidirectional: true);
            var tensors = NetworkWeights.Layout(architecture).Select(l => new WeightTensor(l.Name, l.Shape, new float[l.Shape.Aggregate(1L, (a, b) => a * b)])).ToList();
            var engine = new RecurrentEngine(new NetworkWeights(architecture, tensors));
            var e = Assert.ThrowsExactly<InvalidOperationException>(() => engine.Step(new RecurrentEngineBatch(), new[] { engine.CreateState() }, new[] { 1 }));
            StringAssert.Contains(e.Message, "bidirectional");
        }

        [TestMethod]
        public void OneTokenPerStreamIsRequired()
        {
            var engine = RandomEngine(RecurrentCell.Gru, NetworkInput.TokensOneHot, 5, 4, 1, seed: 1);
            var e = Assert.ThrowsExactly<ArgumentException>(() => engine.Step(new RecurrentEngineBatch(), new[] { engine.CreateState(), engine.CreateState() }, new[] { 1 }));
            StringAssert.Contains(e.Message, "2 states but 1 tokens");
        }
    }
}
