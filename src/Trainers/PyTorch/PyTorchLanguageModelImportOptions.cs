using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Options of <see cref="Microsoft.ML.PyTorchCatalog.ImportPyTorchLanguageModel"/>: a next-token model such as d2l's
    /// <c>RNNModel</c> (Dive into Deep Learning, section 8.6: recurrent layers, then a linear head from the hidden state to the vocabulary's logits).
    /// </summary>
    public sealed class PyTorchLanguageModelImportOptions : PyTorchTokenModelImportOptions
    {
        /// <summary>
        /// The token read before every text (and between documents in training), in the vocabulary. Default
        /// <c>&lt;eos&gt;</c>. A vocabulary without one (d2l's) can name another token the model saw at the start of
        /// its training text, such as a space or a newline.
        /// </summary>
        public string EndOfTextToken { get; set; } = "<eos>";

        /// <summary>Output column with the generated continuation; null to leave it out. Default "Generated".</summary>
        public string? GeneratedColumnName { get; set; } = "Generated";

        /// <summary>Output column with the next-token probabilities after the text; null to leave it out. Default "NextTokenProbabilities".</summary>
        public string? NextTokenProbabilitiesColumnName { get; set; } = "NextTokenProbabilities";

        /// <summary>Output column with the natural-log likelihood of the text; null to leave it out. Default "LogLikelihood".</summary>
        public string? LogLikelihoodColumnName { get; set; } = "LogLikelihood";

        /// <summary>Output column with the perplexity of the text; null to leave it out. Default "Perplexity".</summary>
        public string? PerplexityColumnName { get; set; } = "Perplexity";

        /// <summary>Output column with the bits per token of the text; null to leave it out. Default "BitsPerToken".</summary>
        public string? BitsPerTokenColumnName { get; set; } = "BitsPerToken";

        /// <summary>How the model generates. Default greedy, 100 tokens.</summary>
        public GenerationOptions Generation { get; set; } = new();

        internal LanguageModelColumns Columns => new(GeneratedColumnName, NextTokenProbabilitiesColumnName, LogLikelihoodColumnName, PerplexityColumnName, BitsPerTokenColumnName);

        internal override void Validate()
        {
            base.Validate();
            Require(!string.IsNullOrEmpty(EndOfTextToken), nameof(EndOfTextToken), EndOfTextToken, "a token of the vocabulary, such as <eos>");
            Require(Generation is not null, nameof(Generation), Generation, "generation options");
            Generation!.Validated();
            Require(Columns.Present.Count > 0, nameof(GeneratedColumnName), null, "set, or another output column set: the model must produce something");
        }
    }
}
