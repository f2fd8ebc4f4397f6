using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>Options of the trainers that read a token column: the language model and the sequence classifier.</summary>
    public abstract class TokenSequenceOptions : RecurrentTrainingOptions
    {
        /// <summary>The token column: token keys from TokenizeWithCharacterVocabulary/TokenizeWithWordVocabulary/TokenizeWithLearnedBpe (with their vocabulary), or a one-hot sequence from OneHotEncodeSequence. Default "Tokens".</summary>
        public string TokenColumnName { get; set; } = "Tokens";

        /// <summary>How tokens enter the first layer: one-hot (as in Dive into Deep Learning's RNN chapter) or a learned embedding. Default one-hot for the language model, an embedding for the classifier.</summary>
        public TokenInputEncoding InputEncoding { get; set; } = TokenInputEncoding.OneHot;

        /// <summary>Embedding width when <see cref="InputEncoding"/> is <see cref="TokenInputEncoding.Embedding"/>; 1 to 65,536. Default 0 for the language model (set it with an embedding), 32 for the classifier.</summary>
        public int EmbeddingSize { get; set; }

        /// <summary>How one-hot input is projected: by gathering weight columns or by a dense product (same results). Default auto.</summary>
        public OneHotProjection OneHotProjection { get; set; } = OneHotProjection.Auto;

        /// <summary>The network input these options describe.</summary>
        internal NetworkInput NetworkInput => InputEncoding == TokenInputEncoding.Embedding ? NetworkInput.TokensEmbedding : NetworkInput.TokensOneHot;

        internal override void AddSettings(System.Collections.Generic.IDictionary<string, string> settings)
        {
            base.AddSettings(settings);
            settings["InputEncoding"] = InputEncoding == TokenInputEncoding.Embedding ? $"Embedding of {EmbeddingSize}" : "OneHot";
        }

        internal override void Validate()
        {
            base.Validate();
            Require(!string.IsNullOrWhiteSpace(TokenColumnName), nameof(TokenColumnName), TokenColumnName, "the name of the token column");
            Require(System.Enum.IsDefined(InputEncoding), nameof(InputEncoding), InputEncoding, "OneHot or Embedding");
            Require(InputEncoding != TokenInputEncoding.Embedding || (EmbeddingSize >= 1 && EmbeddingSize <= RecurrentArchitecture.MaximumWidth),
                nameof(EmbeddingSize), EmbeddingSize, $"1 to {RecurrentArchitecture.MaximumWidth} with InputEncoding = Embedding");
            Require(System.Enum.IsDefined(OneHotProjection), nameof(OneHotProjection), OneHotProjection, "Auto, Gather or Dense");
        }
    }
}
