using System;
using System.Collections.Generic;
using System.IO;

namespace MlnetLstm.Transforms
{
    /// <summary>The vocabulary a language model was trained on, and its end-of-text token, read before every text.</summary>
    internal sealed record LanguageModelVocabulary(TokenVocabulary Vocabulary, int EndOfText)
    {
        public string[] Tokens => Vocabulary.Tokens;

        public string Separator => Vocabulary.Separator;

        public int? Unknown => Vocabulary.Unknown;

        public string Decode(IEnumerable<int> ids) => Vocabulary.Decode(ids);

        /// <summary>The vocabulary of a token column, with the end-of-text token located (or an error naming the option).</summary>
        public static LanguageModelVocabulary From(TokenColumn column, string endOfTextToken)
        {
            int endOfText = Array.IndexOf(column.Tokens, endOfTextToken);
            if (endOfText < 0)
                throw new ArgumentOutOfRangeException(nameof(endOfTextToken),
                    $"The vocabulary of token column '{column.Name}' has no end-of-text token '{endOfTextToken}'. Keep it among the tokenizer's ReservedTokens, or set EndOfTextToken to one of its tokens.");
            return new LanguageModelVocabulary(column.Vocabulary, endOfText);
        }

        // *** Binary format ***
        // <vocabulary: see TokenVocabulary.Save>; int: end-of-text id
        // (before format 0x00010003: int V; V × string: tokens; string: separator; int: end-of-text id; int: unknown id, −1 for none)
        public void Save(BinaryWriter writer)
        {
            Vocabulary.Save(writer);
            writer.Write(EndOfText);
        }

        /// <param name="reader">The reader, at the vocabulary.</param>
        /// <param name="source">The data's description for messages.</param>
        /// <param name="end">Where the component's data ends.</param>
        /// <param name="current">Whether the data was written by format 0x00010003 or later.</param>
        /// <exception cref="FormatException">The data is not a valid vocabulary.</exception>
        public static LanguageModelVocabulary Load(BinaryReader reader, string source, long end, bool current)
        {
            // *** Binary format *** (see Save)
            TokenVocabulary vocabulary;
            int endOfText;
            if (current)
            {
                vocabulary = TokenVocabulary.Load(reader, source, end);
                endOfText = reader.ReadInt32();
            }
            else
            {
                var (tokens, separator) = TokenVocabulary.LoadTokens(reader, source, end);
                endOfText = reader.ReadInt32();
                vocabulary = new TokenVocabulary(tokens, separator, TokenVocabulary.LoadUnknown(reader, source, tokens.Length));
            }
            if (endOfText < 0 || endOfText >= vocabulary.Tokens.Length)
                throw new FormatException($"{source}: the end-of-text id {endOfText} is outside the vocabulary of {vocabulary.Tokens.Length} tokens.");
            return new LanguageModelVocabulary(vocabulary, endOfText);
        }
    }
}
