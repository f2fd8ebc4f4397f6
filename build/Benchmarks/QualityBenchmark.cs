namespace MlnetLstm.Benchmarks
{
    /// <summary>
    /// Quality at equal budget for docs/benchmarks.md: validation bits per character of Moby-Dick's last 10% of
    /// paragraphs, each scored on its own through a reloaded PredictionEngine, for the library's defaults and for the
    /// hand-written loop (the recipe study's two rows; build/recipe.sh measures every candidate).
    /// </summary>
    internal static class QualityBenchmark
    {
        public static (RecipeStudy.Result Ours, RecipeStudy.Result HandWritten) Run(System.TimeSpan budget)
            => (RecipeStudy.Run("moby-dick", RecipeStudy.Defaults, budget, null), RecipeStudy.Run("moby-dick", RecipeStudy.HandWritten, budget, null));
    }
}
