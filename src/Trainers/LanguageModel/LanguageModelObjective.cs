using System;
using System.Collections.Generic;
using System.Linq;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Next-token prediction over one token stream (documents joined by the end-of-text token), batched by sequential
    /// partitioning with carried state or by random windows, with cross-entropy loss. The tokens stay in their
    /// <see cref="TokenCache"/>: a batch reads its rows' windows into buffers allocated once, and validation reads a
    /// chunk at a time, so memory does not grow with the corpus. An epoch's batches depend only on the seed and the
    /// epoch number, so a checkpoint (written after an epoch) needs no stream position to resume from. Every document starts from the
    /// zero state, as when a PredictionEngine scores one: the state of a row is reset where it reads the end-of-text
    /// token, so the model never learns to lean on the end of the previous document.
    /// </summary>
    internal sealed class LanguageModelObjective : TrainingObjective
    {
        private readonly RecurrentNetwork _network;
        private readonly TokenStream _train;
        private readonly TokenStream _validation;
        private readonly int _steps;
        private readonly int _batchSize;
        private readonly BatchSampling _sampling;
        private readonly long _endOfText;
        // Scratch of one batch, allocated once: a row's SequenceLength + 1 tokens, and the batch's inputs and targets [T, B].
        private readonly long[] _row;
        private readonly long[] _inputs;
        private readonly long[] _targets;
        private readonly long[] _shape;
        private long _offset;
        private long _perRow;
        private RandomPermutation _windows;
        private RecurrentState? _state;

        /// <param name="network">The network.</param>
        /// <param name="train">The training tokens, documents joined by the end-of-text token.</param>
        /// <param name="validation">The validation tokens; fewer than 2 for no validation.</param>
        /// <param name="sequenceLength">Time steps per batch.</param>
        /// <param name="batchSize">Rows per batch.</param>
        /// <param name="sampling">How an epoch is cut into batches.</param>
        /// <param name="endOfText">The end-of-text token id.</param>
        public LanguageModelObjective(RecurrentNetwork network, TokenStream train, TokenStream validation, int sequenceLength, int batchSize, BatchSampling sampling, int endOfText)
        {
            _endOfText = endOfText;
            _network = network;
            _train = train;
            _validation = validation;
            _steps = sequenceLength;
            _batchSize = batchSize;
            _sampling = sampling;
            _row = new long[sequenceLength + 1];
            _inputs = new long[(long)sequenceLength * batchSize];
            _targets = new long[(long)sequenceLength * batchSize];
            _shape = new long[] { sequenceLength, batchSize };
        }

        public override string ItemName => "token";

        public override string DescribeLoss(double loss) => $"{loss:F4} (perplexity {Math.Exp(loss):F3}, {loss / Math.Log(2):F3} bits/token)";

        public override string DescribeValidation(double loss, double? streamLoss)
            => $"per document {DescribeLoss(loss)}" + (streamLoss is double stream ? $", as one stream {stream:F4} ({stream / Math.Log(2):F3} bits/token)" : "");

        /// <summary>The fewest training tokens that make one batch.</summary>
        public static long MinimumTokens(int sequenceLength, int batchSize) => (long)sequenceLength * batchSize + 1;

        /// <summary>
        /// Prepares an epoch in constant time and memory, whatever the corpus: a random start below SequenceLength, and
        /// for random windows a seeded permutation of the windows rather than a shuffled array of them.
        /// </summary>
        public override int BeginEpoch(Random random)
        {
            long length = _train.Length;
            // A random start below SequenceLength, but never so late that one batch no longer fits: the estimator
            // guarantees only length ≥ SequenceLength × BatchSize + 1, and a later start would leave an epoch of no batch.
            _offset = random.Next((int)Math.Min(_steps, length - (long)_steps * _batchSize));
            _state?.Dispose();
            _state = null;
            if (_sampling == BatchSampling.Sequential)
            {
                // d2l's seq_data_iter_sequential: BatchSize contiguous rows, read T columns at a time.
                _perRow = (length - _offset - 1) / _batchSize;
                return Batches(_perRow / _steps);
            }

            // d2l's seq_data_iter_random: non-overlapping windows from a random offset, in shuffled order.
            _windows = new RandomPermutation((length - _offset - 1) / _steps, random);
            return Batches(_windows.Count / _batchSize);
        }

        /// <summary>An epoch's batches, or an error naming the limit: the loop counts batches in an int.</summary>
        private int Batches(long batches) => batches <= int.MaxValue ? (int)batches
            : throw new InvalidOperationException($"An epoch would have {batches:N0} batches, more than {int.MaxValue:N0}. Raise BatchSize or SequenceLength.");

        public override (Tensor Loss, long Count) TrainBatch(int index)
        {
            // Row b of the batch reads SequenceLength + 1 tokens: its inputs, and shifted by one its targets.
            for (int b = 0; b < _batchSize; b++)
            {
                long start = _sampling == BatchSampling.Sequential
                    ? _offset + b * _perRow + (long)index * _steps
                    : _offset + _windows[(long)index * _batchSize + b] * _steps;
                _train.Read(start, _row);
                for (int t = 0; t < _steps; t++)
                {
                    _inputs[t * _batchSize + b] = _row[t];
                    _targets[t * _batchSize + b] = _row[t + 1];
                }
            }
            var inputs = tensor(_inputs, _shape, device: _network.Device);
            var targets = tensor(_targets, _shape, device: _network.Device);
            var state = _sampling == BatchSampling.Sequential ? _state ?? _network.ZeroState(_batchSize) : _network.ZeroState(_batchSize);

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
        /// A row of validation steps: <see cref="Count"/> tokens of the validation stream from <see cref="Start"/>,
        /// after <see cref="Prefix"/> end-of-text tokens (1 for a row of documents: each starts after one), then
        /// end-of-text tokens up to <see cref="Tokens"/> in all and beyond (padding).
        /// </summary>
        private readonly record struct ValidationRow(long Start, long Count, int Prefix, long Tokens);

        /// <summary>
        /// The validation documents laid out for scoring each from the zero state, as a PredictionEngine does: up to
        /// BatchSize rows of whole documents (the spans between end-of-text tokens; the first may be the tail of one
        /// cut by the split), each row a contiguous run of about the same length, read from the cache chunk by chunk.
        /// </summary>
        private List<ValidationRow> DocumentRows()
        {
            long length = _validation.Length;
            var rows = new List<ValidationRow>();
            Span<long> last = stackalloc long[1];
            for (long start = 0; start < length && rows.Count < _batchSize;)
            {
                // The row ends after the first end-of-text token at or past its share of the stream.
                long share = length * (rows.Count + 1) / _batchSize - 1;
                long end = rows.Count == _batchSize - 1 ? length : Math.Min(length, _validation.IndexOf(_endOfText, Math.Max(start, share)) + 1);
                _validation.Read(end - 1, last);
                rows.Add(new ValidationRow(start, end - start, 1, 1 + end - start + (last[0] == _endOfText ? 0 : 1)));
                start = end;
            }
            return rows;
        }

        /// <summary>The validation stream in up to BatchSize contiguous rows of equal length, every token but the first of each row predicted.</summary>
        private List<ValidationRow> StreamRows()
        {
            long length = _validation.Length - 1;
            long rows = Math.Clamp(length / _steps, 1, _batchSize);
            long perRow = length / rows;
            var result = new List<ValidationRow>();
            for (long r = 0; r < rows; r++)
                result.Add(new ValidationRow(r * perRow, perRow + 1, 0, perRow + 1));
            return result;
        }

        public override long ValidationItems => _validation.Length > 1 ? 2 * _validation.Length : 0;

        /// <summary>
        /// The validation loss twice: every document from the zero state, as a PredictionEngine scores it (what early
        /// stopping uses), and then the stream loss: the validation text in up to BatchSize contiguous rows with the
        /// state carried across documents, every token but the first of each row predicted. When time runs out, the
        /// per-document loss covers the first time steps of the documents' rows, and the stream loss is left out.
        /// Both read the validation tokens SequenceLength steps at a time: memory is that of one chunk, however long the text.
        /// </summary>
        public override ValidationResult? Validate(Func<bool> outOfTime)
        {
            if (_validation.Length <= 1)
                return null;
            var documentRows = DocumentRows();
            var (documentSum, documentSteps, documentCount) = SummedLoss(documentRows, documents: true, outOfTime);
            double fraction = (double)documentSteps / (documentRows.Max(r => r.Tokens) - 1);
            if (fraction < 1 || outOfTime())
                return documentCount > 0 ? new ValidationResult(documentSum, documentCount, null, fraction) : null;
            var streamRows = StreamRows();
            var (streamSum, streamSteps, streamCount) = SummedLoss(streamRows, documents: false, outOfTime);
            double? streamLoss = streamSteps == streamRows[0].Tokens - 1 ? streamSum / streamCount : null;
            if (documentCount > 0)
                return new ValidationResult(documentSum, documentCount, streamLoss, 1);
            // No document has a counted target (documents of one token): the stream is the only measure.
            return streamLoss is double stream ? new ValidationResult(streamSum, streamCount, stream, 1) : null;
        }

        /// <summary>
        /// The summed cross-entropy over <paramref name="rows"/>, read SequenceLength steps at a time from the zero
        /// state, of the counted targets (for documents, those inside a row that are not an end-of-text token; else
        /// all), the time steps read (all, or fewer when <paramref name="outOfTime"/> said so before a chunk, never
        /// before the first), and the targets counted in them.
        /// </summary>
        private (double Sum, long Steps, long Counted) SummedLoss(List<ValidationRow> rows, bool documents, Func<bool> outOfTime)
        {
            int count = rows.Count;
            long total = rows.Max(r => r.Tokens) - 1;
            var row = new long[_steps + 1];
            long[] inputs = Array.Empty<long>(), targets = Array.Empty<long>();
            float[] mask = Array.Empty<float>();
            var state = _network.ZeroState(count);
            double sum = 0;
            long counted = 0;
            long start = 0;
            for (; start < total; start += _steps)
            {
                if (start > 0 && outOfTime())
                    break;
                // A scope per chunk: validation memory stays that of one chunk (plus a carried state per chunk), however long the text.
                using var scope = NewDisposeScope();
                int steps = (int)Math.Min(_steps, total - start);
                if (inputs.Length != steps * count)
                    (inputs, targets, mask) = (new long[steps * count], new long[steps * count], new float[steps * count]);
                for (int b = 0; b < count; b++)
                {
                    ReadRow(rows[b], start, row.AsSpan(0, steps + 1));
                    for (int t = 0; t < steps; t++)
                    {
                        inputs[t * count + b] = row[t];
                        targets[t * count + b] = row[t + 1];
                        bool scored = !documents || (start + t + 1 < rows[b].Tokens && row[t + 1] != _endOfText);
                        mask[t * count + b] = scored ? 1 : 0;
                        counted += scored ? 1 : 0;
                    }
                }
                var shape = new long[] { steps, count };
                var chunk = tensor(inputs, shape, device: _network.Device);
                var (output, next) = documents ? EncodeDocuments(chunk, state) : _network.Encode(chunk, state);
                var logits = _network.Head(output);
                var losses = nn.functional.cross_entropy(logits.reshape(-1, logits.shape[2]), tensor(targets, device: _network.Device), reduction: nn.Reduction.None);
                if (documents)
                    losses = losses * tensor(mask, device: _network.Device).to(losses.dtype);
                sum += losses.sum().to(ScalarType.Float64).item<double>();
                state = next.DetachToOuterScope();
            }
            return (sum, Math.Min(start, total), counted);
        }

        /// <summary>Tokens <paramref name="from"/> to from + tokens.Length of <paramref name="row"/> (end-of-text before and after its stretch of the stream).</summary>
        private void ReadRow(ValidationRow row, long from, Span<long> tokens)
        {
            tokens.Fill(_endOfText);
            long first = from - row.Prefix;
            long low = Math.Max(0, first), high = Math.Min(row.Count, first + tokens.Length);
            if (high > low)
                _validation.Read(row.Start + low, tokens.Slice((int)(low - first), (int)(high - low)));
        }

        public override void Dispose() => _state?.Dispose();
    }
}
