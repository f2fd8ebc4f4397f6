using System;
using System.Buffers;
using System.Text;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Splits text into tokens without allocating: characters are Unicode scalar values (a lone surrogate reads as
    /// U+FFFD), words are runs of non-white-space. With case folding each character is lower-cased (invariant culture)
    /// into a caller-supplied scratch buffer, so <see cref="Current"/> is valid until the next <see cref="MoveNext"/>.
    /// </summary>
    internal ref struct TokenEnumerator
    {
        private readonly TokenizerLevel _level;
        private readonly bool _fold;
        private ReadOnlySpan<char> _rest;
        private char[] _scratch;

        public TokenEnumerator(ReadOnlySpan<char> text, TokenizerLevel level, bool caseFolding, char[] scratch)
        {
            _rest = text;
            _level = level;
            _fold = caseFolding;
            _scratch = scratch.Length >= 2 ? scratch : new char[16];
            Current = default;
        }

        public ReadOnlySpan<char> Current { get; private set; }

        public readonly TokenEnumerator GetEnumerator() => this;

        public bool MoveNext()
        {
            if (_level == TokenizerLevel.Character)
            {
                if (_rest.IsEmpty)
                    return false;
                // A lone surrogate decodes as U+FFFD with status InvalidData and consumed 1: U+FFFD is then the token,
                // never the surrogate itself (which would not survive the UTF-8 vocabulary file).
                bool valid = Rune.DecodeFromUtf16(_rest, out var rune, out int consumed) == OperationStatus.Done;
                if (_fold)
                    rune = Rune.ToLowerInvariant(rune);
                if (valid && !_fold)
                    Current = _rest[..consumed];
                else
                    Current = _scratch.AsSpan(0, rune.EncodeToUtf16(_scratch));
                _rest = _rest[consumed..];
                return true;
            }

            int start = 0;
            while (start < _rest.Length && char.IsWhiteSpace(_rest[start]))
                start++;
            if (start == _rest.Length)
            {
                _rest = default;
                return false;
            }
            int end = start;
            while (end < _rest.Length && !char.IsWhiteSpace(_rest[end]))
                end++;
            var word = _rest[start..end];
            _rest = _rest[end..];
            Current = _fold || HasLoneSurrogate(word) ? Normalize(word) : word;
            return true;
        }

        private static bool HasLoneSurrogate(ReadOnlySpan<char> word)
        {
            for (int i = word.IndexOfAnyInRange('\uD800', '\uDFFF'); i >= 0 && i < word.Length; i++)
            {
                if (!char.IsSurrogate(word[i]))
                    continue;
                if (!char.IsHighSurrogate(word[i]) || i + 1 == word.Length || !char.IsLowSurrogate(word[i + 1]))
                    return true;
                i++;
            }
            return false;
        }

        /// <summary>The word as Unicode scalar values (a lone surrogate as U+FFFD), lower-cased when folding.</summary>
        private ReadOnlySpan<char> Normalize(ReadOnlySpan<char> word)
        {
            if (_scratch.Length < 2 * word.Length)
                _scratch = new char[2 * word.Length];
            int length = 0;
            foreach (var rune in word.EnumerateRunes())
                length += (_fold ? Rune.ToLowerInvariant(rune) : rune).EncodeToUtf16(_scratch.AsSpan(length));
            return _scratch.AsSpan(0, length);
        }
    }
}
