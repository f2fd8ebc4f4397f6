using System;
using System.Linq;

namespace MlnetLstm.Trainers
{
    /// <summary>Chooses the next token from a row of logits: greedy, or sampled with temperature, top-k and top-p.</summary>
    internal static class TokenSampler
    {
        public static int Choose(ReadOnlySpan<float> logits, GenerationOptions options, Random random)
        {
            if (options.Greedy || options.TopK == 1)
                return ArgMax(logits);

            // Candidates sorted by logit (ties by id), cut to the top k, as probabilities at the temperature.
            var values = logits.ToArray();
            int[] order = Enumerable.Range(0, values.Length).OrderByDescending(i => values[i]).ToArray();
            int count = options.TopK > 0 ? Math.Min(options.TopK, order.Length) : order.Length;
            double max = logits[order[0]];
            var probabilities = new double[count];
            double total = 0;
            for (int i = 0; i < count; i++)
                total += probabilities[i] = Math.Exp((logits[order[i]] - max) / options.Temperature);

            // Nucleus: the shortest prefix whose probability reaches top-p.
            if (options.TopP < 1)
            {
                double cumulative = 0;
                for (int i = 0; i < count; i++)
                {
                    cumulative += probabilities[i] / total;
                    if (cumulative >= options.TopP)
                    {
                        count = i + 1;
                        break;
                    }
                }
                total = probabilities.Take(count).Sum();
            }

            double u = random.NextDouble() * total;
            for (int i = 0; i < count; i++)
            {
                u -= probabilities[i];
                if (u < 0)
                    return order[i];
            }
            return order[count - 1];
        }

        /// <summary>The index of the largest logit; the lowest index among equals.</summary>
        public static int ArgMax(ReadOnlySpan<float> logits)
        {
            int best = 0;
            for (int i = 1; i < logits.Length; i++)
                if (logits[i] > logits[best])
                    best = i;
            return best;
        }
    }
}
