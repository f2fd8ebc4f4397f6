using System;
using System.Collections.Generic;
using System.Globalization;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The language model's hidden size when <see cref="RecurrentTrainingOptions.HiddenSize"/> is left unset: the
    /// largest candidate for which the run's budget buys at least <see cref="TokensPerParameter"/> training tokens per
    /// parameter, and otherwise the smallest. What the budget buys is the smaller of what the epoch limit allows
    /// (epochs × tokens per epoch) and what the time budget allows at the tokens per second measured for that size on
    /// this machine, this data and these threads.
    /// </summary>
    /// <remarks>
    /// docs/recipe.md found that update count limits a short run and capacity wins a long one. On Moby-Dick 1×512
    /// (1.27 M parameters) lost to 1×256 after 1.3 to 1.5 tokens per parameter (60 s on a fast machine, 300 s on one
    /// four times slower) and beat it after 7.8 (300 s on the fast machine): the threshold of 4 lies between the two.
    /// With thousands of tokens in the vocabulary the output layer and the input weights make the larger model so much
    /// larger that the rule keeps 256 unless the budget is long.
    /// </remarks>
    internal static class AutomaticHiddenSize
    {
        /// <summary>The sizes the trainer chooses from, smallest first.</summary>
        public static readonly int[] Candidates = { 256, 512 };

        /// <summary>Training tokens per parameter the budget must buy for a larger size to be chosen.</summary>
        public const double TokensPerParameter = 4;

        /// <summary>The share of the time budget that measuring the candidates may use (counted in the budget).</summary>
        public const double MeasurementShare = 0.03;

        /// <summary>The least time that measuring needs (a warm-up batch and a timed batch per candidate): shorter budgets skip it.</summary>
        public static readonly TimeSpan MinimumMeasurement = TimeSpan.FromSeconds(0.3);

        /// <summary>One candidate: its size, its parameter count, and its measured training speed (null when it was not measured).</summary>
        public readonly record struct Candidate(int HiddenSize, long Parameters, double? TokensPerSecond);

        /// <summary>The candidate chosen and why, in words a user can check against the log.</summary>
        public readonly record struct Choice(int HiddenSize, string Reason);

        /// <summary>
        /// Chooses among <paramref name="candidates"/> (smallest first) for a run of at most <paramref name="tokensByEpochs"/>
        /// tokens (null: no epoch limit) and at most <paramref name="trainingTime"/> of training (null: no time budget).
        /// A candidate without a measured speed cannot be chosen under a time budget, except the smallest, which is
        /// the choice when nothing else qualifies.
        /// </summary>
        public static Choice Choose(IReadOnlyList<Candidate> candidates, double? tokensByEpochs, TimeSpan? trainingTime)
        {
            if (candidates.Count == 0)
                throw new ArgumentException("No candidate sizes.", nameof(candidates));
            if (tokensByEpochs is null && trainingTime is null)
                throw new ArgumentException("A run has an epoch limit, a time budget or both.", nameof(tokensByEpochs));
            var parts = new List<string>();
            int chosen = candidates[0].HiddenSize;
            foreach (var candidate in candidates)
            {
                double? tokens = Bought(candidate, tokensByEpochs, trainingTime);
                if (tokens is not double bought)
                {
                    parts.Add($"{candidate.HiddenSize}: not measured");
                    continue;
                }
                double perParameter = bought / candidate.Parameters;
                string speed = candidate.TokensPerSecond is double s && trainingTime is not null ? $" at {Number(s)} tokens/s" : "";
                parts.Add($"{candidate.HiddenSize}: {Tokens(bought)} tokens{speed}, {perParameter.ToString("0.0", CultureInfo.InvariantCulture)} per parameter of {candidate.Parameters:N0}");
                if (perParameter >= TokensPerParameter)
                    chosen = candidate.HiddenSize;
            }
            return new Choice(chosen, $"the budget buys {string.Join("; ", parts)}; the largest size with at least {TokensPerParameter} tokens per parameter, or the smallest");
        }

        /// <summary>The tokens a run of this size can train on: the epoch limit's, or the time budget's at the measured speed, whichever is fewer.</summary>
        private static double? Bought(Candidate candidate, double? tokensByEpochs, TimeSpan? trainingTime)
        {
            if (trainingTime is not TimeSpan time)
                return tokensByEpochs;
            if (candidate.TokensPerSecond is not double speed)
                return null;
            double byTime = speed * time.TotalSeconds;
            return tokensByEpochs is double byEpochs ? Math.Min(byEpochs, byTime) : byTime;
        }

        private static string Number(double value) => value.ToString("N0", CultureInfo.InvariantCulture);

        private static string Tokens(double tokens) => tokens < 1e6 ? Number(tokens) : (tokens / 1e6).ToString("0.00", CultureInfo.InvariantCulture) + " M";
    }
}
