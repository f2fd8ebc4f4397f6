using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// The vocabulary of a token column as the models trained on it keep it: the tokens by id, what joins them into
    /// text, and the unknown token. The one record behind the token column, the language model and the classifier,
    /// with one test of sameness and one binary format.
    /// </summary>
    internal sealed record TokenVocabulary(string[] Tokens, string Separator, int? Unknown)
    {
        /// <summary>The tokens' text joined by the separator.</summary>
        public string Decode(IEnumerable<int> ids) => string.Join(Separator, ids.Select(id => Tokens[id]));

        /// <summary>Whether two vocabularies have the same tokens in the same order and the same separator.</summary>
        public bool SameTokens(TokenVocabulary other) => Separator == other.Separator && Tokens.AsSpan().SequenceEqual(other.Tokens);

        // *** Binary format ***
        // int: number of tokens V; V × string: tokens; string: separator; int: unknown id (−1 for none)
        public void Save(BinaryWriter writer)
        {
            writer.Write(Tokens.Length);
            foreach (var token in Tokens)
                writer.Write(token);
            writer.Write(Separator);
            writer.Write(Unknown ?? -1);
        }

        /// <summary>Reads what <see cref="Save"/> wrote, never past <paramref name="end"/>.</summary>
        /// <exception cref="FormatException">The data is not a valid vocabulary; the message names <paramref name="source"/>.</exception>
        public static TokenVocabulary Load(BinaryReader reader, string source, long end)
        {
            // *** Binary format *** (see Save)
            var (tokens, separator) = LoadTokens(reader, source, end);
            return new TokenVocabulary(tokens, separator, LoadUnknown(reader, source, tokens.Length));
        }

        /// <summary>The tokens and the separator, the start of every saved vocabulary (also of formats before 0x00010003).</summary>
        internal static (string[] Tokens, string Separator) LoadTokens(BinaryReader reader, string source, long end)
        {
            int count = reader.ReadInt32();
            if (count < 1 || count > Vocabulary.MaximumSize)
                throw new FormatException($"{source}: vocabulary size {count} is outside 1 to {Vocabulary.MaximumSize}; the file is corrupt.");
            var tokens = ModelFormat.ReadStrings(reader, count, end, source, "vocabulary tokens");
            if (tokens.Distinct(StringComparer.Ordinal).Count() != count)
                throw new FormatException($"{source}: the vocabulary lists a token twice.");
            return (tokens, reader.ReadString());
        }

        /// <summary>An unknown-token id: −1 for none, else an id of the vocabulary.</summary>
        internal static int? LoadUnknown(BinaryReader reader, string source, int count)
        {
            int unknown = reader.ReadInt32();
            if (unknown < -1 || unknown >= count)
                throw new FormatException($"{source}: the unknown-token id {unknown} is outside the vocabulary of {count} tokens.");
            return unknown < 0 ? null : unknown;
        }
    }
}
