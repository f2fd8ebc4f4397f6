using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace MlnetLstm.Transforms
{
    /// <summary>The vocabulary a language model was trained on, as its token column described it.</summary>
    internal sealed record LanguageModelVocabulary(string[] Tokens, string Separator, int EndOfText, int? Unknown)
    {
        public string Decode(IEnumerable<int> ids) => string.Join(Separator, ids.Select(id => Tokens[id]));

        /// <summary>The vocabulary of a token column, with the end-of-text token located (or an error naming the option).</summary>
        public static LanguageModelVocabulary From(TokenColumn column, string endOfTextToken)
        {
            int endOfText = Array.IndexOf(column.Tokens, endOfTextToken);
            if (endOfText < 0)
                throw new ArgumentOutOfRangeException(nameof(endOfTextToken),
                    $"The vocabulary of token column '{column.Name}' has no end-of-text token '{endOfTextToken}'. Keep it among the tokenizer's ReservedTokens, or set EndOfTextToken to one of its tokens.");
            int unknown = column.UnknownToken is null ? -1 : Array.IndexOf(column.Tokens, column.UnknownToken);
            return new LanguageModelVocabulary(column.Tokens, column.Separator, endOfText, unknown < 0 ? null : unknown);
        }

        // *** Binary format ***
        // int: number of tokens V; V × string: tokens; string: separator; int: end-of-text id; int: unknown id (−1 for none)
        public void Save(BinaryWriter writer)
        {
            writer.Write(Tokens.Length);
            foreach (var token in Tokens)
                writer.Write(token);
            writer.Write(Separator);
            writer.Write(EndOfText);
            writer.Write(Unknown ?? -1);
        }

        /// <exception cref="FormatException">The data is not a valid vocabulary.</exception>
        public static LanguageModelVocabulary Load(BinaryReader reader, string source, long end)
        {
            int count = reader.ReadInt32();
            if (count < 1 || count > Vocabulary.MaximumSize)
                throw new FormatException($"{source}: vocabulary size {count} is outside 1 to {Vocabulary.MaximumSize}.");
            var tokens = ModelFormat.ReadStrings(reader, count, end, source, "vocabulary tokens");
            string separator = reader.ReadString();
            int endOfText = reader.ReadInt32();
            int unknown = reader.ReadInt32();
            if (endOfText < 0 || endOfText >= count || unknown < -1 || unknown >= count)
                throw new FormatException($"{source}: the end-of-text id {endOfText} or unknown-token id {unknown} is outside the vocabulary of {count} tokens.");
            if (tokens.Distinct(StringComparer.Ordinal).Count() != count)
                throw new FormatException($"{source}: the vocabulary lists a token twice.");
            return new LanguageModelVocabulary(tokens, separator, endOfText, unknown < 0 ? null : unknown);
        }
    }
}
