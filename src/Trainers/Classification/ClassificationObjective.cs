using System;
using System.Linq;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>Sequence classification: token sequences of any length, padded per batch, pooled, with cross-entropy over the classes.</summary>
    internal sealed class ClassificationObjective : TrainingObjective
    {
        private readonly RecurrentNetwork _network;
        private readonly int[][] _sequences;
        private readonly long[] _labels;
        private readonly int[][] _validationSequences;
        private readonly long[] _validationLabels;
        private readonly int _batchSize;
        private readonly SequencePooling _pooling;
        private int[] _order = Array.Empty<int>();

        public ClassificationObjective(RecurrentNetwork network, int[][] sequences, long[] labels, int[][] validationSequences, long[] validationLabels,
            int batchSize, SequencePooling pooling)
        {
            _network = network;
            _sequences = sequences;
            _labels = labels;
            _validationSequences = validationSequences;
            _validationLabels = validationLabels;
            _batchSize = batchSize;
            _pooling = pooling;
        }

        public override string ItemName => "sequence";

        public override int BeginEpoch(Random random)
        {
            _order = Enumerable.Range(0, _sequences.Length).ToArray();
            random.Shuffle(_order);
            return (_order.Length + _batchSize - 1) / _batchSize;
        }

        public override (Tensor Loss, long Count) TrainBatch(int index)
        {
            var rows = _order.Skip(index * _batchSize).Take(_batchSize).ToArray();
            var logits = Logits(_network, rows.Select(r => _sequences[r]).ToArray(), _pooling);
            var labels = tensor(rows.Select(r => _labels[r]).ToArray(), device: _network.Device);
            return (nn.functional.cross_entropy(logits, labels), rows.Length);
        }

        public override long ValidationItems => _validationSequences.Length;

        public override ValidationResult? Validate(Func<bool> outOfTime)
        {
            if (_validationSequences.Length == 0)
                return null;
            double sum = 0;
            int start = 0;
            for (; start < _validationSequences.Length; start += _batchSize)
            {
                if (start > 0 && outOfTime())
                    break;
                int count = Math.Min(_batchSize, _validationSequences.Length - start);
                var logits = Logits(_network, _validationSequences.AsSpan(start, count).ToArray(), _pooling);
                var labels = tensor(_validationLabels.AsSpan(start, count).ToArray(), device: _network.Device);
                sum += nn.functional.cross_entropy(logits, labels, reduction: nn.Reduction.Sum).item<float>();
            }
            int scored = Math.Min(start, _validationSequences.Length);
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
