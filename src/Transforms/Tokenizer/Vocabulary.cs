using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// A learned token vocabulary: token id ↔ token text. Ids are 0-based; in ML.NET columns they appear as keys,
    /// where key = id + 1 (key 0 is ML.NET's missing value).
    /// </summary>
    /// <remarks>
    /// Text is read as Unicode scalar values (<see cref="Rune"/>): invalid UTF-16 (a lone surrogate) reads as
    /// U+FFFD, the replacement character, which is then a token like any other (or <see cref="UnknownToken"/>).
    /// A vocabulary is immutable and safe to use from many threads.
    /// </remarks>
    public sealed class Vocabulary : ITextTokenizer
    {
        /// <summary>The most tokens a vocabulary may have; also the bound checked when a saved one is read.</summary>
        public const int MaximumSize = 1 << 24;

        private readonly string[] _tokens;
        private readonly Dictionary<string, int> _ids;
        private readonly Dictionary<string, int>.AlternateLookup<ReadOnlySpan<char>> _spanIds;

        internal Vocabulary(TokenizerLevel level, bool caseFolding, IReadOnlyList<string> tokens, int unknownId, int reservedCount)
        {
            if (tokens.Count == 0 || tokens.Count > MaximumSize)
                throw new ArgumentOutOfRangeException(nameof(tokens), $"A vocabulary has 1 to {MaximumSize} tokens; got {tokens.Count}.");
            if (unknownId < 0 || unknownId >= tokens.Count)
                throw new ArgumentOutOfRangeException(nameof(unknownId), $"The unknown-token id {unknownId} is outside the vocabulary of {tokens.Count} tokens.");
            if (reservedCount <= unknownId || reservedCount > tokens.Count)
                throw new ArgumentOutOfRangeException(nameof(reservedCount), $"{reservedCount} reserved tokens must include the unknown token (id {unknownId}) and fit in the vocabulary of {tokens.Count}.");
            Level = level;
            CaseFolding = caseFolding;
            UnknownId = unknownId;
            ReservedCount = reservedCount;
            _tokens = tokens.ToArray();
            _ids = new Dictionary<string, int>(_tokens.Length, StringComparer.Ordinal);
            for (int i = 0; i < _tokens.Length; i++)
            {
                if (string.IsNullOrEmpty(_tokens[i]))
                    throw new ArgumentException($"Token {i} of the vocabulary is empty.", nameof(tokens));
                if (!_ids.TryAdd(_tokens[i], i))
                    throw new ArgumentException($"The token '{_tokens[i]}' appears twice in the vocabulary (ids {_ids[_tokens[i]]} and {i}).", nameof(tokens));
            }
            _spanIds = _ids.GetAlternateLookup<ReadOnlySpan<char>>();
        }

        /// <summary>Whether a token is a character or a word.</summary>
        public TokenizerLevel Level { get; }

        /// <summary>Whether text is lower-cased (invariant culture, per character) before it is looked up.</summary>
        public bool CaseFolding { get; }

        /// <summary>The id that text outside the vocabulary maps to.</summary>
        public int UnknownId { get; }

        /// <summary>
        /// How many tokens are reserved (ids 0 to ReservedCount − 1: the unknown token, the end-of-text token, …). Text
        /// never maps to a reserved id: a word or character equal to one maps to <see cref="UnknownId"/>, so a user who
        /// types "&lt;eos&gt;" cannot insert a document break.
        /// </summary>
        public int ReservedCount { get; }

        /// <summary>The token text of <see cref="UnknownId"/>.</summary>
        public string UnknownToken => _tokens[UnknownId];

        /// <summary>The tokens, indexed by id.</summary>
        public IReadOnlyList<string> Tokens => _tokens;

        /// <summary>The number of tokens.</summary>
        public int Count => _tokens.Length;

        /// <summary>What <see cref="Decode(ReadOnlySpan{int})"/> puts between two tokens: nothing for characters, a space for words.</summary>
        public string Separator => Level == TokenizerLevel.Word ? " " : "";

        /// <summary>Looks up the id of a token's exact text (reserved tokens such as <c>&lt;eos&gt;</c> included).</summary>
        public bool TryGetId(string token, out int id) => _ids.TryGetValue(token, out id);

        /// <summary>Maps text to token ids; text outside the vocabulary, or equal to a reserved token, maps to <see cref="UnknownId"/>.</summary>
        public int[] Encode(string text) => Encode(text, out _);

        /// <summary>Maps text to token ids and counts the tokens that mapped to <see cref="UnknownId"/>.</summary>
        public int[] Encode(string text, out int unknownCount) => TokenKeys.Encode(this, text, out unknownCount);

        /// <summary>Appends the ids of <paramref name="text"/> to <paramref name="ids"/>; returns how many were unknown.</summary>
        internal int Encode(ReadOnlySpan<char> text, List<int> ids)
        {
            int unknown = 0;
            foreach (var token in new TokenEnumerator(text, Level, CaseFolding, new char[16]))
            {
                if (!_spanIds.TryGetValue(token, out int id) || id < ReservedCount)
                {
                    id = UnknownId;
                    unknown++;
                }
                ids.Add(id);
            }
            return unknown;
        }

        int ITextTokenizer.Encode(ReadOnlySpan<char> text, List<int> ids) => Encode(text, ids);

        /// <summary>Maps ids back to text: the tokens' text, joined by <see cref="Separator"/>.</summary>
        /// <exception cref="ArgumentOutOfRangeException">An id is not in the vocabulary.</exception>
        public string Decode(ReadOnlySpan<int> ids)
        {
            var builder = new StringBuilder();
            for (int i = 0; i < ids.Length; i++)
            {
                if ((uint)ids[i] >= (uint)_tokens.Length)
                    throw new ArgumentOutOfRangeException(nameof(ids), $"Token id {ids[i]} at position {i} is outside the vocabulary of {_tokens.Length} tokens.");
                if (i > 0)
                    builder.Append(Separator);
                builder.Append(_tokens[ids[i]]);
            }
            return builder.ToString();
        }

        /// <summary>Maps ML.NET keys (id + 1) back to text; key 0 (missing) is rejected.</summary>
        public string DecodeKeys(ReadOnlySpan<uint> keys)
        {
            var ids = new int[keys.Length];
            for (int i = 0; i < keys.Length; i++)
            {
                if (keys[i] == 0 || keys[i] > _tokens.Length)
                    throw new ArgumentOutOfRangeException(nameof(keys), $"Key {keys[i]} at position {i} is not a token key (1 to {_tokens.Length}).");
                ids[i] = (int)keys[i] - 1;
            }
            return Decode(ids);
        }

        // *** Binary format ***
        // int: level (0 = character, 1 = word)
        // byte: case folding (0 or 1)
        // int: number of tokens N (1 to MaximumSize)
        // int: unknown-token id (0 to N-1)
        // N × string: token text (BinaryWriter string: 7-bit encoded UTF-8 byte length, then the bytes)
        // int: number of reserved tokens R (from format 0x00010003; see ModelFormat)
        internal void Save(BinaryWriter writer)
        {
            writer.Write((int)Level);
            writer.Write(CaseFolding ? (byte)1 : (byte)0);
            writer.Write(_tokens.Length);
            writer.Write(UnknownId);
            foreach (var token in _tokens)
                writer.Write(token);
            writer.Write(ReservedCount);
        }

        /// <summary>
        /// Reads a vocabulary written by <see cref="Save"/>, validating every field before it is used and never reading
        /// past <paramref name="end"/>, the stream position where the component's data ends (in a model entry, more
        /// data follows: ML.NET's string table, so reading past the end would decode it as tokens).
        /// </summary>
        /// <exception cref="FormatException">The data is not a valid vocabulary; the message names <paramref name="source"/>.</exception>
        /// <param name="reader">The reader, at the vocabulary.</param>
        /// <param name="source">The data's description for messages.</param>
        /// <param name="end">Where the component's data ends.</param>
        /// <param name="hasReservedCount">
        /// Whether the data was written by format 0x00010003 or later, which saves the number of reserved tokens.
        /// Before, the tokenizer put them first but did not record how many: the leading tokens of the form
        /// &lt;…&gt; (as the default &lt;unk&gt; and &lt;eos&gt;), and at least the unknown token, count as reserved.
        /// </param>
        internal static Vocabulary Load(BinaryReader reader, string source, long end, bool hasReservedCount)
        {
            // *** Binary format *** (see Save)
            int level = reader.ReadInt32();
            if (level != (int)TokenizerLevel.Character && level != (int)TokenizerLevel.Word)
                throw new FormatException($"{source}: unknown tokenizer level {level}.");
            byte folding = reader.ReadByte();
            if (folding > 1)
                throw new FormatException($"{source}: case-folding flag {folding} is neither 0 nor 1.");
            int count = reader.ReadInt32();
            if (count < 1 || count > MaximumSize)
                throw new FormatException($"{source}: vocabulary size {count} is outside 1 to {MaximumSize}.");
            int unknownId = reader.ReadInt32();
            if (unknownId < 0 || unknownId >= count)
                throw new FormatException($"{source}: unknown-token id {unknownId} is outside the vocabulary of {count} tokens.");
            var tokens = ModelFormat.ReadStrings(reader, count, end, source, "vocabulary tokens");
            int reserved;
            if (hasReservedCount)
            {
                if (end - reader.BaseStream.Position < sizeof(int))
                    throw new FormatException($"{source}: the vocabulary ends before its number of reserved tokens; it is truncated or corrupt. Re-save the model, or retrain it.");
                reserved = reader.ReadInt32();
                if (reserved <= unknownId || reserved > count)
                    throw new FormatException($"{source}: {reserved} reserved tokens do not include the unknown-token id {unknownId} or do not fit in the vocabulary of {count} tokens.");
            }
            else
                reserved = LeadingReservedCount(tokens, unknownId);
            return new Vocabulary((TokenizerLevel)level, folding == 1, tokens, unknownId, reserved);
        }

        /// <summary>
        /// How many tokens of a list that does not say count as reserved: the leading tokens of the form &lt;…&gt;
        /// (as the default &lt;unk&gt; and &lt;eos&gt;), and at least those up to the unknown token.
        /// </summary>
        internal static int LeadingReservedCount(IReadOnlyList<string> tokens, int unknownId)
        {
            int reserved = 0;
            while (reserved < tokens.Count && tokens[reserved].Length > 2 && tokens[reserved][0] == '<' && tokens[reserved][^1] == '>')
                reserved++;
            return Math.Max(reserved, unknownId + 1);
        }
    }
}
