using System;
using System.Collections.Generic;
using System.Globalization;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The settings of a training run by option name, with every automatic choice resolved and marked as such: what
    /// training writes to <c>MLContext.Log</c> before its first batch and saves with the model
    /// (<see cref="RecurrentTransformerBase.TrainingSettings"/>). They depend only on the options, the network and the
    /// seed, never on the machine, so the same seed gives the same settings.
    /// </summary>
    internal static class TrainingSettings
    {
        /// <summary>The marker of a value the trainer chose because the option was left unset.</summary>
        public const string Automatic = " (automatic)";

        public static Dictionary<string, string> Resolve(RecurrentTrainingOptions options, RecurrentArchitecture architecture, int seed)
        {
            var settings = new Dictionary<string, string>
            {
                ["Cell"] = architecture.Cell.ToString(),
                ["HiddenSize"] = Text(architecture.HiddenSize) + (options.HiddenSize is null ? Automatic : ""),
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
