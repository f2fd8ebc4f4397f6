using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.Linq;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

namespace MlnetLstm.Benchmarks
{
    /// <summary>
    /// A training loop as a user would write it by hand in TorchSharp: nn.LSTM/GRU over a dense one_hot of the ids, a
    /// linear head, cross-entropy, SGD (the seeds' recipe) or Adam, clip_grad_norm_ 1, sequential batches with the
    /// state carried (detached). The baseline every MlnetLstm measurement is compared with.
    /// </summary>
    internal sealed class HandWrittenLoop : IDisposable
    {
        private readonly nn.Module _rnn;
        private readonly Linear _head;
        private readonly List<Parameter> _parameters;
        private readonly optim.Optimizer _optimizer;
        private readonly int _vocabulary;
        private readonly bool _lstm;

        public HandWrittenLoop(int vocabulary, int hidden, int layers, bool lstm, double learningRate, int seed, bool adam = false)
        {
            manual_seed(seed);
            _vocabulary = vocabulary;
            _lstm = lstm;
            _rnn = lstm ? nn.LSTM(vocabulary, hidden, layers) : nn.GRU(vocabulary, hidden, layers);
            _head = nn.Linear(hidden, vocabulary);
            _parameters = _rnn.parameters().Concat(_head.parameters()).ToList();
            _optimizer = adam ? optim.Adam(_parameters, learningRate) : optim.SGD(_parameters, learningRate);
        }

        /// <summary>
        /// Trains over the stream for <paramref name="batches"/> sequential batches, starting at batch
        /// <paramref name="firstBatch"/> of the pass (so consecutive calls sweep the whole stream); returns tokens per
        /// second and the mean loss.
        /// </summary>
        public (double TokensPerSecond, double Loss) Train(long[] stream, int steps, int batchSize, int batches, int offset, long firstBatch = 0)
        {
            using var data = tensor(stream);
            long perRow = (stream.Length - offset - 1) / batchSize;
            using var xs = data.narrow(0, offset, perRow * batchSize).view(batchSize, perRow);
            using var ys = data.narrow(0, offset + 1, perRow * batchSize).view(batchSize, perRow);
            (Tensor, Tensor)? state = null;
            Tensor? gruState = null;
            double lossSum = 0;
            var clock = Stopwatch.StartNew();
            for (int b = 0; b < batches; b++)
            {
                using var scope = NewDisposeScope();
                long column = (firstBatch + b) * steps % (perRow - steps);
                var x = xs.narrow(1, column, steps).t();
                var y = ys.narrow(1, column, steps).t();
                var input = nn.functional.one_hot(x, _vocabulary).to(ScalarType.Float32);
                Tensor output;
                if (_lstm)
                {
                    var (o, h, c) = ((LSTM)_rnn).call(input, state);
                    output = o;
                    state = (h.detach().MoveToOuterDisposeScope(), c.detach().MoveToOuterDisposeScope());
                }
                else
                {
                    var (o, h) = ((GRU)_rnn).call(input, gruState);
                    output = o;
                    gruState = h.detach().MoveToOuterDisposeScope();
                }
                var loss = nn.functional.cross_entropy(_head.call(output).reshape(-1, _vocabulary), y.reshape(-1));
                _optimizer.zero_grad();
                loss.backward();
                nn.utils.clip_grad_norm_(_parameters, 1.0);
                _optimizer.step();
                lossSum += loss.item<float>();
            }
            return (batches * (double)steps * batchSize / clock.Elapsed.TotalSeconds, lossSum / batches);
        }

        /// <summary>Mean cross-entropy (nats per token) over a stream, in chunks of <paramref name="steps"/> with the state carried.</summary>
        public double Evaluate(long[] stream, int steps)
        {
            using var noGrad = no_grad();
            using var data = tensor(stream);
            (Tensor, Tensor)? state = null;
            Tensor? gruState = null;
            double sum = 0;
            long count = 0;
            for (long start = 0; start + 1 < stream.Length; start += steps)
            {
                using var scope = NewDisposeScope();
                long length = Math.Min(steps, stream.Length - 1 - start);
                var x = data.narrow(0, start, length).view(length, 1);
                var y = data.narrow(0, start + 1, length);
                var input = nn.functional.one_hot(x, _vocabulary).to(ScalarType.Float32);
                Tensor output;
                if (_lstm)
                {
                    var (o, h, c) = ((LSTM)_rnn).call(input, state);
                    output = o;
                    state = (h.MoveToOuterDisposeScope(), c.MoveToOuterDisposeScope());
                }
                else
                {
                    var (o, h) = ((GRU)_rnn).call(input, gruState);
                    output = o;
                    gruState = h.MoveToOuterDisposeScope();
                }
                sum += nn.functional.cross_entropy(_head.call(output).reshape(-1, _vocabulary), y, reduction: nn.Reduction.Sum).item<float>();
                count += length;
            }
            return sum / count;
        }

        /// <summary>
        /// Mean cross-entropy (nats per token) of each document read on its own from the zero state, as a
        /// PredictionEngine scores a row: the first token is predicted from <paramref name="start"/> (the end-of-text
        /// id), the document's own tokens are counted.
        /// </summary>
        public double EvaluateDocuments(System.Collections.Generic.IEnumerable<long[]> documents, long start)
        {
            using var noGrad = no_grad();
            double sum = 0;
            long count = 0;
            foreach (var document in documents)
            {
                if (document.Length == 0)
                    continue;
                using var scope = NewDisposeScope();
                var ids = tensor(new[] { start }.Concat(document).ToArray());
                var x = ids.narrow(0, 0, document.Length).view(document.Length, 1);
                var y = ids.narrow(0, 1, document.Length);
                var input = nn.functional.one_hot(x, _vocabulary).to(ScalarType.Float32);
                var output = _lstm ? ((LSTM)_rnn).call(input).Item1 : ((GRU)_rnn).call(input).Item1;
                sum += nn.functional.cross_entropy(_head.call(output).reshape(-1, _vocabulary), y, reduction: nn.Reduction.Sum).item<float>();
                count += document.Length;
            }
            return sum / count;
        }

        public void Dispose()
        {
            _optimizer.Dispose();
            _rnn.Dispose();
            _head.Dispose();
        }
    }
}
