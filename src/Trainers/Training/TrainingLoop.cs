using System;
using System.Collections.Generic;
using System.Globalization;
using System.IO;
using System.Linq;
using Microsoft.ML.Runtime;
using TorchSharp;
using TorchSharp.Modules;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The one training loop of every recurrent trainer: per batch zero_grad → forward → backward → clip → step, with
    /// a learning-rate schedule, a time budget and cancellation through ML.NET's host; per epoch validation, early
    /// stopping, a checkpoint, and progress on <c>MLContext.Log</c> and the options' callback. Every batch runs in a
    /// TorchSharp dispose scope, so long runs do not accumulate native memory. The automatic choices that depend on
    /// the machine are measured here: the hidden size among candidates (<see cref="AutomaticHiddenSize"/>) and the
    /// thread count (<see cref="ThreadTuner"/>). The time budget holds for the whole Fit: training stops early enough
    /// for the epoch's validation and checkpoint, and a validation that would still overrun scores a prefix.
    /// </summary>
    internal static class TrainingLoop
    {
        /// <summary>The most of the time budget kept back for the last validation and checkpoint; a longer validation scores a prefix.</summary>
        private const double MaximumReserve = 0.1;

        /// <summary>A validation step costs about this share of a training step per item (forward only, no optimizer), for the estimate before the first validation.</summary>
        private const double ValidationCostPerItem = 0.5;

        /// <summary>
        /// Builds the network (seeded, on the device the environment chooses) of one of <paramref name="candidates"/>
        /// (one architecture, or the automatic hidden sizes smallest first, chosen by measuring), trains it on the objective
        /// <paramref name="createObjective"/> makes for it, and returns its weights with its history. An epoch trains on
        /// <paramref name="itemsPerEpoch"/> items (tokens for a language model): what an epoch limit buys.
        /// <paramref name="vocabulary"/> (null for a model of numbers) goes into checkpoints, and a resumed one must match it.
        /// </summary>
        public static TrainedNetwork Train(IHost host, RecurrentTrainingOptions options, TrainingClock clock, IReadOnlyList<RecurrentArchitecture> candidates,
            NetworkVocabulary? vocabulary, long itemsPerEpoch, OneHotProjection projection, Func<RecurrentNetwork, TrainingObjective> createObjective, string description)
        {
            // Before anything is trained: a path that cannot take checkpoints would otherwise fail after the first epoch, losing it.
            if (options.CheckpointPath is string checkpointPath)
                TrainingCheckpoint.CheckTarget(checkpointPath, options.ResumeFromCheckpoint);
            int seed = options.Seed ?? host.Rand.Next();
            int defaultThreads = options.NumberOfThreads ?? get_num_threads();
            bool tuneThreads = options.NumberOfThreads is null && defaultThreads > 1;
            RecurrentNetwork network;
            Dictionary<string, string> settings;
            using (var threads = ThreadCount.Use(defaultThreads))
            using (var channel = host.Start("Training"))
            {
                var device = TorchDevice.Choose(host, channel);
                if (options.NumberOfThreads is int set && set > Environment.ProcessorCount)
                    channel.Warning($"NumberOfThreads is {set}, more than the {Environment.ProcessorCount} logical processors of this machine: the extra threads only wait " +
                        $"for one another (256 threads on 2 cores trained 16 times slower than 2). Set at most {Environment.ProcessorCount}, or null to let training measure the faster count.");
                var sizing = new SizeMeasurement(options, clock, seed, device, projection, createObjective, channel);
                var (architecture, sizeReason, startThreads) = sizing.Choose(candidates, itemsPerEpoch, tuneThreads ? defaultThreads : null);
                if (options.InitialModel is { } initial)
                    InitialWeights.Check(initial, architecture);
                channel.Info($"Training {description}: {architecture.Layers}-layer {(architecture.Bidirectional ? "bidirectional " : "")}{architecture.Cell}, " +
                    $"hidden size {architecture.HiddenSize}, {architecture.ParameterCount:N0} parameters, on {device}.");
                settings = TrainingSettings.Resolve(options, architecture, seed, sizeReason,
                    tuneThreads ? $"{defaultThreads} or 1, whichever trains faster, measured during training" : null);
                channel.Info(TrainingSettings.Describe(settings));
                network = sizing.Build(architecture);
                if (options.InitialModel is { } initialModel)
                {
                    network.LoadWeights(initialModel.Trained.Weights);
                    channel.Info($"Starting from the weights of InitialModel ({initialModel.GetType().Name}).");
                }
                // The fitted transformer scores with a managed copy of the weights, so the TorchSharp network (and its
                // native memory) lives only as long as training.
                using (network)
                using (var objective = createObjective(network))
                using (var run = new TrainingRun(host, network, vocabulary, objective, options, seed, clock, tuneThreads ? (defaultThreads, startThreads) : null))
                {
                    var history = run.Execute();
                    if (run.ThreadDecisions is string decisions)
                        settings["NumberOfThreads"] = $"{defaultThreads} or 1 (automatic: {decisions})";
                    return new TrainedNetwork(network.ToWeights(), (int)network.Implementation, (int)network.OneHotProjection, history, settings);
                }
            }
        }

        /// <summary>zero_grad → forward → backward → clip → step of one batch, in a dispose scope; returns the batch's loss and item count.</summary>
        private static (double Loss, long Count) Step(optim.Optimizer optimizer, TrainingObjective objective, IReadOnlyList<Parameter> parameters, double clippingNorm, int batch)
        {
            using var scope = NewDisposeScope();
            optimizer.zero_grad();
            var (loss, count) = objective.TrainBatch(batch);
            loss.backward();
            if (clippingNorm > 0)
                GradientClipping.ClipByGlobalNorm(parameters, clippingNorm);
            optimizer.step();
            return (loss.item<float>(), count);
        }

        private static Random EpochRandom(int seed, int epoch) => new(unchecked(seed * 7919 + epoch));

        private static string Seconds(TimeSpan time) => time.TotalSeconds.ToString("0.0##", CultureInfo.InvariantCulture) + " s";

        /// <summary>
        /// Builds the networks of a run, and chooses its hidden size among the automatic candidates: from what the epoch
        /// limit allows, or, under a time budget, from each candidate's training speed measured on this machine, this
        /// data and these threads within <see cref="AutomaticHiddenSize.MeasurementShare"/> of the budget.
        /// </summary>
        private sealed class SizeMeasurement
        {
            private readonly RecurrentTrainingOptions _options;
            private readonly TrainingClock _clock;
            private readonly int _seed;
            private readonly Device _device;
            private readonly OneHotProjection _projection;
            private readonly Func<RecurrentNetwork, TrainingObjective> _createObjective;
            private readonly IChannel _channel;

            public SizeMeasurement(RecurrentTrainingOptions options, TrainingClock clock, int seed, Device device, OneHotProjection projection,
                Func<RecurrentNetwork, TrainingObjective> createObjective, IChannel channel)
            {
                _options = options;
                _clock = clock;
                _seed = seed;
                _device = device;
                _projection = projection;
                _createObjective = createObjective;
                _channel = channel;
            }

            /// <summary>The network of <paramref name="architecture"/>, seeded: the same weights whether its size was set or chosen.</summary>
            public RecurrentNetwork Build(RecurrentArchitecture architecture)
                => new(architecture, _seed, _device) { Implementation = _options.Implementation, OneHotProjection = _projection };

            /// <summary>
            /// The architecture to train, why (null when the options set it), and the thread count to start at
            /// (<paramref name="tunedDefault"/> or 1, whichever measured faster; <paramref name="tunedDefault"/> when
            /// nothing was measured; ignored when threads are not tuned).
            /// </summary>
            public (RecurrentArchitecture Architecture, string? Reason, int StartThreads) Choose(IReadOnlyList<RecurrentArchitecture> candidates, long itemsPerEpoch, int? tunedDefault)
            {
                int start = tunedDefault ?? 1;
                if (candidates.Count == 1)
                    return (candidates[0], null, start);
                if (Given(candidates) is { } given)
                    return (given.Architecture, given.Reason, start);
                double? byEpochs = _options.EffectiveEpochs == int.MaxValue ? null : (double)_options.EffectiveEpochs * itemsPerEpoch;
                var sizes = candidates.Select(c => new AutomaticHiddenSize.Candidate(c.HiddenSize, c.ParameterCount, null)).ToList();
                if (_options.TimeBudget is not TimeSpan budget)
                {
                    var byEpochsOnly = AutomaticHiddenSize.Choose(sizes, byEpochs, null);
                    return (candidates.Single(c => c.HiddenSize == byEpochsOnly.HiddenSize), byEpochsOnly.Reason, start);
                }
                var allowance = budget * AutomaticHiddenSize.MeasurementShare;
                if (allowance < AutomaticHiddenSize.MinimumMeasurement)
                    return (candidates[0], $"the smallest candidate, not measured: {AutomaticHiddenSize.MeasurementShare * 100:0}% of TimeBudget {Seconds(budget)} is {Seconds(allowance)}, " +
                        $"less than the {Seconds(AutomaticHiddenSize.MinimumMeasurement)} measuring needs", start);

                // Each measurement ends at its share of the allowance, its set-up and warm-up batch included; the smallest
                // candidate is measured at both thread counts when they are tuned, one thread first: the first
                // measurement of a process also pays for first-use costs, which would favour the count measured second.
                var began = _clock.Elapsed;
                int measurements = candidates.Count + (tunedDefault is null ? 0 : 1), ended = 0;
                TimeSpan End() => began + allowance * (++ended) / measurements;
                var measured = new List<string>();
                for (int i = 0; i < candidates.Count && _clock.Elapsed - began < allowance; i++)
                {
                    double speed;
                    if (i == 0 && tunedDefault is int threads)
                    {
                        double atOne = Measure(candidates[i], 1, End()), atDefault = Measure(candidates[i], threads, End());
                        // Short measurements are rough: only a clear difference starts training at one thread (the tuner measures again).
                        start = atOne > 1.5 * atDefault ? 1 : threads;
                        speed = Math.Max(atDefault, atOne);
                        measured.Add($"{candidates[i].HiddenSize} at {Number(atDefault)} tokens/s with {threads} threads and {Number(atOne)} with 1");
                    }
                    else
                    {
                        speed = Measure(candidates[i], tunedDefault is null ? get_num_threads() : start, End());
                        measured.Add($"{candidates[i].HiddenSize} at {Number(speed)} tokens/s");
                    }
                    sizes[i] = sizes[i] with { TokensPerSecond = speed };
                }
                var spent = _clock.Elapsed - began;
                _channel.Info($"Measured hidden sizes {string.Join(", ", measured)} (in {Seconds(spent)} of the {Seconds(budget)} time budget).");
                var choice = AutomaticHiddenSize.Choose(sizes, byEpochs, budget - _clock.Elapsed);
                return (candidates.Single(c => c.HiddenSize == choice.HiddenSize), $"{choice.Reason} (measured in {Seconds(spent)})", start);
            }

            /// <summary>The candidate that a resumed checkpoint or an initial model already fixes, if any.</summary>
            private (RecurrentArchitecture Architecture, string Reason)? Given(IReadOnlyList<RecurrentArchitecture> candidates)
            {
                if (_options.InitialModel?.Trained.Architecture is { } initial && candidates.FirstOrDefault(c => c.HiddenSize == initial.HiddenSize) is { } fromInitial)
                    return (fromInitial, "the hidden size of InitialModel");
                if (_options.ResumeFromCheckpoint && _options.CheckpointPath is string path && File.Exists(path)
                    && TrainingCheckpoint.PeekArchitecture(path) is { } saved && candidates.FirstOrDefault(c => c == saved) is { } fromCheckpoint)
                    return (fromCheckpoint, "the hidden size of the checkpoint resumed");
                return null;
            }

            /// <summary>Training speed in items per second of a throwaway network of <paramref name="architecture"/>: a warm-up batch, then batches until <paramref name="end"/> (at least one).</summary>
            private double Measure(RecurrentArchitecture architecture, int threads, TimeSpan end)
            {
                set_num_threads(threads);
                using var network = Build(architecture);
                using var objective = _createObjective(network);
                using var optimizer = CreateOptimizer(network, _options);
                var parameters = network.parameters().ToList();
                network.train();
                int batches = objective.BeginEpoch(EpochRandom(_seed, 1));
                // The first batch of a network pays for its kernels' set-up, which is not its speed.
                Step(optimizer, objective, parameters, _options.GradientClippingNorm, 0);
                var began = _clock.Elapsed;
                long items = 0;
                int batch = 1;
                do
                    items += Step(optimizer, objective, parameters, _options.GradientClippingNorm, batch++ % batches).Count;
                while (_clock.Elapsed < end);
                return items / (_clock.Elapsed - began).TotalSeconds;
            }

            private static string Number(double value) => value.ToString("N0", CultureInfo.InvariantCulture);
        }

        /// <summary>One run of the loop: its state, and its steps, each a method.</summary>
        private sealed class TrainingRun : IDisposable
        {
            private readonly IHost _host;
            private readonly RecurrentNetwork _network;
            private readonly NetworkVocabulary? _vocabulary;
            private readonly TrainingObjective _objective;
            private readonly RecurrentTrainingOptions _options;
            private readonly int _seed;
            private readonly TrainingClock _clock;
            private readonly (int Default, int Start)? _tunedThreads;
            private readonly IChannel _channel;
            private readonly optim.Optimizer _optimizer;
            private readonly List<Parameter> _parameters;
            private readonly EarlyStopping _earlyStopping;
            private ThreadTuner? _threads;
            private List<EpochMetrics> _history = new();
            private TimeSpan _elapsedBefore;
            private long _step;
            private int _epoch, _batch, _batches;
            private double _rate, _lastLoss = double.NaN;
            private bool _warnedWithoutValidation;
            // What the end of an epoch costs, for stopping in time: a training batch, a validation (per item before the
            // first one, then as measured, scaled to all of the validation data) and a checkpoint.
            private TimeSpan _batchTime, _validationTime, _checkpointTime;
            private double _secondsPerItem;

            public TrainingRun(IHost host, RecurrentNetwork network, NetworkVocabulary? vocabulary, TrainingObjective objective, RecurrentTrainingOptions options, int seed,
                TrainingClock clock, (int Default, int Start)? tunedThreads)
            {
                _host = host;
                _network = network;
                _vocabulary = vocabulary;
                _objective = objective;
                _options = options;
                _seed = seed;
                _clock = clock;
                _tunedThreads = tunedThreads;
                _channel = host.Start("Training");
                _optimizer = CreateOptimizer(network, options);
                _parameters = network.parameters().ToList();
                _earlyStopping = new EarlyStopping(options.EarlyStoppingPatience);
                _rate = options.EffectiveLearningRate;
            }

            /// <summary>The thread tuner's decisions, or null when the thread count was set.</summary>
            public string? ThreadDecisions => _threads?.Summary;

            public IReadOnlyList<EpochMetrics> Execute()
            {
                Resume();
                using var progress = _host.StartProgressChannel("Recurrent training");
                progress.SetHeader(new ProgressHeader(new[] { "loss" }, new[] { "epoch", "batch" }), entry =>
                {
                    entry.SetProgress(0, _epoch, _options.EffectiveEpochs == int.MaxValue ? double.NaN : _options.EffectiveEpochs);
                    entry.SetProgress(1, _batch, _batches);
                    entry.SetMetric(0, _lastLoss);
                });
                if (_tunedThreads is var (defaultCount, start))
                    _threads = new ThreadTuner(defaultCount, start, set_num_threads, _objective.ItemName, Elapsed);
                try
                {
                    bool stop = false;
                    for (_epoch = _history.Count + 1; _epoch <= _options.EffectiveEpochs && !stop; _epoch++)
                    {
                        var (lossSum, items, itemsPerSecond, outOfTime) = TrainEpoch();
                        if (items == 0)
                            break;
                        var endBegan = Elapsed;
                        stop = EndEpoch(lossSum / items, itemsPerSecond, ref outOfTime) || outOfTime;
                        if (_options.CheckpointPath is not null)
                        {
                            var before = _clock.Elapsed;
                            TrainingCheckpoint.Save(_options.CheckpointPath, _network, _vocabulary, (OptimizerHelper)_optimizer, _history, _earlyStopping.BestWeights, _earlyStopping.BestEpoch);
                            _checkpointTime = _clock.Elapsed - before;
                        }
                        _threads?.Exclude(Elapsed - endBegan);
                    }
                    _earlyStopping.Restore(_network);
                    if (_history.Count == 0)
                        throw new InvalidOperationException("Training ran no batch: the time budget ended before the first one. Raise TimeBudget.");
                    if (_threads is not null)
                        _channel.Info($"Threads: {_threads.Summary}.");
                    return _history;
                }
                finally
                {
                    _network.eval();
                }
            }

            /// <summary>
            /// Restores a checkpoint's weights, optimizer state, history and early-stopping state, and moves the
            /// learning-rate schedule to where it left off; nothing unless resuming from an existing checkpoint.
            /// </summary>
            private void Resume()
            {
                if (!_options.ResumeFromCheckpoint || !File.Exists(_options.CheckpointPath))
                    return;
                var (history, bestWeights, bestEpoch) = TrainingCheckpoint.Load(_options.CheckpointPath!, _network, _vocabulary, (OptimizerHelper)_optimizer);
                _history = history;
                _channel.Info($"Resumed from checkpoint '{_options.CheckpointPath}' after epoch {history.Count}.");
                if (_earlyStopping.Resume(history, bestWeights, bestEpoch, _network) is string note)
                    _channel.Info(note);
                // The time budget counts the runs before this one: their training time, not this Fit's time so far.
                _elapsedBefore = (history.LastOrDefault()?.Elapsed ?? TimeSpan.Zero) - _clock.Elapsed;
                // The batches of the completed epochs count for the schedule (an epoch's batches depend only on the
                // seed and the epoch number).
                for (int completed = 1; completed <= history.Count; completed++)
                    _step += _objective.BeginEpoch(EpochRandom(_seed, completed));
            }

            /// <summary>Time since Fit began, the runs resumed from included.</summary>
            private TimeSpan Elapsed => _elapsedBefore + _clock.Elapsed;

            /// <summary>
            /// What the end of the epoch would take (the validation and checkpoint, and one more batch): training stops
            /// when no more than this is left of the budget. At most <see cref="MaximumReserve"/> of the budget; a
            /// longer validation scores a prefix.
            /// </summary>
            private TimeSpan Reserve(TimeSpan budget)
            {
                var validation = _validationTime > TimeSpan.Zero ? _validationTime : TimeSpan.FromSeconds(_objective.ValidationItems * _secondsPerItem * ValidationCostPerItem);
                var reserve = _batchTime + validation + _checkpointTime;
                return reserve < budget * MaximumReserve ? reserve : budget * MaximumReserve;
            }

            /// <summary>Every batch of the epoch, until the time budget (less the end of the epoch) ends.</summary>
            private (double LossSum, long Items, double ItemsPerSecond, bool OutOfTime) TrainEpoch()
            {
                _host.CheckAlive();
                _network.train();
                _batches = _objective.BeginEpoch(EpochRandom(_seed, _epoch));
                double lossSum = 0;
                long items = 0;
                var began = Elapsed;
                for (_batch = 0; _batch < _batches; _batch++)
                {
                    _host.CheckAlive();
                    var before = Elapsed;
                    long count = TrainBatch();
                    var after = Elapsed;
                    _batchTime = after - before;
                    _secondsPerItem = _batchTime.TotalSeconds / count;
                    if (_threads?.AfterBatch(count, after) is string decision)
                        _channel.Info(decision);
                    lossSum += _lastLoss * count;
                    items += count;
                    if (_options.TimeBudget is TimeSpan budget && after + Reserve(budget) >= budget)
                    {
                        _batch++;
                        return (lossSum, items, items / (after - began).TotalSeconds, true);
                    }
                }
                return (lossSum, items, items / (Elapsed - began).TotalSeconds, false);
            }

            /// <summary>Sets the scheduled learning rate, then zero_grad → forward → backward → clip → step; returns the batch's item count.</summary>
            private long TrainBatch()
            {
                double done = (double)_step++ / ((double)_options.EffectiveEpochs * _batches);
                if (_options.TimeBudget is TimeSpan budget)
                    done = Math.Max(done, Elapsed / (budget - Reserve(budget)));
                _rate = ScheduledRate(_options, done);
                foreach (var group in _optimizer.ParamGroups)
                    group.LearningRate = _rate;
                (_lastLoss, long count) = Step(_optimizer, _objective, _parameters, _options.GradientClippingNorm, _batch);
                if (!double.IsFinite(_lastLoss))
                    throw Diverged($"in epoch {_epoch}, batch {_batch + 1}: the loss is {_lastLoss}");
                return count;
            }

            /// <summary>
            /// Validates (a prefix, when the budget would not hold the whole), records and reports the epoch; returns
            /// true when early stopping ends training, and sets <paramref name="outOfTime"/> when validation was cut short.
            /// </summary>
            private bool EndEpoch(double trainingLoss, double itemsPerSecond, ref bool outOfTime)
            {
                var before = _clock.Elapsed;
                Func<bool> validationOutOfTime = _options.TimeBudget is TimeSpan budget ? () => Elapsed + _checkpointTime >= budget : () => false;
                var result = Validate(_network, _objective, validationOutOfTime);
                if (result is { } done)
                    _validationTime = (_clock.Elapsed - before) / done.Fraction;
                double? validation = result is { } r ? r.LossSum / r.Count : null;
                double fraction = result?.Fraction ?? 0;
                outOfTime |= fraction is > 0 and < 1;
                // The training loss is checked before each step, so a step that breaks the weights in an epoch's last
                // batch shows only here.
                if (validation is double checkedLoss && !double.IsFinite(checkedLoss))
                    throw Diverged($"in epoch {_epoch}: the validation loss after its last batch is {checkedLoss}");
                var metrics = new EpochMetrics(_epoch, trainingLoss, validation, itemsPerSecond, Elapsed, _rate)
                {
                    ValidationStreamLoss = result?.StreamLoss,
                    ValidationFraction = fraction,
                };
                _history.Add(metrics);
                _channel.Info(Describe(metrics, _objective)
                    + (fraction is > 0 and < 1 ? $" (validation scored {(fraction * 100).ToString("0.0", CultureInfo.InvariantCulture)}% of the validation data before the time budget ended)" : "")
                    + (outOfTime ? $" (time budget reached after {_batch} of {_batches} batches)." : "."));
                _options.EpochCompleted?.Invoke(metrics);
                if (_options.EarlyStoppingPatience == 0)
                    return false;
                if (validation is double loss)
                {
                    if (!_earlyStopping.Observe(_epoch, loss, _network))
                        return false;
                    _channel.Info($"Early stopping: validation loss has not improved for {_earlyStopping.EpochsWithoutImprovement} epochs; keeping epoch {_earlyStopping.BestEpoch}.");
                    return true;
                }
                if (!_warnedWithoutValidation)
                {
                    _warnedWithoutValidation = true;
                    _channel.Warning(WithoutValidation(_options));
                }
                return false;
            }

            private InvalidOperationException Diverged(string where) => new(
                $"Training diverged {where}. Lower LearningRate (now {_rate:G4}), " +
                $"or clip gradients with GradientClippingNorm (now {_options.GradientClippingNorm}; Dive into Deep Learning's RNN chapter uses 1).");

            public void Dispose()
            {
                _earlyStopping.Dispose();
                _optimizer.Dispose();
                _channel.Dispose();
            }
        }

        /// <summary>Why early stopping cannot work in this run, and what to change.</summary>
        private static string WithoutValidation(RecurrentTrainingOptions options)
        {
            string reason = options.ValidationData is not null ? "ValidationData holds nothing to validate on"
                : options.ValidationFraction == 0 ? "ValidationData is null and ValidationFraction is 0"
                : $"ValidationFraction {options.ValidationFraction} of the training data leaves nothing to validate on";
            string runs = options.EffectiveEpochs == int.MaxValue ? "until the time budget ends" : $"all {options.EffectiveEpochs} epochs";
            return $"EarlyStoppingPatience is {options.EarlyStoppingPatience}, but there is no validation data ({reason}): early stopping is off, training runs " +
                $"{runs} and keeps the last one's weights. Set ValidationData, or a ValidationFraction that leaves validation data, or set EarlyStoppingPatience to 0.";
        }

        private static ValidationResult? Validate(RecurrentNetwork network, TrainingObjective objective, Func<bool> outOfTime)
        {
            network.eval();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var result = objective.Validate(outOfTime);
            network.train();
            return result is { Count: > 0 } ? result : null;
        }

        /// <summary>The log line of an epoch, its losses as the objective describes them.</summary>
        private static string Describe(EpochMetrics m, TrainingObjective objective)
        {
            string text = $"Epoch {m.Epoch}: training loss {objective.DescribeLoss(m.TrainingLoss)}";
            if (m.ValidationLoss is double validation)
                text += $", validation loss {objective.DescribeValidation(validation, m.ValidationStreamLoss)}";
            return text + $", {m.ItemsPerSecond:F0} {objective.ItemName}s/s, {m.Elapsed.TotalSeconds:F1} s elapsed, learning rate {m.LearningRate:G4}";
        }

        private static optim.Optimizer CreateOptimizer(RecurrentNetwork network, RecurrentTrainingOptions options)
        {
            double rate = options.EffectiveLearningRate;
            return options.Optimizer switch
            {
                Optimizer.Sgd => optim.SGD(network.parameters(), rate, weight_decay: options.WeightDecay),
                Optimizer.Adam => optim.Adam(network.parameters(), rate, weight_decay: options.WeightDecay),
                _ => optim.AdamW(network.parameters(), rate, weight_decay: options.WeightDecay),
            };
        }

        /// <summary>The learning rate after <paramref name="done"/> of the run (by steps, or by time under a budget): constant, or cosine to zero at the end.</summary>
        private static double ScheduledRate(RecurrentTrainingOptions options, double done)
        {
            double baseRate = options.EffectiveLearningRate;
            if (options.LearningRateSchedule == LearningRateSchedule.Constant)
                return baseRate;
            return baseRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, done)));
        }
    }
}
