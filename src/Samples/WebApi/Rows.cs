namespace MlnetLstm.WebApi
{
    /// <summary>The model's input row: the served pipeline reads a Text column, as every MlnetLstm pipeline starts.</summary>
    public sealed class TextInput
    {
        /// <summary>The text to score, or the prefix to continue.</summary>
        public string Text { get; set; } = "";
    }

    /// <summary>The language model's scores of a text (the estimator's default column names).</summary>
    public sealed class ScoreOutput
    {
        /// <summary>Natural-log likelihood of the text.</summary>
        public double LogLikelihood { get; set; }

        /// <summary>exp(−log-likelihood / tokens).</summary>
        public double Perplexity { get; set; }

        /// <summary>−log₂-likelihood / tokens.</summary>
        public double BitsPerToken { get; set; }
    }
}
