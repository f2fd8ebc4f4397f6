using System.Collections.Generic;
using System.IO;

namespace MlnetLstm.Transforms
{
    /// <summary>The columns a language model can write for each row.</summary>
    internal enum LanguageModelColumn
    {
        /// <summary>The generated continuation (text).</summary>
        Generated = 0,

        /// <summary>The next-token probabilities (vector of Single, slot names = the vocabulary).</summary>
        NextTokenProbabilities = 1,

        /// <summary>The natural-log likelihood of the text (Double).</summary>
        LogLikelihood = 2,

        /// <summary>exp(−log-likelihood / tokens) (Double).</summary>
        Perplexity = 3,

        /// <summary>−log₂-likelihood / tokens (Double).</summary>
        BitsPerToken = 4,
    }

    /// <summary>The output column of each <see cref="LanguageModelColumn"/>, or null where the model leaves it out.</summary>
    internal sealed record LanguageModelColumns(string? Generated, string? NextTokenProbabilities, string? LogLikelihood, string? Perplexity, string? BitsPerToken)
    {
        /// <summary>The outputs the model produces, in <see cref="LanguageModelColumn"/> order, with their column names.</summary>
        public IReadOnlyList<(LanguageModelColumn Output, string Name)> Present
        {
            get
            {
                var present = new List<(LanguageModelColumn, string)>();
                void Add(LanguageModelColumn output, string? name)
                {
                    if (name is not null)
                        present.Add((output, name));
                }
                Add(LanguageModelColumn.Generated, Generated);
                Add(LanguageModelColumn.NextTokenProbabilities, NextTokenProbabilities);
                Add(LanguageModelColumn.LogLikelihood, LogLikelihood);
                Add(LanguageModelColumn.Perplexity, Perplexity);
                Add(LanguageModelColumn.BitsPerToken, BitsPerToken);
                return present;
            }
        }

        // *** Binary format ***
        // 5 × { byte: present; string: name (if present) }, in LanguageModelColumn order
        public void Save(BinaryWriter writer)
        {
            foreach (var name in new[] { Generated, NextTokenProbabilities, LogLikelihood, Perplexity, BitsPerToken })
            {
                writer.Write(name is null ? (byte)0 : (byte)1);
                if (name is not null)
                    writer.Write(name);
            }
        }

        public static LanguageModelColumns Load(BinaryReader reader, string source)
        {
            // *** Binary format *** (see Save)
            string? Read(LanguageModelColumn output) => ModelFormat.ReadFlag(reader, source, $"{output} column present") ? reader.ReadString() : null;
            return new LanguageModelColumns(Read(LanguageModelColumn.Generated), Read(LanguageModelColumn.NextTokenProbabilities),
                Read(LanguageModelColumn.LogLikelihood), Read(LanguageModelColumn.Perplexity), Read(LanguageModelColumn.BitsPerToken));
        }
    }
}
