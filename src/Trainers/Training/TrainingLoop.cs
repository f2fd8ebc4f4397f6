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
            Func<RecurrentNetwork, RecurrentTask> createTask, string itemName, string description)
        {
            // Before anything is trained: a path that cannot take checkpoints would otherwise fail after the first epoch, losing it.
            if (options.CheckpointPath is string checkpointPath)
                TrainingCheckpoint.CheckTarget(checkpointPath, options.ResumeFromCheckpoint);
            if (options.InitialModel is { } initial)
                InitialWeights.Check(initial, architecture);
            int seed = options.Seed ?? host.Rand.Next();
            RecurrentNetwork network;
            using (var channel = host.Start("Training"))
            {
                var device = TorchDevice.Choose(host, channel);
                channel.Info($"Training {description}: {architecture.Layers}-layer {(architecture.Bidirectional ? "bidirectional " : "")}{architecture.Cell}, " +
                    $"hidden size {architecture.HiddenSize}, {architecture.ParameterCount:N0} parameters, on {device}.");
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
                var history = Run(host, network, task, options, seed, itemName);
                return new TrainedNetwork(network.ToWeights(), network.Implementation, network.OneHotProjection, history);
            }
        }

        private static IReadOnlyList<EpochMetrics> Run(IHost host, RecurrentNetwork network, RecurrentTask task, RecurrentTrainingOptions options, int seed, string itemName)
        {
            using var threads = ThreadCount.Use(options.NumberOfThreads);
            using var channel = host.Start("Training");
            using var optimizer = CreateOptimizer(network, options);
            var parameters = network.parameters().ToList();
            var history = new List<EpochMetrics>();
            // Early stopping's copy of the weights of the best epoch so far, and that epoch (0 for none).
            Dictionary<string, Tensor>? bestWeights = null;
            int bestEpoch = 0;
            if (options.ResumeFromCheckpoint && File.Exists(options.CheckpointPath))
            {
                (history, bestWeights, bestEpoch) = TrainingCheckpoint.Load(options.CheckpointPath!, network, (OptimizerHelper)optimizer);
                if (options.EarlyStoppingPatience == 0 && bestWeights is not null)
                {
                    // Resumed without early stopping: the last weights are the result, as in a run without it.
                    foreach (var tensor in bestWeights.Values)
                        tensor.Dispose();
                    bestWeights = null;
                    bestEpoch = 0;
                }
                channel.Info($"Resumed from checkpoint '{options.CheckpointPath}' after epoch {history.Count}.");
                if (options.EarlyStoppingPatience > 0 && bestWeights is null && history.Count > 0 && history[^1].ValidationLoss.HasValue)
                {
                    // A checkpoint written without early stopping holds only its last epoch's weights: early stopping
                    // starts from that epoch, the best one it can give back, rather than name an earlier one it cannot.
                    ReplaceWeights(ref bestWeights, network);
                    bestEpoch = history.Count;
                    channel.Info($"The checkpoint keeps no best weights (it was written without early stopping): early stopping counts from epoch {bestEpoch}, its last.");
                }
            }

            double baseRate = options.EffectiveLearningRate, rate = baseRate, lastLoss = double.NaN;
            int epoch = history.Count, batch = 0, batches = 0;
            using var progress = host.StartProgressChannel("Recurrent training");
            progress.SetHeader(new ProgressHeader(new[] { "loss" }, new[] { "epoch", "batch" }), entry =>
            {
                entry.SetProgress(0, epoch, options.Epochs);
                entry.SetProgress(1, batch, batches);
                entry.SetMetric(0, lastLoss);
            });

            var clock = Stopwatch.StartNew();
            var elapsedBefore = history.LastOrDefault()?.Elapsed ?? TimeSpan.Zero;
            double bestValidation = bestEpoch > 0 ? history[bestEpoch - 1].ValidationLoss!.Value : double.PositiveInfinity;
            // Early stopping goes on counting from the best epoch before the checkpoint, whose weights the checkpoint kept.
            int epochsWithoutImprovement = bestEpoch > 0 ? history.Count - bestEpoch : 0;
            bool outOfTime = false, warnedWithoutValidation = false;
            long step = 0;
            // A resumed run continues the learning-rate schedule where the checkpoint left it, not from its start: count
            // the batches of the completed epochs (an epoch's batches depend only on the seed and the epoch number).
            for (int completed = 1; completed <= history.Count; completed++)
                step += task.BeginEpoch(new Random(unchecked(seed * 7919 + completed)));
            try
            {
                for (epoch = history.Count + 1; epoch <= options.Epochs && !outOfTime; epoch++)
                {
                    host.CheckAlive();
                    network.train();
                    batches = task.BeginEpoch(new Random(unchecked(seed * 7919 + epoch)));
                    double lossSum = 0;
                    long items = 0;
                    var epochClock = Stopwatch.StartNew();
                    for (batch = 0; batch < batches; batch++)
                    {
                        host.CheckAlive();
                        using (NewDisposeScope())
                        {
                            rate = ScheduledRate(options, baseRate, (double)step++ / ((double)options.Epochs * batches), elapsedBefore + clock.Elapsed);
                            foreach (var group in optimizer.ParamGroups)
                                group.LearningRate = rate;
                            optimizer.zero_grad();
                            var (loss, count) = task.TrainBatch(batch);
                            loss.backward();
                            if (options.GradientClippingNorm > 0)
                                GradientClipping.ClipByGlobalNorm(parameters, options.GradientClippingNorm);
                            optimizer.step();
                            lastLoss = loss.item<float>();
                            if (!double.IsFinite(lastLoss))
                                throw new InvalidOperationException(
                                    $"Training diverged in epoch {epoch}, batch {batch + 1}: the loss is {lastLoss}. Lower LearningRate (now {rate:G4}), " +
                                    $"or clip gradients with GradientClippingNorm (now {options.GradientClippingNorm}; Dive into Deep Learning's RNN chapter uses 1).");
                            lossSum += lastLoss * count;
                            items += count;
                        }
                        if (options.TimeBudget is TimeSpan budget && elapsedBefore + clock.Elapsed >= budget)
                        {
                            outOfTime = true;
                            batch++;
                            break;
                        }
                    }
                    if (items == 0)
                        break;
                    double itemsPerSecond = items / epochClock.Elapsed.TotalSeconds;

                    var (validation, streamValidation) = Validate(network, task);
                    // The training loss is checked before each step, so a step that breaks the weights in an epoch's
                    // last batch shows only here.
                    if (validation is double checkedLoss && !double.IsFinite(checkedLoss))
                        throw new InvalidOperationException(
                            $"Training diverged in epoch {epoch}: the validation loss after its last batch is {checkedLoss}. Lower LearningRate (now {rate:G4}), " +
                            $"or clip gradients with GradientClippingNorm (now {options.GradientClippingNorm}; Dive into Deep Learning's RNN chapter uses 1).");
                    var metrics = new EpochMetrics(epoch, lossSum / items, validation, itemsPerSecond, elapsedBefore + clock.Elapsed, rate) { ValidationStreamLoss = streamValidation };
                    history.Add(metrics);
                    channel.Info(Describe(metrics, itemName, outOfTime ? $" (time budget reached after {batch} of {batches} batches)" : ""));
                    options.EpochCompleted?.Invoke(metrics);

                    if (validation is double validationLoss && options.EarlyStoppingPatience > 0)
                    {
                        if (validationLoss < bestValidation)
                        {
                            bestValidation = validationLoss;
                            bestEpoch = epoch;
                            epochsWithoutImprovement = 0;
                            ReplaceWeights(ref bestWeights, network);
                        }
                        else if (++epochsWithoutImprovement >= options.EarlyStoppingPatience)
                        {
                            channel.Info($"Early stopping: validation loss has not improved for {epochsWithoutImprovement} epochs; keeping epoch {bestEpoch}.");
                            outOfTime = true;
                        }
                    }
                    else if (validation is null && options.EarlyStoppingPatience > 0 && !warnedWithoutValidation)
                    {
                        warnedWithoutValidation = true;
                        channel.Warning(WithoutValidation(options));
                    }
                    if (options.CheckpointPath is not null)
                        TrainingCheckpoint.Save(options.CheckpointPath, network, (OptimizerHelper)optimizer, history, bestWeights, bestEpoch);
                }

                if (bestWeights is not null)
                    RestoreWeights(bestWeights, network);
                if (history.Count == 0)
                    throw new InvalidOperationException("Training ran no batch: the time budget ended before the first one. Raise TimeBudget.");
            }
            finally
            {
                if (bestWeights is not null)
                    foreach (var tensor in bestWeights.Values)
                        tensor.Dispose();
                network.eval();
            }
            return history;
        }

        /// <summary>Why early stopping cannot work in this run, and what to change.</summary>
        private static string WithoutValidation(RecurrentTrainingOptions options)
        {
            string reason = options.ValidationData is not null ? "ValidationData holds nothing to validate on"
                : options.ValidationFraction == 0 ? "ValidationData is null and ValidationFraction is 0"
                : $"ValidationFraction {options.ValidationFraction} of the training data leaves nothing to validate on";
            return $"EarlyStoppingPatience is {options.EarlyStoppingPatience}, but there is no validation data ({reason}): early stopping is off, training runs " +
                $"all {options.Epochs} epochs and keeps the last one's weights. Set ValidationData, or a ValidationFraction that leaves validation data, or set EarlyStoppingPatience to 0.";
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

        private static string Describe(EpochMetrics m, string itemName, string suffix)
        {
            string text = $"Epoch {m.Epoch}: training loss {m.TrainingLoss:F4}";
            if (itemName == "token")
                text += $" (perplexity {m.TrainingPerplexity:F3}, {m.TrainingBitsPerToken:F3} bits/token)";
            if (m.ValidationLoss is double v)
                text += itemName == "token"
                    ? $", validation loss per document {v:F4} (perplexity {m.ValidationPerplexity:F3}, {m.ValidationBitsPerToken:F3} bits/token)" +
                      (m.ValidationStreamLoss is double stream ? $", as one stream {stream:F4} ({stream / Math.Log(2):F3} bits/token)" : "")
                    : $", validation loss {v:F4}";
            return text + $", {m.ItemsPerSecond:F0} {itemName}s/s, {m.Elapsed.TotalSeconds:F1} s elapsed, learning rate {m.LearningRate:G4}{suffix}.";
        }

        private static optim.Optimizer CreateOptimizer(RecurrentNetwork network, RecurrentTrainingOptions options)
        {
            double rate = options.EffectiveLearningRate;
            return options.Optimizer switch
            {
                OptimizerKind.Sgd => optim.SGD(network.parameters(), rate, weight_decay: options.WeightDecay),
                OptimizerKind.Adam => optim.Adam(network.parameters(), rate, weight_decay: options.WeightDecay),
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

        private static void ReplaceWeights(ref Dictionary<string, Tensor>? copy, RecurrentNetwork network)
        {
            if (copy is not null)
                foreach (var tensor in copy.Values)
                    tensor.Dispose();
            copy = network.named_parameters().ToDictionary(p => p.name, p => p.parameter.detach().clone().DetachFromDisposeScope());
        }

        private static void RestoreWeights(Dictionary<string, Tensor> copy, RecurrentNetwork network)
        {
            using var noGrad = no_grad();
            foreach (var (name, parameter) in network.named_parameters())
                parameter.copy_(copy[name]);
        }

        /// <summary>
        /// Sets TorchSharp's CPU thread count for one training and puts back the count it found when the training ends
        /// (however it ends), so scoring later in the process runs as before. The count is OpenMP's: kept per thread
        /// once a thread has used TorchSharp, and taken from a process-wide value by threads that have not; setting it
        /// sets both for the calling thread. Trainings that overlap (on other threads) restore the count found by the
        /// first of them, the process's count before any of them: a later one would find the first one's setting.
        /// </summary>
        private sealed class ThreadCount : IDisposable
        {
            private static readonly object Gate = new();
            private static int _active, _found;
            private bool _disposed;

            private ThreadCount()
            {
            }

            /// <summary>Sets <paramref name="threads"/> until the result is disposed; null changes nothing.</summary>
            public static ThreadCount? Use(int? threads)
            {
                if (threads is not int count)
                    return null;
                lock (Gate)
                {
                    if (_active++ == 0)
                        _found = get_num_threads();
                    set_num_threads(count);
                }
                return new ThreadCount();
            }

            public void Dispose()
            {
                lock (Gate)
                {
                    if (_disposed)
                        return;
                    _disposed = true;
                    _active--;
                    set_num_threads(_found);
                }
            }
        }
    }
}
