using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Learns a <see cref="BpeVocabulary"/> from counted text pieces (Sennrich et al., 2016): the base tokens are the
    /// characters (Unicode scalar values) seen at least <c>minimumCount</c> times, the most frequent first; then, until
    /// the vocabulary has <c>vocabularySize</c> tokens, the most frequent adjacent pair of tokens within a piece is
    /// merged into a new token. Ties go to the pair of lower ids, so the result depends on the data alone.
    /// </summary>
    /// <remarks>
    /// Pair counts are updated only in the pieces that hold the merged pair, and the best pair comes from a priority
    /// queue whose stale entries are skipped, so a merge costs time in proportion to the pieces it changes.
    /// </remarks>
    internal static class BpeLearner
    {
        /// <exception cref="InvalidOperationException">
        /// The data holds no character to learn from, or too few frequent pairs to reach <paramref name="vocabularySize"/>;
        /// the message names <paramref name="column"/> and the option to change.
        /// </exception>
        public static BpeVocabulary Learn(IReadOnlyDictionary<string, long> pieces, IReadOnlyList<string> reserved, string unknownToken,
            int vocabularySize, int minimumCount, string column)
        {
            // The alphabet: characters by count, then ordinal order; those equal to a reserved token stay out.
            var characterCounts = new Dictionary<string, long>(StringComparer.Ordinal);
            foreach (var (piece, count) in pieces)
                foreach (var rune in piece.EnumerateRunes())
                {
                    var text = rune.ToString();
                    characterCounts[text] = characterCounts.GetValueOrDefault(text) + count;
                }
            var alphabet = VocabularyTokenizingEstimator.MostFrequent(characterCounts, reserved, minimumCount, vocabularySize - reserved.Count, column, "character");

            var tokens = reserved.Concat(alphabet).ToList();
            var ids = new Dictionary<string, int>(StringComparer.Ordinal);
            for (int i = 0; i < tokens.Count; i++)
                ids[tokens[i]] = i;

            // Each distinct piece as token ids; −1 (a character outside the alphabet) is never part of a pair.
            var words = new List<List<int>>(pieces.Count);
            var wordCounts = new List<long>(pieces.Count);
            foreach (var (piece, count) in pieces.OrderBy(kv => kv.Key, StringComparer.Ordinal))
            {
                var symbols = new List<int>(piece.Length);
                foreach (var rune in piece.EnumerateRunes())
                    symbols.Add(ids.TryGetValue(rune.ToString(), out int id) && id >= reserved.Count ? id : -1);
                if (symbols.Count > 1)
                {
                    words.Add(symbols);
                    wordCounts.Add(count);
                }
            }

            var pairCounts = new Dictionary<(int, int), long>();
            var pairWords = new Dictionary<(int, int), List<int>>();
            var queue = new PriorityQueue<(int Left, int Right), (long NegativeCount, int Left, int Right)>();
            var changed = new HashSet<(int, int)>();
            void Count(int word, int sign)
            {
                var symbols = words[word];
                for (int i = 0; i + 1 < symbols.Count; i++)
                {
                    if (symbols[i] < 0 || symbols[i + 1] < 0)
                        continue;
                    var pair = (symbols[i], symbols[i + 1]);
                    pairCounts[pair] = pairCounts.GetValueOrDefault(pair) + sign * wordCounts[word];
                    changed.Add(pair);
                    if (sign > 0)
                    {
                        if (!pairWords.TryGetValue(pair, out var list))
                            pairWords[pair] = list = new List<int>();
                        if (list.Count == 0 || list[^1] != word)
                            list.Add(word);
                    }
                }
            }
            void Enqueue()
            {
                foreach (var pair in changed)
                {
                    long count = pairCounts[pair];
                    if (count >= minimumCount)
                        queue.Enqueue(pair, (-count, pair.Item1, pair.Item2));
                    else if (count == 0)
                        pairCounts.Remove(pair);
                }
                changed.Clear();
            }

            for (int w = 0; w < words.Count; w++)
                Count(w, +1);
            Enqueue();

            var merges = new List<(string, string)>();
            var visited = new int[words.Count];
            int stamp = 0;
            while (tokens.Count < vocabularySize)
            {
                if (!queue.TryDequeue(out var best, out var priority))
                    throw new InvalidOperationException(
                        $"VocabularySize is {vocabularySize}, more than column '{column}' allows: after {merges.Count} merges ({tokens.Count} tokens) no pair of tokens " +
                        (minimumCount > 1 ? $"is seen at least MinimumCount = {minimumCount} times" : "is left to merge") +
                        $". Set VocabularySize to at most {tokens.Count}{(minimumCount > 1 ? ", lower MinimumCount" : "")}, or fit on more text.");
                if (pairCounts.GetValueOrDefault(best) != -priority.NegativeCount)
                    continue;
                string merged = tokens[best.Left] + tokens[best.Right];
                if (ids.ContainsKey(merged) || reserved.Contains(merged, StringComparer.Ordinal))
                {
                    // Another pair already made this text (or it is a reserved token): one token per text.
                    pairCounts.Remove(best);
                    continue;
                }
                int id = tokens.Count;
                tokens.Add(merged);
                ids[merged] = id;
                merges.Add((tokens[best.Left], tokens[best.Right]));
                stamp++;
                // Taken out first: the merged words' new pairs go into other lists.
                pairWords.Remove(best, out var affected);
                foreach (int word in affected!)
                {
                    if (visited[word] == stamp)
                        continue;
                    visited[word] = stamp;
                    Count(word, -1);
                    var symbols = words[word];
                    int write = 0;
                    for (int read = 0; read < symbols.Count; read++, write++)
                    {
                        if (read + 1 < symbols.Count && symbols[read] == best.Left && symbols[read + 1] == best.Right)
                        {
                            symbols[write] = id;
                            read++;
                        }
                        else
                            symbols[write] = symbols[read];
                    }
                    symbols.RemoveRange(write, symbols.Count - write);
                    Count(word, +1);
                }
                Enqueue();
            }
            return new BpeVocabulary(tokens, merges, reserved.ToList().IndexOf(unknownToken), reserved.Count);
        }
    }
}
