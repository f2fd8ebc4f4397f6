using System;

namespace MlnetLstm.Transforms
{
    /// <summary>A language model's score of one text, as its LogLikelihood, Perplexity and BitsPerToken columns give it.</summary>
    /// <param name="LogLikelihood">The natural-log likelihood of the text's tokens, each predicted from those before it (the first from the end-of-text token).</param>
    /// <param name="Tokens">How many tokens the text has.</param>
    public sealed record LanguageModelScore(double LogLikelihood, int Tokens)
    {
        /// <summary>exp(−log-likelihood / tokens).</summary>
        public double Perplexity => Math.Exp(-LogLikelihood / Tokens);

        /// <summary>−log₂-likelihood / tokens.</summary>
        public double BitsPerToken => -LogLikelihood / Tokens / Math.Log(2);
    }
}
