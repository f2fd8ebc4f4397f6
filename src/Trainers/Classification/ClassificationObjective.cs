using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Sequence classification: token sequences of any length, padded per batch, pooled, with cross-entropy over the
    /// classes. A batch holds up to BatchSize rows, fewer where its padded steps × rows would pass
    /// <see cref="BatchMemory.MaximumSteps"/> (long rows train in smaller batches, in bounded memory).
    /// </summary>
    internal sealed class ClassificationObjective : TrainingObjective
    {
        private readonly RecurrentNetwork _network;
        private readonly int[][] _sequences;
        private readonly long[] _labels;
        private readonly int[][] _validationSequences;
        private readonly long[] _validationLabels;
        private readonly int _batchSize;
        private readonly long _maximumSteps;
        private readonly SequencePooling _pooling;
        private int[] _order = Array.Empty<int>();
        private List<int> _batchStarts = new();

        public ClassificationObjective(RecurrentNetwork network, int[][] sequences, long[] labels, int[][] validationSequences, long[] validationLabels,
            int batchSize, SequencePooling pooling)
        {
            _network = network;
            _sequences = sequences;
            _labels = labels;
            _validationSequences = validationSequences;
            _validationLabels = validationLabels;
            _batchSize = batchSize;
            _maximumSteps = BatchMemory.MaximumSteps(network.Architecture);
            _pooling = pooling;
        }

        public override string ItemName => "sequence";

        public override int BeginEpoch(Random random)
        {
            _order = Enumerable.Range(0, _sequences.Length).ToArray();
            random.Shuffle(_order);
            _batchStarts = BatchStarts(_order.Select(r => _sequences[r].Length).ToArray());
            return _batchStarts.Count - 1;
        }

        /// <summary>
        /// Where each batch starts among rows of these lengths, in order (and, last, the row count): BatchSize rows,
        /// or fewer when the next row would take the batch's padded steps × rows past the memory limit.
        /// </summary>
        private List<int> BatchStarts(int[] lengths)
        {
            var starts = new List<int> { 0 };
            long longest = 0;
            for (int i = 0, inBatch = 0; i < lengths.Length; i++, inBatch++)
            {
                long steps = Math.Max(1, lengths[i]);
                if (inBatch == _batchSize || (inBatch > 0 && (inBatch + 1) * Math.Max(longest, steps) > _maximumSteps))
                {
                    starts.Add(i);
                    inBatch = 0;
                    longest = 0;
                }
                longest = Math.Max(longest, steps);
            }
            if (lengths.Length > 0)
                starts.Add(lengths.Length);
            return starts;
        }

        public override (Tensor Loss, long Count) TrainBatch(int index)
        {
            var rows = _order[_batchStarts[index].._batchStarts[index + 1]];
            var logits = Logits(_network, rows.Select(r => _sequences[r]).ToArray(), _pooling);
            var labels = tensor(rows.Select(r => _labels[r]).ToArray(), device: _network.Device);
            return (nn.functional.cross_entropy(logits, labels), rows.Length);
        }

        public override long ValidationItems => _validationSequences.Length;

        public override ValidationResult? Validate(Func<bool> outOfTime)
        {
            if (_validationSequences.Length == 0)
                return null;
            var starts = BatchStarts(_validationSequences.Select(s => s.Length).ToArray());
            double sum = 0;
            int batch = 0;
            for (; batch < starts.Count - 1; batch++)
            {
                if (batch > 0 && outOfTime())
                    break;
                int start = starts[batch], count = starts[batch + 1] - start;
                var logits = Logits(_network, _validationSequences.AsSpan(start, count).ToArray(), _pooling);
                var labels = tensor(_validationLabels.AsSpan(start, count).ToArray(), device: _network.Device);
                sum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
            }
            int scored = starts[batch];
            return new ValidationResult(sum, scored, null, (double)scored / _validationSequences.Length);
        }

        /// <summary>Class logits [B, classes] of a batch of token sequences, padded to the longest (at least one step).</summary>
        public static Tensor Logits(RecurrentNetwork network, int[][] sequences, SequencePooling pooling)
        {
            int steps = Math.Max(1, sequences.Max(s => s.Length));
            var ids = new long[steps * sequences.Length];
            for (int b = 0; b < sequences.Length; b++)
                for (int t = 0; t < sequences[b].Length; t++)
                    ids[t * sequences.Length + b] = sequences[b][t];
            var input = tensor(ids, new long[] { steps, sequences.Length }, device: network.Device);
            var lengths = tensor(sequences.Select(s => (long)s.Length).ToArray(), device: network.Device);
            return network.EncodeSequences(input, lengths, pooling);
        }
    }
}
