using System.Collections.Generic;
using System.Linq;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// What an import of a token model (language model or classifier) needs besides the weights: the vocabulary, in
    /// the order of the network's input (and output) indices, and how tokens enter the network. The imported model
    /// comes with a tokenizer in front, so it reads text like a pipeline trained here.
    /// </summary>
    public abstract class PyTorchTokenModelImportOptions : PyTorchImportOptions
    {
        /// <summary>
        /// The tokens, indexed as the PyTorch model's one-hot inputs (d2l's <c>vocab.idx_to_token</c>). Set this or
        /// <see cref="Tokenizer"/>. It must contain <see cref="UnknownToken"/>.
        /// </summary>
        public IReadOnlyList<string>? Vocabulary { get; set; }

        /// <summary>
        /// A fitted tokenizer (from TokenizeWithCharacterVocabulary/TokenizeWithWordVocabulary) whose vocabulary is the model's;
        /// set this or <see cref="Vocabulary"/>. Its output column is the token column, its input the text column.
        /// </summary>
        public VocabularyTokenizingTransformer? Tokenizer { get; set; }

        /// <summary>With <see cref="Vocabulary"/>: whether a token is a character or a word. Default character.</summary>
        public TokenizerLevel Level { get; set; } = TokenizerLevel.Character;

        /// <summary>With <see cref="Vocabulary"/>: the token that text outside the vocabulary maps to. Default <c>&lt;unk&gt;</c> (d2l's index 0).</summary>
        public string UnknownToken { get; set; } = "<unk>";

        /// <summary>With <see cref="Vocabulary"/>: whether text is lower-cased before lookup (d2l's time machine data is). Default false.</summary>
        public bool CaseFolding { get; set; }

        /// <summary>With <see cref="Vocabulary"/>: the text column the tokenizer reads. Default "Text".</summary>
        public string TextColumnName { get; set; } = "Text";

        /// <summary>With <see cref="Vocabulary"/>: the token column between the tokenizer and the model. Default "Tokens".</summary>
        public string TokenColumnName { get; set; } = "Tokens";

        /// <summary>How tokens enter the first layer: one-hot, as in d2l's <c>RNNModel</c> (<c>F.one_hot</c>), or an <c>nn.Embedding</c>. Default one-hot.</summary>
        public TokenInputEncoding InputEncoding { get; set; } = TokenInputEncoding.OneHot;

        /// <summary>The embedding's <c>embedding_dim</c> with <see cref="TokenInputEncoding.Embedding"/>; 1 to 65,536.</summary>
        public int EmbeddingSize { get; set; }

        internal NetworkInput NetworkInput => InputEncoding == TokenInputEncoding.Embedding ? NetworkInput.TokensEmbedding : NetworkInput.TokensOneHot;

        internal override void Validate()
        {
            base.Validate();
            Require((Vocabulary is null) != (Tokenizer is null), nameof(Vocabulary), Vocabulary is null ? null : $"{Vocabulary.Count} tokens",
                "set, or Tokenizer set, but not both: the vocabulary of the PyTorch model, in the order of its inputs");
            if (Vocabulary is not null)
            {
                Require(Vocabulary.Count >= 1 && Vocabulary.Count <= Transforms.Vocabulary.MaximumSize, nameof(Vocabulary), $"{Vocabulary.Count} tokens", $"1 to {Transforms.Vocabulary.MaximumSize} tokens");
                Require(Vocabulary.Contains(UnknownToken), nameof(UnknownToken), UnknownToken, "one of the Vocabulary's tokens (text outside the vocabulary maps to it)");
                Require(System.Enum.IsDefined(Level), nameof(Level), Level, "Character or Word");
                Require(!string.IsNullOrWhiteSpace(TextColumnName), nameof(TextColumnName), TextColumnName, "the name of the text column");
                Require(!string.IsNullOrWhiteSpace(TokenColumnName), nameof(TokenColumnName), TokenColumnName, "the name of the token column");
            }
            Require(System.Enum.IsDefined(InputEncoding), nameof(InputEncoding), InputEncoding, "OneHot or Embedding");
            Require(InputEncoding != TokenInputEncoding.Embedding || (EmbeddingSize >= 1 && EmbeddingSize <= RecurrentArchitecture.MaximumWidth),
                nameof(EmbeddingSize), EmbeddingSize, $"the embedding_dim of the PyTorch embedding, 1 to {RecurrentArchitecture.MaximumWidth}, with InputEncoding = Embedding");
        }
    }
}
