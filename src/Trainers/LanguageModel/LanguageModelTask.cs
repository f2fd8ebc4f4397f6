using System;
using System.Linq;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Next-token prediction over one token stream (documents joined by the end-of-text token), batched by sequential
    /// partitioning with carried state or by random windows, with cross-entropy loss.
    /// </summary>
    internal sealed class LanguageModelTask : RecurrentTask
    {
        private readonly RecurrentNetwork _network;
        private readonly Tensor _train;
        private readonly Tensor? _validation;
        private readonly int _steps;
        private readonly int _batchSize;
        private readonly BatchSampling _sampling;
        private Tensor? _inputs;
        private Tensor? _targets;
        private long[] _windowStarts = Array.Empty<long>();
        private RecurrentState? _state;

        public LanguageModelTask(RecurrentNetwork network, int[] train, int[]? validation, int sequenceLength, int batchSize, BatchSampling sampling)
        {
            _network = network;
            _train = tensor(train.Select(id => (long)id).ToArray(), device: network.Device);
            _validation = validation is { Length: > 1 } ? tensor(validation.Select(id => (long)id).ToArray(), device: network.Device) : null;
            _steps = sequenceLength;
            _batchSize = batchSize;
            _sampling = sampling;
        }

        /// <summary>The fewest training tokens that make one batch.</summary>
        public static long MinimumTokens(int sequenceLength, int batchSize) => (long)sequenceLength * batchSize + 1;

        public override int BeginEpoch(Random random)
        {
            long length = _train.shape[0];
            // A random start below SequenceLength, but never so late that one batch no longer fits: the estimator
            // guarantees only length ≥ SequenceLength × BatchSize + 1, and a later start would leave an epoch of no batch.
            long offset = random.Next((int)Math.Min(_steps, length - (long)_steps * _batchSize));
            if (_sampling == BatchSampling.Sequential)
            {
                // d2l's seq_data_iter_sequential: BatchSize contiguous rows, read T columns at a time.
                long perRow = (length - offset - 1) / _batchSize;
                _inputs?.Dispose();
                _targets?.Dispose();
                _inputs = _train.narrow(0, offset, perRow * _batchSize).view(_batchSize, perRow).DetachFromDisposeScope();
                _targets = _train.narrow(0, offset + 1, perRow * _batchSize).view(_batchSize, perRow).DetachFromDisposeScope();
                _state?.Dispose();
                _state = null;
                return (int)(perRow / _steps);
            }

            // d2l's seq_data_iter_random: non-overlapping windows from a random offset, in shuffled order.
            long windows = (length - offset - 1) / _steps;
            _windowStarts = Enumerable.Range(0, (int)windows).Select(w => offset + (long)w * _steps).ToArray();
            random.Shuffle(_windowStarts);
            return (int)(windows / _batchSize);
        }

        public override (Tensor Loss, long Count) TrainBatch(int index)
        {
            Tensor inputs, targets;
            RecurrentState state;
            if (_sampling == BatchSampling.Sequential)
            {
                inputs = _inputs!.narrow(1, (long)index * _steps, _steps).t();
                targets = _targets!.narrow(1, (long)index * _steps, _steps).t();
                state = _state ?? _network.ZeroState(_batchSize);
            }
            else
            {
                using var starts = tensor(_windowStarts.AsSpan(index * _batchSize, _batchSize).ToArray(), device: _network.Device);
                var offsets = arange(_steps, device: _network.Device);
                var positions = starts.unsqueeze(0) + offsets.unsqueeze(1);
                inputs = _train.index_select(0, positions.reshape(-1)).view(_steps, _batchSize);
                targets = _train.index_select(0, (positions + 1).reshape(-1)).view(_steps, _batchSize);
                state = _network.ZeroState(_batchSize);
            }

            var (output, newState) = _network.Encode(inputs, state);
            var logits = _network.Head(output);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), targets.reshape(-1));
            if (_sampling == BatchSampling.Sequential)
            {
                _state?.Dispose();
                _state = newState.DetachToOuterScope();
            }
            return (loss, (long)_steps * _batchSize);
        }

        public override (double LossSum, long Count)? Validate()
        {
            if (_validation is null)
                return null;
            // The validation stream in up to BatchSize contiguous rows, read SequenceLength steps at a time with the
            // state carried, so every token but the first of each row is predicted from its full left context.
            long length = _validation.shape[0] - 1;
            long rows = Math.Clamp(length / _steps, 1, _batchSize);
            long perRow = length / rows;
            var inputs = _validation.narrow(0, 0, rows * perRow).view(rows, perRow).t();
            var targets = _validation.narrow(0, 1, rows * perRow).view(rows, perRow).t();
            var state = _network.ZeroState(rows);
            double sum = 0;
            for (long start = 0; start < perRow; start += _steps)
            {
                long steps = Math.Min(_steps, perRow - start);
                var (output, next) = _network.Encode(inputs.narrow(0, start, steps), state);
                var logits = _network.Head(output);
                sum += nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), targets.narrow(0, start, steps).reshape(-1), reduction: nn.Reduction.Sum).item<float>();
                state = next;
            }
            return (sum, rows * perRow);
        }

        public override void Dispose()
        {
            _train.Dispose();
            _validation?.Dispose();
            _inputs?.Dispose();
            _targets?.Dispose();
            _state?.Dispose();
        }
    }
}
