using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Diagnostics;
using System.Diagnostics.Metrics;
using System.Runtime.CompilerServices;
using System.Threading;
using System.Threading.Channels;
using System.Threading.Tasks;
using Microsoft.ML;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Scores and continues texts for many concurrent callers by stepping them together (continuous batching): each
    /// worker thread holds up to <see cref="LanguageModelBatcherOptions.MaximumBatchSize"/> texts and advances all of
    /// them one token per step, the recurrent and head products done once for the batch, so the weights are read
    /// from memory once per step instead of once per text. A text joins at the next step after it arrives and leaves
    /// when it ends (a scored text at its last token, a continuation at its stop token, its length, its cancellation
    /// or when its reader stops reading). Each text's results are those of the one-text path (a PredictionEngine's
    /// LogLikelihood, <see cref="LanguageModelPipelineExtensions.GenerateTokens{TInput}"/>): the same
    /// log-likelihood, the same greedy tokens, the same seeded samples, whatever else is in its batch.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Every call names the pipeline it runs on, so a hot reload (<see cref="ScoringEnginePool{TInput, TOutput}.GetModel"/>)
    /// needs nothing here: texts in flight finish on the model they started with, new ones start on the new one, and
    /// texts of different models never share a step. The queue is bounded: a request beyond
    /// <see cref="LanguageModelBatcherOptions.MaximumQueuedRequests"/> waiting ones is refused at once with
    /// <see cref="LanguageModelBatcherFullException"/>. A text that fails (cancelled, abandoned, a fault while it is
    /// stepped) leaves its batch with its exception, and the others go on.
    /// </para>
    /// <para>
    /// Publishes, through <see cref="System.Diagnostics.Metrics"/> under the meter <see cref="MeterName"/>: the number of
    /// texts in each batched step (<c>mlnetlstm.batch.size</c>), the tokens stepped (<c>mlnetlstm.batch.tokens</c>) and
    /// generated (<c>mlnetlstm.generated.tokens</c>), and the texts queued and running (<c>mlnetlstm.batch.queued</c>,
    /// <c>mlnetlstm.batch.active</c>).
    /// </para>
    /// </remarks>
    public sealed class LanguageModelBatcher : IDisposable
    {
        /// <summary>The name of the <see cref="Meter"/> the batcher publishes its measurements under.</summary>
        public const string MeterName = "MlnetLstm.Batching";

        /// <summary>How many generated tokens may wait for a continuation's reader; then the continuation sits out the steps until it reads.</summary>
        private const int ReadAhead = 64;

        private readonly LanguageModelBatcherOptions _options;
        private readonly BlockingCollection<Text> _queue;
        private readonly Thread[] _workers;
        private readonly Meter _meter;
        private readonly Histogram<int> _batchSizes;
        private readonly Counter<long> _steppedTokens;
        private readonly Counter<long> _generatedTokens;
        private int _active;
        private long _lastArrival;
        private long _meanInterval = long.MaxValue;
        private readonly long _windowTicks;
        private volatile bool _abort;
        private bool _disposed;

        /// <summary>Starts the workers.</summary>
        /// <param name="options">The settings; null for the defaults.</param>
        /// <exception cref="ArgumentOutOfRangeException">An option is out of range; the message names it.</exception>
        public LanguageModelBatcher(LanguageModelBatcherOptions? options = null)
        {
            _options = options ?? new LanguageModelBatcherOptions();
            _options.Validate();
            _queue = new BlockingCollection<Text>(new ConcurrentQueue<Text>(), _options.MaximumQueuedRequests);
            _windowTicks = (long)(_options.BatchWindow.TotalSeconds * Stopwatch.Frequency);
            _meter = new Meter(MeterName);
            _batchSizes = _meter.CreateHistogram<int>("mlnetlstm.batch.size", "{text}", "Texts advanced together in one batched step.");
            _steppedTokens = _meter.CreateCounter<long>("mlnetlstm.batch.tokens", "{token}", "Tokens stepped through the network, scored and generated texts together.");
            _generatedTokens = _meter.CreateCounter<long>("mlnetlstm.generated.tokens", "{token}", "Tokens generated and handed to readers.");
            _meter.CreateObservableGauge("mlnetlstm.batch.queued", () => _queue.Count, "{text}", "Texts waiting for a place in a batch.");
            _meter.CreateObservableGauge("mlnetlstm.batch.active", () => Volatile.Read(ref _active), "{text}", "Texts queued or being stepped.");
            _workers = new Thread[_options.Workers ?? Environment.ProcessorCount];
            for (int i = 0; i < _workers.Length; i++)
            {
                _workers[i] = new Thread(Work) { IsBackground = true, Name = $"MlnetLstm batch worker {i}" };
                _workers[i].Start();
            }
        }

        /// <summary>The settings in use.</summary>
        public LanguageModelBatcherOptions Options => _options;

        /// <summary>Texts queued or being stepped now.</summary>
        public int ActiveTexts => Volatile.Read(ref _active);

        /// <summary>
        /// The language model's score of one row, computed in a batch with the other texts being scored or generated:
        /// the row goes through the pipeline's transforms before the language model (its tokenizer), as in a PredictionEngine.
        /// </summary>
        /// <typeparam name="TInput">The input class, as for a PredictionEngine.</typeparam>
        /// <param name="pipeline">A fitted or loaded pipeline with a language model; take it once per request from a hot-reloading pool.</param>
        /// <param name="input">The row whose text to score.</param>
        /// <param name="cancellationToken">Takes the text out of its batch (the task is cancelled).</param>
        /// <returns>The score; its log-likelihood is the LogLikelihood column's value for the same row.</returns>
        /// <exception cref="LanguageModelBatcherFullException">The queue is full or the batcher is stopping: nothing was started.</exception>
        public Task<LanguageModelScore> ScoreAsync<TInput>(ITransformer pipeline, TInput input, CancellationToken cancellationToken = default)
            where TInput : class
        {
            var ids = LanguageModelPipelineExtensions.ReadTokenIds(pipeline, input, out var model);
            var text = new ScoredText(model, ids, cancellationToken);
            Submit(text);
            return text.Result.Task;
        }

        /// <summary>
        /// Continues one row and streams its tokens' text as they are chosen, stepped in a batch with the other texts.
        /// The request is checked (options, prefix) before this returns, so a bad one throws here, before any response
        /// starts; the continuation is queued when the stream is first enumerated (its first <c>MoveNextAsync</c>, which
        /// throws <see cref="LanguageModelBatcherFullException"/> when the queue is full), and it stops when the
        /// enumeration is disposed or <paramref name="cancellationToken"/> is cancelled.
        /// </summary>
        /// <typeparam name="TInput">The input class, as for a PredictionEngine.</typeparam>
        /// <param name="pipeline">A fitted or loaded pipeline with a language model; the whole continuation runs on it.</param>
        /// <param name="input">The row whose text to continue.</param>
        /// <param name="generation">Generation settings for this call; null for the model's own.</param>
        /// <param name="cancellationToken">Takes the text out of its batch between two tokens (OperationCanceledException for the reader).</param>
        /// <returns>The tokens' text, as <see cref="LanguageModelPipelineExtensions.GenerateTokens{TInput}"/> yields them; each enumeration is a continuation of its own.</returns>
        /// <exception cref="ArgumentOutOfRangeException">A generation option is out of range, or the stop token is not in the vocabulary.</exception>
        /// <exception cref="InvalidOperationException">The prefix cannot be continued (empty, or only unknown tokens).</exception>
        public IAsyncEnumerable<string> GenerateAsync<TInput>(ITransformer pipeline, TInput input, GenerationOptions? generation = null,
            CancellationToken cancellationToken = default)
            where TInput : class
        {
            var ids = LanguageModelPipelineExtensions.ReadTokenIds(pipeline, input, out var model);
            return StreamAsync(model, ids, model.CheckGeneration(ids, generation), cancellationToken);
        }

        /// <summary>Queues the checked continuation when it is first enumerated (one never enumerated costs nothing) and hands over its tokens.</summary>
        private async IAsyncEnumerable<string> StreamAsync(RecurrentLanguageModelTransformer model, int[] ids, GenerationOptions options, CancellationToken cancellationToken,
            [EnumeratorCancellation] CancellationToken enumeration = default)
        {
            var text = new GeneratedText(model, ids, options, cancellationToken, _generatedTokens);
            Submit(text);
            await foreach (string token in text.ReadAllAsync(cancellationToken, enumeration).ConfigureAwait(false))
                yield return token;
        }

        private void Submit(Text text)
        {
            // The mean time between arrivals (a moving average over about eight, each interval counted as at most 16
            // windows so that an idle spell is forgotten after a few quick arrivals): a lone caller's requests come far
            // apart, and then no worker waits for company that would not come.
            long now = Stopwatch.GetTimestamp(), previous = Interlocked.Exchange(ref _lastArrival, now);
            if (previous != 0)
            {
                long interval = Math.Min(now - previous, 16 * _windowTicks), mean = Volatile.Read(ref _meanInterval);
                Volatile.Write(ref _meanInterval, mean == long.MaxValue ? interval : mean + (interval - mean) / 8);
            }
            Interlocked.Increment(ref _active);
            bool added;
            try
            {
                added = _queue.TryAdd(text);
            }
            catch (InvalidOperationException)
            {
                // CompleteAdding was called: the batcher is stopping.
                Interlocked.Decrement(ref _active);
                throw new LanguageModelBatcherFullException("The language model batcher is stopping and takes no new requests.", _options.RetryAfter);
            }
            if (!added)
            {
                Interlocked.Decrement(ref _active);
                throw new LanguageModelBatcherFullException(
                    $"The language model batcher's queue is full ({_options.MaximumQueuedRequests:N0} requests waiting, LanguageModelBatcherOptions.MaximumQueuedRequests); try again after {_options.RetryAfter.TotalSeconds:G} s.",
                    _options.RetryAfter);
            }
        }

        /// <summary>One worker: admits queued texts into its batch, steps the batch, lets finished texts go; until the batcher stops.</summary>
        private void Work()
        {
            int capacity = _options.MaximumBatchSize;
            var active = new List<Text>(capacity);
            var members = new Text[capacity];
            var states = new RecurrentEngineState[capacity];
            var tokens = new int[capacity];
            var heads = new RecurrentEngineState[capacity];
            var batch = new RecurrentEngineBatch();
            long windowTicks = _windowTicks;
            int round = 0;
            while (!_abort)
            {
                try
                {
                    if (active.Count == 0)
                    {
                        if (!_queue.TryTake(out var first, Timeout.Infinite))
                            break;
                        Admit(first, active);
                        // Wait for company a moment, spinning (a sleep lasts a millisecond or more), so that requests that
                        // arrive together share their steps; a lone request starts after the window. Not when requests
                        // have lately come more than four windows apart (one caller alone): nobody would come.
                        long deadline = Stopwatch.GetTimestamp() + (Volatile.Read(ref _meanInterval) <= 4 * windowTicks ? windowTicks : 0);
                        var spinner = new SpinWait();
                        while (active.Count > 0 && active.Count < capacity && Stopwatch.GetTimestamp() < deadline)
                        {
                            if (_queue.TryTake(out var next))
                                Admit(next, active);
                            else
                                spinner.SpinOnce(sleep1Threshold: -1);
                        }
                    }
                    else
                    {
                        // Texts held for their readers keep no batch place: a stalled client cannot keep others waiting.
                        int running = active.Count - Held(active);
                        while (running < capacity && _queue.TryTake(out var next))
                        {
                            Admit(next, active);
                            running = active.Count - Held(active);
                        }
                    }
                    if (active.Count == 0)
                        continue;
                    round++;
                    // A text whose reader is behind holds its next token until the reader catches up (or goes away).
                    for (int i = 0; i < active.Count; i++)
                        if (active[i].Held && !active[i].MustHold)
                        {
                            active[i].Held = false;
                            if (!Continue(active[i]))
                                active[i].Finished = true;
                        }
                    int stepped = StepAll(active, round, members, states, tokens, heads, batch);
                    int kept = 0;
                    for (int i = 0; i < active.Count; i++)
                    {
                        var text = active[i];
                        if (!text.Finished && text.Round == round)
                        {
                            if (text.MustHold)
                                text.Held = true;
                            else if (!Continue(text))
                                text.Finished = true;
                        }
                        if (text.Finished)
                            Interlocked.Decrement(ref _active);
                        else
                            active[kept++] = text;
                    }
                    active.RemoveRange(kept, active.Count - kept);
                    // Every text waits for its reader: wait for a new request, or a millisecond for a reader to catch up.
                    if (stepped == 0 && active.Count > 0)
                    {
                        if (active.Count - Held(active) < capacity && !_queue.IsCompleted)
                        {
                            if (_queue.TryTake(out var arrived, 1))
                                Admit(arrived, active);
                        }
                        else
                            Thread.Sleep(1);
                    }
                }
                catch (Exception e)
                {
                    // A fault of the batcher itself, outside any one text: the texts it held are told, the worker goes on.
                    foreach (var text in active)
                    {
                        text.Fail(e);
                        Interlocked.Decrement(ref _active);
                    }
                    active.Clear();
                }
            }
            // Stopped before these ended: their callers are told so.
            foreach (var text in active)
            {
                text.Fail(new OperationCanceledException("The language model batcher stopped before this text was finished."));
                Interlocked.Decrement(ref _active);
            }
        }

        /// <summary>How many of the texts are held for their readers.</summary>
        private static int Held(List<Text> active)
        {
            int held = 0;
            foreach (var text in active)
                if (text.Held)
                    held++;
            return held;
        }

        private void Admit(Text text, List<Text> active)
        {
            bool running;
            try
            {
                running = text.Start();
            }
            catch (Exception e)
            {
                text.Fail(e);
                running = false;
            }
            if (running)
                active.Add(text);
            else
                Interlocked.Decrement(ref _active);
        }

        /// <summary>The text's next move after its step; a fault ends this text only.</summary>
        private static bool Continue(Text text)
        {
            try
            {
                return text.Continue();
            }
            catch (Exception e)
            {
                text.Fail(e);
                return false;
            }
        }

        /// <summary>
        /// Steps every active text that is not held once: the texts of one model together, at most a batch at a time
        /// (a reload may leave texts of two models in one worker, and texts released by their readers may make more
        /// than a batch), then the head for those that need logits. Stepped texts get the round's number.
        /// </summary>
        /// <returns>How many texts were stepped.</returns>
        private int StepAll(List<Text> active, int round, Text[] members, RecurrentEngineState[] states, int[] tokens, RecurrentEngineState[] heads,
            RecurrentEngineBatch batch)
        {
            int stepped = 0;
            for (int i = 0; i < active.Count; i++)
            {
                if (active[i].Round == round || active[i].Held || active[i].Finished)
                    continue;
                var engine = active[i].Engine;
                int count = 0;
                for (int j = i; j < active.Count; j++)
                {
                    var text = active[j];
                    if (count == members.Length)
                        break;
                    if (text.Round != round && !text.Held && !text.Finished && ReferenceEquals(text.Engine, engine))
                    {
                        text.Round = round;
                        members[count] = text;
                        states[count] = text.State;
                        tokens[count++] = text.NextToken;
                    }
                }
                try
                {
                    engine.Step(batch, states.AsSpan(0, count), tokens.AsSpan(0, count));
                    int withHead = 0;
                    for (int k = 0; k < count; k++)
                        if (members[k].NeedsHead)
                            heads[withHead++] = members[k].State;
                    if (withHead > 0)
                        engine.Head(batch, heads.AsSpan(0, withHead));
                }
                catch (Exception e)
                {
                    for (int k = 0; k < count; k++)
                        members[k].Fail(e);
                }
                _batchSizes.Record(count);
                _steppedTokens.Add(count);
                stepped += count;
                Array.Clear(members, 0, count);
                Array.Clear(states, 0, count);
                Array.Clear(heads, 0, count);
            }
            return stepped;
        }

        /// <summary>
        /// Stops taking requests and lets the texts queued and running finish, for at most <paramref name="timeout"/>;
        /// those still running then fail with OperationCanceledException. Called by <see cref="Dispose"/> with no time.
        /// </summary>
        /// <returns>True when every text finished within the time.</returns>
        public bool Stop(TimeSpan timeout)
        {
            if (!_queue.IsAddingCompleted)
                _queue.CompleteAdding();
            var deadline = Stopwatch.GetTimestamp() + (long)(timeout.TotalSeconds * Stopwatch.Frequency);
            bool finished = true;
            foreach (var worker in _workers)
            {
                var left = TimeSpan.FromSeconds(Math.Max(0, (deadline - Stopwatch.GetTimestamp()) / (double)Stopwatch.Frequency));
                finished &= worker.Join(left);
            }
            if (finished)
                return true;
            _abort = true;
            foreach (var worker in _workers)
                worker.Join();
            // Texts still queued never started.
            while (_queue.TryTake(out var text))
            {
                text.Fail(new OperationCanceledException("The language model batcher stopped before this text started."));
                Interlocked.Decrement(ref _active);
            }
            return false;
        }

        /// <summary>Stops at once: running and queued texts fail with OperationCanceledException.</summary>
        public void Dispose()
        {
            if (_disposed)
                return;
            _disposed = true;
            Stop(TimeSpan.Zero);
            _meter.Dispose();
            _queue.Dispose();
        }

        /// <summary>One text in a batch: its state, the token it steps next, and what it does after each step.</summary>
        private abstract class Text
        {
            protected Text(RecurrentLanguageModelTransformer model, CancellationToken cancellationToken)
            {
                Model = model;
                Engine = model.SharedEngine;
                Vocabulary = model.LanguageModelVocabulary;
                State = Engine.CreateState();
                Cancellation = cancellationToken;
            }

            protected RecurrentLanguageModelTransformer Model { get; }

            protected LanguageModelVocabulary Vocabulary { get; }

            protected CancellationToken Cancellation { get; }

            public RecurrentEngine Engine { get; }

            public RecurrentEngineState State { get; }

            /// <summary>The token the next step reads.</summary>
            public int NextToken { get; protected set; }

            /// <summary>Whether the next step must be followed by the head (logits in <see cref="RecurrentEngineState.Output"/>).</summary>
            public bool NeedsHead { get; protected set; }

            /// <summary>The worker's step count when this text was last stepped.</summary>
            public int Round { get; set; }

            /// <summary>Whether the text has ended (result delivered or failed).</summary>
            public bool Finished { get; set; }

            /// <summary>Whether the text sits out the steps until <see cref="MustHold"/> turns false (its reader has caught up).</summary>
            public bool Held { get; set; }

            /// <summary>Whether the text must wait before its next move: a continuation whose reader is <see cref="ReadAhead"/> tokens behind.</summary>
            public virtual bool MustHold => false;

            /// <summary>Sets up the first step; false when the text ends without one.</summary>
            public abstract bool Start();

            /// <summary>After a step (and the head when <see cref="NeedsHead"/>): sets up the next one, or ends; false when ended.</summary>
            public abstract bool Continue();

            /// <summary>Ends the text with <paramref name="error"/> (a cancellation is reported as one).</summary>
            public abstract void Fail(Exception error);
        }

        /// <summary>A text being scored: position t's logits predict token t, the first from the end-of-text token.</summary>
        private sealed class ScoredText : Text
        {
            private readonly int[] _ids;
            private int _position;
            private double _logLikelihood;

            public ScoredText(RecurrentLanguageModelTransformer model, int[] ids, CancellationToken cancellationToken)
                : base(model, cancellationToken)
            {
                _ids = ids;
            }

            public TaskCompletionSource<LanguageModelScore> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

            public override bool Start()
            {
                Cancellation.ThrowIfCancellationRequested();
                Model.CheckAlive();
                if (_ids.Length == 0)
                {
                    Finished = Result.TrySetResult(new LanguageModelScore(0, 0));
                    return false;
                }
                NextToken = Vocabulary.EndOfText;
                NeedsHead = true;
                return true;
            }

            public override bool Continue()
            {
                // The same sum in the same order as LanguageModelScorer.Read, so the same value to the last bit.
                _logLikelihood += VectorKernels.LogSoftmaxAt(State.Output, _ids[_position], State.Scratch);
                NextToken = _ids[_position++];
                if (_position == _ids.Length)
                {
                    Finished = Result.TrySetResult(new LanguageModelScore(_logLikelihood, _ids.Length));
                    return false;
                }
                Cancellation.ThrowIfCancellationRequested();
                Model.CheckAlive();
                return true;
            }

            public override void Fail(Exception error)
            {
                Finished = true;
                if (error is OperationCanceledException cancelled)
                    Result.TrySetCanceled(cancelled.CancellationToken.IsCancellationRequested ? cancelled.CancellationToken : Cancellation);
                else
                    Result.TrySetException(error);
            }
        }

        /// <summary>
        /// A continuation: reads the end-of-text token and the prefix (the head only after the last of them), then
        /// chooses, hands over and steps one token at a time, exactly as LanguageModelScorer.Generate does.
        /// </summary>
        private sealed class GeneratedText : Text
        {
            private readonly int[] _prefix;
            private readonly GenerationOptions _options;
            private readonly int? _stop;
            private readonly Random _random;
            private readonly TokenSampler _sampler;
            private readonly Counter<long> _generatedTokens;
            // Tokens are handed over as they are chosen; at most ReadAhead of them wait for a slow reader (MustHold).
            private readonly Channel<string> _tokens = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });
            private int _read;
            private int _generated;
            private int _unread;
            private volatile bool _abandoned;

            public GeneratedText(RecurrentLanguageModelTransformer model, int[] prefix, GenerationOptions options, CancellationToken cancellationToken, Counter<long> generatedTokens)
                : base(model, cancellationToken)
            {
                _prefix = prefix;
                _options = options;
                _stop = options.StopToken is null ? null : Array.IndexOf(Vocabulary.Tokens, options.StopToken);
                _random = options.Seed is int seed ? new Random(seed) : new Random();
                _sampler = new TokenSampler(Vocabulary);
                _generatedTokens = generatedTokens;
            }

            /// <summary>
            /// Held while its reader has <see cref="ReadAhead"/> tokens unread, so a slow or stalled client costs
            /// neither memory nor steps; not once the reader is gone or cancelled (the next move ends the text).
            /// </summary>
            public override bool MustHold => _read == _prefix.Length && Volatile.Read(ref _unread) >= ReadAhead && !_abandoned && !Cancellation.IsCancellationRequested;

            public override bool Start()
            {
                Cancellation.ThrowIfCancellationRequested();
                _sampler.Begin(_prefix);
                NextToken = Vocabulary.EndOfText;
                NeedsHead = _prefix.Length == 0;
                return true;
            }

            public override bool Continue()
            {
                if (_read < _prefix.Length)
                {
                    NextToken = _prefix[_read++];
                    NeedsHead = _read == _prefix.Length;
                    return true;
                }
                if (_generated == _options.MaximumNewTokens)
                    return Complete();
                if (_abandoned)
                    return Complete();
                Cancellation.ThrowIfCancellationRequested();
                Model.CheckAlive();
                int token = _sampler.Choose(State.Output, _options, _stop, _random);
                if (token < 0 || token == _stop)
                    return Complete();
                Interlocked.Increment(ref _unread);
                _tokens.Writer.TryWrite(_generated == 0 ? Vocabulary.Tokens[token] : Vocabulary.Separator + Vocabulary.Tokens[token]);
                _generatedTokens.Add(1);
                if (++_generated == _options.MaximumNewTokens)
                    return Complete();
                _sampler.Observe(token);
                NextToken = token;
                NeedsHead = true;
                return true;
            }

            private bool Complete()
            {
                _tokens.Writer.TryComplete();
                return false;
            }

            public override void Fail(Exception error)
            {
                Finished = true;
                _tokens.Writer.TryComplete(error);
            }

            public async IAsyncEnumerable<string> ReadAllAsync(CancellationToken cancellationToken, [EnumeratorCancellation] CancellationToken enumeration = default)
            {
                try
                {
                    using var both = enumeration.CanBeCanceled ? CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, enumeration) : null;
                    var token = both?.Token ?? cancellationToken;
                    while (await _tokens.Reader.WaitToReadAsync(token).ConfigureAwait(false))
                        while (_tokens.Reader.TryRead(out var text))
                        {
                            Interlocked.Decrement(ref _unread);
                            yield return text;
                        }
                }
                finally
                {
                    // The reader stopped (finished, cancelled or gone): a running continuation leaves its batch at its next step.
                    _abandoned = true;
                }
            }
        }
    }
}
