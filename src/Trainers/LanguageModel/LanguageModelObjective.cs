using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Next-token prediction over one token stream (documents joined by the end-of-text token), batched by sequential
    /// partitioning with carried state or by random windows, with cross-entropy loss. Every document starts from the
    /// zero state, as when a PredictionEngine scores one: the state of a row is reset where it reads the end-of-text
    /// token, so the model never learns to lean on the end of the previous document.
    /// </summary>
    internal sealed class LanguageModelObjective : TrainingObjective
    {
        private readonly RecurrentNetwork _network;
        private readonly Tensor _train;
        private readonly Tensor? _validation;
        private readonly int _steps;
        private readonly int _batchSize;
        private readonly BatchSampling _sampling;
        private readonly long _endOfText;
        private readonly Tensor? _documentInputs;
        private readonly Tensor? _documentTargets;
        private readonly Tensor? _documentCounted;
        private Tensor? _inputs;
        private Tensor? _targets;
        private long[] _windowStarts = Array.Empty<long>();
        private RecurrentState? _state;

        public LanguageModelObjective(RecurrentNetwork network, int[] train, int[]? validation, int sequenceLength, int batchSize, BatchSampling sampling, int endOfText)
        {
            _endOfText = endOfText;
            _network = network;
            _train = tensor(train.Select(id => (long)id).ToArray(), device: network.Device);
            _validation = validation is { Length: > 1 } ? tensor(validation.Select(id => (long)id).ToArray(), device: network.Device) : null;
            if (validation is { Length: > 1 })
                (_documentInputs, _documentTargets, _documentCounted) = DocumentRows(validation, endOfText, batchSize, network.Device);
            _steps = sequenceLength;
            _batchSize = batchSize;
            _sampling = sampling;
        }

        public override string ItemName => "token";

        public override string DescribeLoss(double loss) => $"{loss:F4} (perplexity {Math.Exp(loss):F3}, {loss / Math.Log(2):F3} bits/token)";

        public override string DescribeValidation(double loss, double? streamLoss)
            => $"per document {DescribeLoss(loss)}" + (streamLoss is double stream ? $", as one stream {stream:F4} ({stream / Math.Log(2):F3} bits/token)" : "");

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

            var (output, newState) = EncodeDocuments(inputs, state);
            var logits = _network.Head(output);
            var loss = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), targets.reshape(-1));
            if (_sampling == BatchSampling.Sequential)
            {
                _state?.Dispose();
                _state = newState.DetachToOuterScope();
            }
            return (loss, (long)_steps * _batchSize);
        }

        /// <summary>
        /// Encodes [T, B] token ids from <paramref name="state"/>, setting a row's state to zero where it reads the
        /// end-of-text token: the fused kernels run over the spans between such steps.
        /// </summary>
        private (Tensor Output, RecurrentState State) EncodeDocuments(Tensor inputs, RecurrentState state)
        {
            long steps = inputs.shape[0];
            var starts = inputs.eq(_endOfText);
            var anyStart = starts.any(1).cpu().data<bool>().ToArray();
            var outputs = new List<Tensor>();
            long from = 0;
            for (long t = 0; t <= steps; t++)
            {
                if (t < steps && !anyStart[t])
                    continue;
                if (t > from)
                {
                    var (output, next) = _network.Encode(inputs.narrow(0, from, t - from), state);
                    outputs.Add(output);
                    state = next;
                }
                if (t < steps)
                {
                    var keep = starts[t].logical_not().to(ScalarType.Float32).unsqueeze(1);
                    state = new RecurrentState(state.Hidden.Select(h => h * keep).ToArray(), state.Cell?.Select(c => c * keep).ToArray());
                }
                from = t;
            }
            return (outputs.Count == 1 ? outputs[0] : cat(outputs, 0), state);
        }

        /// <summary>
        /// The validation documents laid out for scoring each from the zero state, as a PredictionEngine does: whole
        /// documents in up to <paramref name="rows"/> rows of about equal length, each document after an end-of-text
        /// token (inputs and targets [T, rows], time-major; short rows padded). Counted are the targets a document's
        /// likelihood sums over: its tokens, not the end-of-text token after it, nor padding.
        /// </summary>
        private static (Tensor Inputs, Tensor Targets, Tensor Counted) DocumentRows(int[] stream, long endOfText, int rows, Device device)
        {
            // Documents are the spans between end-of-text tokens (the first may be the tail of one cut by the split).
            var documents = new List<ArraySegment<int>>();
            for (int start = 0, i = 0; i <= stream.Length; i++)
                if (i == stream.Length || stream[i] == endOfText)
                {
                    if (i > start)
                        documents.Add(new ArraySegment<int>(stream, start, i - start));
                    start = i + 1;
                }
            if (documents.Count == 0)
                documents.Add(new ArraySegment<int>(stream, 0, 0));
            // Longest first, each to the shortest row so far.
            int rowCount = Math.Min(rows, documents.Count);
            var laid = Enumerable.Range(0, rowCount).Select(_ => new List<long> { endOfText }).ToArray();
            foreach (var document in documents.OrderByDescending(d => d.Count))
            {
                var row = laid.MinBy(r => r.Count)!;
                row.AddRange(document.Select(id => (long)id));
                row.Add(endOfText);
            }
            int length = laid.Max(r => r.Count) - 1;
            var inputs = new long[length * rowCount];
            var targets = new long[length * rowCount];
            var counted = new bool[length * rowCount];
            for (int r = 0; r < rowCount; r++)
                for (int t = 0; t < length; t++)
                {
                    bool inside = t + 1 < laid[r].Count;
                    inputs[t * rowCount + r] = inside ? laid[r][t] : endOfText;
                    targets[t * rowCount + r] = inside ? laid[r][t + 1] : endOfText;
                    counted[t * rowCount + r] = inside && laid[r][t + 1] != endOfText;
                }
            var shape = new long[] { length, rowCount };
            return (tensor(inputs, shape, device: device), tensor(targets, shape, device: device), tensor(counted, shape, device: device));
        }

        public override long ValidationItems => _validation is null ? 0 : 2 * _validation.shape[0];

        /// <summary>
        /// The validation loss twice: every document from the zero state, as a PredictionEngine scores it (what early
        /// stopping uses), and then the stream loss: the validation text in up to BatchSize contiguous rows with the
        /// state carried across documents, every token but the first of each row predicted. When time runs out, the
        /// per-document loss covers the first time steps of the documents' rows, and the stream loss is left out.
        /// </summary>
        public override ValidationResult? Validate(Func<bool> outOfTime)
        {
            if (_validation is null)
                return null;
            var (documentSum, documentSteps) = SummedLoss(_documentInputs!, _documentTargets!, _documentCounted, documents: true, outOfTime);
            long documentCount = _documentCounted!.narrow(0, 0, documentSteps).sum().item<long>();
            double fraction = (double)documentSteps / _documentInputs!.shape[0];
            if (fraction < 1 || outOfTime())
                return documentCount > 0 ? new ValidationResult(documentSum, documentCount, null, fraction) : null;
            long length = _validation.shape[0] - 1;
            long rows = Math.Clamp(length / _steps, 1, _batchSize);
            long perRow = length / rows;
            var inputs = _validation.narrow(0, 0, rows * perRow).view(rows, perRow).t();
            var targets = _validation.narrow(0, 1, rows * perRow).view(rows, perRow).t();
            var (streamSum, streamSteps) = SummedLoss(inputs, targets, null, documents: false, outOfTime);
            double? streamLoss = streamSteps == perRow ? streamSum / (rows * perRow) : null;
            if (documentCount > 0)
                return new ValidationResult(documentSum, documentCount, streamLoss, 1);
            // No document has a counted target (documents of one token): the stream is the only measure.
            return streamLoss is double stream ? new ValidationResult(streamSum, rows * perRow, stream, 1) : null;
        }

        /// <summary>
        /// The summed cross-entropy of [T, B] targets, read SequenceLength steps at a time from the zero state, over the
        /// counted targets (all without a mask), and the time steps read: all, or fewer when <paramref name="outOfTime"/>
        /// said so before a chunk (never before the first).
        /// </summary>
        private (double Sum, long Steps) SummedLoss(Tensor inputs, Tensor targets, Tensor? counted, bool documents, Func<bool> outOfTime)
        {
            var state = _network.ZeroState(inputs.shape[1]);
            double sum = 0;
            long start = 0;
            for (; start < inputs.shape[0]; start += _steps)
            {
                if (start > 0 && outOfTime())
                    break;
                // A scope per chunk: validation memory stays that of one chunk (plus a carried state per chunk), however long the text.
                using var scope = NewDisposeScope();
                long steps = Math.Min(_steps, inputs.shape[0] - start);
                var chunk = inputs.narrow(0, start, steps);
                var (output, next) = documents ? EncodeDocuments(chunk, state) : _network.Encode(chunk, state);
                var logits = _network.Head(output);
                var losses = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), targets.narrow(0, start, steps).reshape(-1), reduction: nn.Reduction.None);
                if (counted is not null)
                    losses = losses * counted.narrow(0, start, steps).reshape(-1).to(losses.dtype);
                sum += losses.sum().to(ScalarType.Float64).item<double>();
                state = next.DetachToOuterScope();
            }
            return (sum, Math.Min(start, inputs.shape[0]));
        }

        public override void Dispose()
        {
            _train.Dispose();
            _validation?.Dispose();
            _documentInputs?.Dispose();
            _documentTargets?.Dispose();
            _documentCounted?.Dispose();
            _inputs?.Dispose();
            _targets?.Dispose();
            _state?.Dispose();
        }
    }
}
