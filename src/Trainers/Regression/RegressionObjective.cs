using System;
using System.Linq;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Sequence regression: windows [steps, features] → the next values, with squared-error or Huber loss on
    /// standardized values, in batches whose activations stay within <see cref="BatchMemory.Budget"/>.
    /// </summary>
    internal sealed class RegressionObjective : TrainingObjective
    {
        private readonly RecurrentNetwork _network;
        private readonly Tensor _features;
        private readonly Tensor _labels;
        private readonly Tensor? _validationFeatures;
        private readonly Tensor? _validationLabels;
        private readonly int _batchSize;
        private readonly RegressionLoss _loss;
        private readonly double _huberDelta;
        private long[] _order = Array.Empty<long>();

        /// <param name="network">The network.</param>
        /// <param name="features">Standardized windows, [rows, steps, features].</param>
        /// <param name="labels">Standardized labels, [rows, horizon].</param>
        /// <param name="validationFeatures">Validation windows, or null.</param>
        /// <param name="validationLabels">Validation labels, or null.</param>
        /// <param name="batchSize">Windows per batch: fewer when so many long windows would pass <see cref="BatchMemory.MaximumSteps"/>.</param>
        /// <param name="loss">The loss.</param>
        /// <param name="huberDelta">Huber's δ, in standard deviations.</param>
        public RegressionObjective(RecurrentNetwork network, Tensor features, Tensor labels, Tensor? validationFeatures, Tensor? validationLabels,
            int batchSize, RegressionLoss loss, double huberDelta)
        {
            _network = network;
            _features = features;
            _labels = labels;
            _validationFeatures = validationFeatures;
            _validationLabels = validationLabels;
            _batchSize = (int)Math.Clamp(BatchMemory.MaximumSteps(network.Architecture) / Math.Max(1, features.shape[1]), 1, batchSize);
            _loss = loss;
            _huberDelta = huberDelta;
        }

        public override string ItemName => "value";

        public override int BeginEpoch(Random random)
        {
            _order = Enumerable.Range(0, (int)_features.shape[0]).Select(i => (long)i).ToArray();
            random.Shuffle(_order);
            return (_order.Length + _batchSize - 1) / _batchSize;
        }

        public override (Tensor Loss, long Count) TrainBatch(int index)
        {
            var rows = _order.AsSpan(index * _batchSize, Math.Min(_batchSize, _order.Length - index * _batchSize)).ToArray();
            var selection = tensor(rows, device: _network.Device);
            var labels = _labels.index_select(0, selection);
            return (Loss(_features.index_select(0, selection), labels, nn.Reduction.Mean), labels.numel());
        }

        public override long ValidationItems => _validationLabels?.numel() ?? 0;

        public override ValidationResult? Validate(Func<bool> outOfTime)
        {
            if (_validationFeatures is null || _validationLabels is null)
                return null;
            double sum = 0;
            long rows = _validationFeatures.shape[0];
            long start = 0;
            for (; start < rows; start += _batchSize)
            {
                if (start > 0 && outOfTime())
                    break;
                long length = Math.Min(_batchSize, rows - start);
                sum += Loss(_validationFeatures.narrow(0, start, length), _validationLabels.narrow(0, start, length), nn.Reduction.Sum).item<float>();
            }
            long scored = Math.Min(start, rows);
            // A label row holds the horizon's values; the loss sums over every value.
            return new ValidationResult(sum, scored * (_validationLabels.numel() / rows), null, (double)scored / rows);
        }

        private Tensor Loss(Tensor windows, Tensor labels, nn.Reduction reduction)
        {
            var predictions = _network.EncodeSequences(windows.transpose(0, 1), null, SequencePooling.Last);
            return _loss == RegressionLoss.Huber
                ? nn.functional.huber_loss(predictions, labels, reduction: reduction, delta: _huberDelta)
                : nn.functional.mse_loss(predictions, labels, reduction);
        }

        public override void Dispose()
        {
            _features.Dispose();
            _labels.Dispose();
            _validationFeatures?.Dispose();
            _validationLabels?.Dispose();
        }
    }
}
