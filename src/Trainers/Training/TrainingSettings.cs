using System;
using System.Collections.Generic;
using System.Globalization;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The settings of a training run by option name, with every automatic choice resolved and marked as such: what
    /// training writes to <c>MLContext.Log</c> before its first batch and saves with the model
    /// (<see cref="RecurrentTransformerBase.TrainingSettings"/>). Besides the options, the network and the seed, the
    /// automatic hidden size and thread count depend on what this machine measured; the settings say what it measured.
    /// </summary>
    internal static class TrainingSettings
    {
        /// <summary>The marker of a value the trainer chose because the option was left unset.</summary>
        public const string Automatic = " (automatic)";

        /// <param name="options">The options of the run.</param>
        /// <param name="architecture">The network trained.</param>
        /// <param name="seed">The seed in effect.</param>
        /// <param name="sizeReason">Why the hidden size was chosen, when the options left it to the trainer and it had a choice.</param>
        /// <param name="threadRule">How the thread count is chosen, when the options left it to the trainer.</param>
        public static Dictionary<string, string> Resolve(RecurrentTrainingOptions options, RecurrentArchitecture architecture, int seed, string? sizeReason, string? threadRule)
        {
            var settings = new Dictionary<string, string>
            {
                ["Cell"] = architecture.Cell.ToString(),
                ["HiddenSize"] = Text(architecture.HiddenSize) + (sizeReason is not null ? $" (automatic: {sizeReason})" : options.HiddenSize is null ? Automatic : ""),
                ["Layers"] = Text(architecture.Layers),
                ["Dropout"] = Text(architecture.Dropout),
                ["Optimizer"] = options.Optimizer.ToString(),
                ["LearningRate"] = Text(options.EffectiveLearningRate) + (options.LearningRate is null ? $" (default for {options.Optimizer})" : ""),
                ["LearningRateSchedule"] = options.LearningRateSchedule == LearningRateSchedule.Constant ? "Constant"
                    : options.TimeBudget is null ? $"Cosine to zero over {options.EffectiveEpochs} epochs"
                    : options.Epochs is null ? "Cosine to zero at the end of TimeBudget"
                    : $"Cosine to zero at the end of TimeBudget or of {options.EffectiveEpochs} epochs, whichever is nearer",
                ["GradientClippingNorm"] = Text(options.GradientClippingNorm),
                ["WeightDecay"] = Text(options.WeightDecay),
                ["BatchSize"] = Text(options.BatchSize),
                ["Epochs"] = options.Epochs is int epochs ? Text(epochs)
                    : options.TimeBudget is null ? "10" + Automatic : "as many as TimeBudget allows" + Automatic,
                ["TimeBudget"] = options.TimeBudget?.ToString("c", CultureInfo.InvariantCulture) ?? "none",
                ["EarlyStoppingPatience"] = Text(options.EarlyStoppingPatience),
                ["Seed"] = Text(seed) + (options.Seed is null ? " (drawn from the MLContext)" : ""),
                ["NumberOfThreads"] = options.NumberOfThreads is int threads ? Text(threads) : threadRule is not null ? $"{threadRule}{Automatic}" : "1 (the machine's default)" + Automatic,
            };
            options.AddSettings(settings);
            return settings;
        }

        /// <summary>One line for the log: every setting, the automatic ones marked.</summary>
        public static string Describe(IReadOnlyDictionary<string, string> settings) => "Settings: " + string.Join("; ", Pairs(settings)) + ".";

        private static IEnumerable<string> Pairs(IReadOnlyDictionary<string, string> settings)
        {
            foreach (var (name, value) in settings)
                yield return $"{name} {value}";
        }

        public static string Text(double value) => value.ToString("R", CultureInfo.InvariantCulture);

        public static string Text(float value) => value.ToString("R", CultureInfo.InvariantCulture);

        public static string Text(int value) => value.ToString(CultureInfo.InvariantCulture);
    }
}
