using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.RegularExpressions;
using Microsoft.ML.Tokenizers;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// A byte-pair-encoding vocabulary learned from text (<see cref="BpeTokenizingEstimator"/>): the tokens by id, the
    /// merges in the order they were learned, and the Microsoft.ML.Tokenizers <see cref="BpeTokenizer"/> that encodes
    /// and decodes with them. Ids are 0-based; in ML.NET columns they appear as keys, key = id + 1.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Text is first split into pieces: runs of letters (with their combining marks), runs of digits, runs of other
    /// non-space characters, and single white-space characters. Merges happen inside a piece, so no token spans two
    /// pieces and a space is a token of its own: Microsoft.ML.Tokenizers writes a merge as "left right", split at the
    /// space, so a merged token cannot hold a space. Every token is plain text, and decoding is the concatenation
    /// of the tokens' text: <c>Decode(Encode(text)) == text</c> for any text made of characters in the vocabulary.
    /// </para>
    /// <para>
    /// The base tokens are Unicode scalar values, so no token holds half of a surrogate pair: text built from tokens
    /// (a generated continuation, streamed token by token) is always valid UTF-16. A character outside the vocabulary,
    /// a lone surrogate included, maps to <see cref="UnknownId"/>, as does text equal to a reserved token: the
    /// reserved tokens are never merged from text, so a user who types "&lt;eos&gt;" cannot insert a document break.
    /// </para>
    /// A vocabulary is immutable and safe to use from many threads.
    /// </remarks>
    public sealed class BpeVocabulary : ITextTokenizer
    {
        /// <summary>The pieces merges stay within; the whole text is covered, so pre-tokenization drops nothing.</summary>
        internal static readonly Regex Pieces = new(@"[\p{L}\p{M}]+|\p{N}+|[^\s\p{L}\p{M}\p{N}]+|\s", RegexOptions.Compiled | RegexOptions.CultureInvariant);

        private readonly string[] _tokens;
        private readonly (string Left, string Right)[] _merges;

        internal BpeVocabulary(IReadOnlyList<string> tokens, IReadOnlyList<(string Left, string Right)> merges, int unknownId, int reservedCount)
        {
            if (tokens.Count == 0 || tokens.Count > Vocabulary.MaximumSize)
                throw new ArgumentOutOfRangeException(nameof(tokens), $"A vocabulary has 1 to {Vocabulary.MaximumSize} tokens; got {tokens.Count}.");
            if (unknownId < 0 || unknownId >= reservedCount || reservedCount > tokens.Count)
                throw new ArgumentOutOfRangeException(nameof(reservedCount), $"{reservedCount} reserved tokens must include the unknown token (id {unknownId}) and fit in the vocabulary of {tokens.Count}.");
            _tokens = tokens.ToArray();
            _merges = merges.ToArray();
            var ids = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
            for (int i = 0; i < _tokens.Length; i++)
            {
                if (string.IsNullOrEmpty(_tokens[i]))
                    throw new ArgumentException($"Token {i} of the vocabulary is empty.", nameof(tokens));
                if (!ids.TryAdd(_tokens[i], i))
                    throw new ArgumentException($"The token '{_tokens[i]}' appears twice in the vocabulary (ids {ids[_tokens[i]]} and {i}).", nameof(tokens));
            }
            for (int i = 0; i < _merges.Length; i++)
            {
                var (left, right) = _merges[i];
                if (!ids.TryGetValue(left, out int l) || !ids.TryGetValue(right, out int r) || !ids.TryGetValue(left + right, out int merged)
                    || l < reservedCount || r < reservedCount || merged < reservedCount || left.Contains(' ') || right.Contains(' '))
                    throw new ArgumentException($"Merge {i} ('{left}' + '{right}') does not join two learned tokens into a third without spaces.", nameof(merges));
            }
            UnknownId = unknownId;
            ReservedCount = reservedCount;
            Tokenizer = BpeTokenizer.Create(new BpeOptions(ids)
            {
                Merges = _merges.Select(m => m.Left + " " + m.Right),
                UnknownToken = _tokens[unknownId],
                PreTokenizer = new RegexPreTokenizer(Pieces, specialTokens: null),
            });
        }

        /// <summary>
        /// The Microsoft.ML.Tokenizers tokenizer of this vocabulary, for use outside ML.NET pipelines (for example to
        /// tokenize text for a model exported to ONNX). Unlike <see cref="Encode(string, out int)"/>, it maps text
        /// equal to a one-character reserved token to that token; the pipeline never does.
        /// </summary>
        public BpeTokenizer Tokenizer { get; }

        /// <summary>The id that text outside the vocabulary maps to.</summary>
        public int UnknownId { get; }

        /// <summary>How many tokens are reserved (ids 0 to ReservedCount − 1); text never maps to one but <see cref="UnknownId"/>.</summary>
        public int ReservedCount { get; }

        /// <summary>The token text of <see cref="UnknownId"/>.</summary>
        public string UnknownToken => _tokens[UnknownId];

        /// <summary>The tokens, indexed by id.</summary>
        public IReadOnlyList<string> Tokens => _tokens;

        /// <summary>The merges in the order they apply: each joins two tokens into the token of their concatenated text.</summary>
        public IReadOnlyList<(string Left, string Right)> Merges => _merges;

        /// <summary>The number of tokens.</summary>
        public int Count => _tokens.Length;

        /// <summary>Maps text to token ids and counts the tokens that mapped to <see cref="UnknownId"/>.</summary>
        public int[] Encode(string text, out int unknownCount) => TokenKeys.Encode(this, text, out unknownCount);

        /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="ids"/>; returns how many were unknown.</summary>
        internal int Encode(ReadOnlySpan<char> text, List<int> ids)
        {
            int unknown = 0;
            foreach (int encoded in Tokenizer.EncodeToIds(text))
            {
                int id = encoded;
                if (id < ReservedCount)
                {
                    id = UnknownId;
                    unknown++;
                }
                ids.Add(id);
            }
            return unknown;
        }

        int ITextTokenizer.Encode(ReadOnlySpan<char> text, List<int> ids) => Encode(text, ids);

        /// <summary>Tokens join with nothing between them.</summary>
        string ITextTokenizer.Separator => "";

        /// <summary>Maps ids back to text: the tokens' text, concatenated (as <see cref="Tokenizer"/> decodes).</summary>
        /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
        public string Decode(ReadOnlySpan<int> ids)
        {
            var builder = new System.Text.StringBuilder();
            for (int i = 0; i < ids.Length; i++)
            {
                if ((uint)ids[i] >= (uint)_tokens.Length)
                    throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {ids[i]} at position {i} is outside the vocabulary of {_tokens.Length} tokens.");
                builder.Append(_tokens[ids[i]]);
            }
            return builder.ToString();
        }

        // *** Binary format ***
        // int: number of tokens N (1 to Vocabulary.MaximumSize)
        // int: number of reserved tokens R (1 to N)
        // int: unknown-token id (0 to R-1)
        // N × string: token text (BinaryWriter string: 7-bit encoded UTF-8 byte length, then the bytes)
        // int: number of merges M (0 to N-R)
        // M × (string: left token, string: right token)
        internal void Save(BinaryWriter writer)
        {
            writer.Write(_tokens.Length);
            writer.Write(ReservedCount);
            writer.Write(UnknownId);
            foreach (var token in _tokens)
                writer.Write(token);
            writer.Write(_merges.Length);
            foreach (var (left, right) in _merges)
            {
                writer.Write(left);
                writer.Write(right);
            }
        }

        /// <summary>Reads what <see cref="Save"/> wrote, validating every field and never reading past <paramref name="end"/>.</summary>
        /// <exception cref="FormatException">The data is not a valid BPE vocabulary; the message names <paramref name="source"/>.</exception>
        internal static BpeVocabulary Load(BinaryReader reader, string source, long end)
        {
            // *** Binary format *** (see Save)
            int count = reader.ReadInt32();
            if (count < 1 || count > Vocabulary.MaximumSize)
                throw new FormatException($"{source}: vocabulary size {count} is outside 1 to {Vocabulary.MaximumSize}; the file is corrupt.");
            int reserved = reader.ReadInt32();
            int unknown = reader.ReadInt32();
            if (reserved < 1 || reserved > count || unknown < 0 || unknown >= reserved)
                throw new FormatException($"{source}: {reserved} reserved tokens with the unknown token at id {unknown} do not fit a vocabulary of {count}; the file is corrupt.");
            var tokens = ModelFormat.ReadStrings(reader, count, end, source, "vocabulary tokens");
            int mergeCount = reader.ReadInt32();
            if (mergeCount < 0 || mergeCount > count - reserved)
                throw new FormatException($"{source}: {mergeCount} merges for {count - reserved} learned tokens; the file is corrupt.");
            var pairs = ModelFormat.ReadStrings(reader, 2 * mergeCount, end, source, "merge tokens");
            var merges = Enumerable.Range(0, mergeCount).Select(i => (pairs[2 * i], pairs[2 * i + 1])).ToArray();
            try
            {
                return new BpeVocabulary(tokens, merges, unknown, reserved);
            }
            catch (ArgumentException e)
            {
                throw new FormatException($"{source}: {e.Message} The file is corrupt.", e);
            }
        }
    }
}
