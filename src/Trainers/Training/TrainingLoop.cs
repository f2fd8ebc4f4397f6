using System;
using System.Collections.Generic;
using System.Diagnostics;
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
    /// TorchSharp dispose scope, so long runs do not accumulate native memory.
    /// </summary>
    internal static class TrainingLoop
    {
        /// <summary>
        /// Builds the network (seeded, on the device the environment chooses), trains it on the task
        /// <paramref name="createTask"/> makes for it, and returns its weights with its history.
        /// </summary>
        public static TrainedNetwork Train(IHost host, RecurrentTrainingOptions options, RecurrentArchitecture architecture, OneHotProjection projection,
            Func<RecurrentNetwork, RecurrentTask> createTask, string description)
        {
            // Before anything is trained: a path that cannot take checkpoints would otherwise fail after the first epoch, losing it.
            if (options.CheckpointPath is string checkpointPath)
                TrainingCheckpoint.CheckTarget(checkpointPath, options.ResumeFromCheckpoint);
            if (options.InitialModel is { } initial)
                InitialWeights.Check(initial, architecture);
            int seed = options.Seed ?? host.Rand.Next();
            RecurrentNetwork network;
            Dictionary<string, string> settings;
            using (var channel = host.Start("Training"))
            {
                var device = TorchDevice.Choose(host, channel);
                channel.Info($"Training {description}: {architecture.Layers}-layer {(architecture.Bidirectional ? "bidirectional " : "")}{architecture.Cell}, " +
                    $"hidden size {architecture.HiddenSize}, {architecture.ParameterCount:N0} parameters, on {device}.");
                settings = TrainingSettings.Resolve(options, architecture, seed);
                channel.Info(TrainingSettings.Describe(settings));
                network = new RecurrentNetwork(architecture, seed, device) { Implementation = options.Implementation, OneHotProjection = projection };
                if (options.InitialModel is { } initialModel)
                {
                    network.LoadWeights(initialModel.Trained.Weights);
                    channel.Info($"Starting from the weights of InitialModel ({initialModel.GetType().Name}).");
                }
            }
            // The fitted transformer scores with a managed copy of the weights, so the TorchSharp network (and its
            // native memory) lives only as long as training.
            using (network)
            using (var task = createTask(network))
            {
                var history = Run(host, network, task, options, seed);
                return new TrainedNetwork(network.ToWeights(), (int)network.Implementation, (int)network.OneHotProjection, history, settings);
            }
        }

        private static IReadOnlyList<EpochMetrics> Run(IHost host, RecurrentNetwork network, RecurrentTask task, RecurrentTrainingOptions options, int seed)
        {
            using var threads = ThreadCount.Use(options.NumberOfThreads);
            using var run = new TrainingRun(host, network, task, options, seed);
            return run.Execute();
        }

        /// <summary>One run of the loop: its state, and its steps, each a method.</summary>
        private sealed class TrainingRun : IDisposable
        {
            private readonly IHost _host;
            private readonly RecurrentNetwork _network;
            private readonly RecurrentTask _task;
            private readonly RecurrentTrainingOptions _options;
            private readonly int _seed;
            private readonly IChannel _channel;
            private readonly optim.Optimizer _optimizer;
            private readonly List<Parameter> _parameters;
            private readonly EarlyStopping _earlyStopping;
            private readonly Stopwatch _clock = new();
            private List<EpochMetrics> _history = new();
            private TimeSpan _elapsedBefore;
            private long _step;
            private int _epoch, _batch, _batches;
            private double _rate, _lastLoss = double.NaN;
            private bool _warnedWithoutValidation;

            public TrainingRun(IHost host, RecurrentNetwork network, RecurrentTask task, RecurrentTrainingOptions options, int seed)
            {
                _host = host;
                _network = network;
                _task = task;
                _options = options;
                _seed = seed;
                _channel = host.Start("Training");
                _optimizer = CreateOptimizer(network, options);
                _parameters = network.parameters().ToList();
                _earlyStopping = new EarlyStopping(options.EarlyStoppingPatience);
                _rate = options.EffectiveLearningRate;
            }

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
                _clock.Start();
                try
                {
                    bool stop = false;
                    for (_epoch = _history.Count + 1; _epoch <= _options.EffectiveEpochs && !stop; _epoch++)
                    {
                        var (lossSum, items, itemsPerSecond, outOfTime) = TrainEpoch();
                        if (items == 0)
                            break;
                        stop = EndEpoch(lossSum / items, itemsPerSecond, outOfTime) || outOfTime;
                        if (_options.CheckpointPath is not null)
                            TrainingCheckpoint.Save(_options.CheckpointPath, _network, (OptimizerHelper)_optimizer, _history, _earlyStopping.BestWeights, _earlyStopping.BestEpoch);
                    }
                    _earlyStopping.Restore(_network);
                    if (_history.Count == 0)
                        throw new InvalidOperationException("Training ran no batch: the time budget ended before the first one. Raise TimeBudget.");
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
                var (history, bestWeights, bestEpoch) = TrainingCheckpoint.Load(_options.CheckpointPath!, _network, (OptimizerHelper)_optimizer);
                _history = history;
                _channel.Info($"Resumed from checkpoint '{_options.CheckpointPath}' after epoch {history.Count}.");
                if (_earlyStopping.Resume(history, bestWeights, bestEpoch, _network) is string note)
                    _channel.Info(note);
                _elapsedBefore = history.LastOrDefault()?.Elapsed ?? TimeSpan.Zero;
                // The batches of the completed epochs count for the schedule (an epoch's batches depend only on the
                // seed and the epoch number).
                for (int completed = 1; completed <= history.Count; completed++)
                    _step += _task.BeginEpoch(EpochRandom(completed));
            }

            private Random EpochRandom(int epoch) => new(unchecked(_seed * 7919 + epoch));

            private TimeSpan Elapsed => _elapsedBefore + _clock.Elapsed;

            /// <summary>Every batch of the epoch, until the time budget ends.</summary>
            private (double LossSum, long Items, double ItemsPerSecond, bool OutOfTime) TrainEpoch()
            {
                _host.CheckAlive();
                _network.train();
                _batches = _task.BeginEpoch(EpochRandom(_epoch));
                double lossSum = 0;
                long items = 0;
                var epochClock = Stopwatch.StartNew();
                for (_batch = 0; _batch < _batches; _batch++)
                {
                    _host.CheckAlive();
                    long count = TrainBatch();
                    lossSum += _lastLoss * count;
                    items += count;
                    if (_options.TimeBudget is TimeSpan budget && Elapsed >= budget)
                    {
                        _batch++;
                        return (lossSum, items, items / epochClock.Elapsed.TotalSeconds, true);
                    }
                }
                return (lossSum, items, items / epochClock.Elapsed.TotalSeconds, false);
            }

            /// <summary>zero_grad → forward → backward → clip → step, in a dispose scope; returns the batch's item count.</summary>
            private long TrainBatch()
            {
                using var scope = NewDisposeScope();
                _rate = ScheduledRate(_options, _options.EffectiveLearningRate, (double)_step++ / ((double)_options.EffectiveEpochs * _batches), Elapsed);
                foreach (var group in _optimizer.ParamGroups)
                    group.LearningRate = _rate;
                _optimizer.zero_grad();
                var (loss, count) = _task.TrainBatch(_batch);
                loss.backward();
                if (_options.GradientClippingNorm > 0)
                    GradientClipping.ClipByGlobalNorm(_parameters, _options.GradientClippingNorm);
                _optimizer.step();
                _lastLoss = loss.item<float>();
                if (!double.IsFinite(_lastLoss))
                    throw Diverged($"in epoch {_epoch}, batch {_batch + 1}: the loss is {_lastLoss}");
                return count;
            }

            /// <summary>Validates, records and reports the epoch; returns true when early stopping ends training.</summary>
            private bool EndEpoch(double trainingLoss, double itemsPerSecond, bool outOfTime)
            {
                var (validation, stream) = Validate(_network, _task);
                // The training loss is checked before each step, so a step that breaks the weights in an epoch's last
                // batch shows only here.
                if (validation is double checkedLoss && !double.IsFinite(checkedLoss))
                    throw Diverged($"in epoch {_epoch}: the validation loss after its last batch is {checkedLoss}");
                var metrics = new EpochMetrics(_epoch, trainingLoss, validation, itemsPerSecond, Elapsed, _rate) { ValidationStreamLoss = stream };
                _history.Add(metrics);
                _channel.Info(Describe(metrics, _task) + (outOfTime ? $" (time budget reached after {_batch} of {_batches} batches)." : "."));
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

        private static (double? Loss, double? StreamLoss) Validate(RecurrentNetwork network, RecurrentTask task)
        {
            network.eval();
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var result = task.Validate();
            network.train();
            return result is { Count: > 0 } r ? (r.LossSum / r.Count, r.StreamLoss) : (null, null);
        }

        /// <summary>The log line of an epoch, its losses as the task describes them.</summary>
        private static string Describe(EpochMetrics m, RecurrentTask task)
        {
            string text = $"Epoch {m.Epoch}: training loss {task.DescribeLoss(m.TrainingLoss)}";
            if (m.ValidationLoss is double validation)
                text += $", validation loss {task.DescribeValidation(validation, m.ValidationStreamLoss)}";
            return text + $", {m.ItemsPerSecond:F0} {task.ItemName}s/s, {m.Elapsed.TotalSeconds:F1} s elapsed, learning rate {m.LearningRate:G4}";
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

        private static double ScheduledRate(RecurrentTrainingOptions options, double baseRate, double stepFraction, TimeSpan elapsed)
        {
            if (options.LearningRateSchedule == LearningRateSchedule.Constant)
                return baseRate;
            double done = options.TimeBudget is TimeSpan budget ? Math.Max(stepFraction, elapsed / budget) : stepFraction;
            return baseRate * 0.5 * (1 + Math.Cos(Math.PI * Math.Min(1, done)));
        }
    }
}
