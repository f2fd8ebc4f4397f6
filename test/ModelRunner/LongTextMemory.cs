using System;
using System.Globalization;
using System.Linq;
using Microsoft.ML;

namespace MlnetLstm.ModelRunner
{
    /// <summary>
    /// Scores one long text in a fresh process and prints how far the resident set rose above its level before the
    /// prediction (the text is built first, so the caller's string is not counted): in a process of its own the figure
    /// does not depend on what earlier tests left on the heap.
    /// </summary>
    public static class LongTextMemory
    {
        /// <summary>
        /// Loads the language-model pipeline at <paramref name="modelPath"/>, scores a text of <paramref name="characters"/>
        /// characters (<c>abcdefg</c> repeated) and prints <c>growth-kib N</c>, <c>log-likelihood L</c> and, for
        /// <c>all</c>, <c>generated N</c>. <paramref name="outputs"/> is <c>likelihood</c> (the three likelihood columns)
        /// or <c>all</c> (every column, the continuation and the next-token probabilities too).
        /// </summary>
        public static int Run(string modelPath, int characters, string outputs)
        {
            var ml = new MLContext(seed: 1);
            var model = ml.Model.Load(modelPath, out _);
            string text = string.Concat(Enumerable.Repeat("abcdefg", characters / 7 + 1))[..characters];
            double logLikelihood;
            long growthKiB;
            switch (outputs)
            {
                case "likelihood":
                    (growthKiB, var scored) = Measure<ScoreOnly>(ml, model, text);
                    logLikelihood = scored.LogLikelihood;
                    break;
                case "all":
                    (growthKiB, var all) = Measure<LanguageModelOutput>(ml, model, text);
                    logLikelihood = all.LogLikelihood;
                    Console.WriteLine($"generated {all.Generated.Length}");
                    Console.WriteLine($"probabilities {all.NextTokenProbabilities.Length}");
                    break;
                default:
                    Console.Error.WriteLine($"Unknown outputs '{outputs}': use likelihood or all.");
                    return 2;
            }
            Console.WriteLine(FormattableString.Invariant($"log-likelihood {logLikelihood:R}"));
            Console.WriteLine(FormattableString.Invariant($"growth-kib {growthKiB}"));
            GC.KeepAlive(text);
            return 0;
        }

        /// <summary>Scores <paramref name="text"/> once after a short warm-up row; returns the peak resident growth and the output.</summary>
        private static (long GrowthKiB, TOutput Output) Measure<TOutput>(MLContext ml, ITransformer model, string text)
            where TOutput : class, new()
        {
            using var engine = ml.Model.CreatePredictionEngine<TextRow, TOutput>(model);
            engine.Predict(new TextRow { Text = "abc" });
            TOutput output = null!;
            long growthKiB = ProcessMemory.PeakGrowthKiB(() => output = engine.Predict(new TextRow { Text = text }));
            return (growthKiB, output);
        }

        /// <summary>The likelihood columns alone, so that the continuation is never computed.</summary>
        private sealed class ScoreOnly
        {
            public double LogLikelihood { get; set; }

            public double Perplexity { get; set; }

            public double BitsPerToken { get; set; }
        }
    }
}
