using System;
using System.Collections.Generic;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Chooses each generated token from a row of logits: greedy, or sampled with temperature, top-k and top-p, after
    /// the repetition penalty. Tokens a continuation must not contain never win: the unknown token, and the
    /// end-of-text token unless it is the stop token. One per caller; its buffers are reused, so a step allocates nothing.
    /// </summary>
    internal sealed class TokenSampler
    {
        private readonly float[] _logits;
        private readonly double[] _probabilities;
        private readonly int[] _order;
        private readonly bool[] _seen;
        private readonly ByLogit _byLogit;
        private readonly int? _unknown;
        private readonly int _endOfText;

        public TokenSampler(LanguageModelVocabulary vocabulary)
        {
            int size = vocabulary.Tokens.Length;
            _logits = new float[size];
            _probabilities = new double[size];
            _order = new int[size];
            _seen = new bool[size];
            _byLogit = new ByLogit(_logits);
            _unknown = vocabulary.Unknown;
            _endOfText = vocabulary.EndOfText;
        }

        /// <summary>Starts a continuation of <paramref name="prefix"/>: its tokens count as already seen for the repetition penalty.</summary>
        public void Begin(IReadOnlyList<int> prefix)
        {
            Array.Clear(_seen);
            for (int i = 0; i < prefix.Count; i++)
                _seen[prefix[i]] = true;
        }

        /// <summary>Records a generated token for the repetition penalty.</summary>
        public void Observe(int token) => _seen[token] = true;

        /// <summary>The next token, or −1 when no token may be generated at all.</summary>
        public int Choose(ReadOnlySpan<float> logits, GenerationOptions options, int? stop, Random random)
        {
            logits.CopyTo(_logits);
            if (options.RepetitionPenalty != 1)
                for (int i = 0; i < _logits.Length; i++)
                    if (_seen[i])
                        _logits[i] = _logits[i] > 0 ? _logits[i] / options.RepetitionPenalty : _logits[i] * options.RepetitionPenalty;
            if (_unknown is int unknown)
                _logits[unknown] = float.NegativeInfinity;
            if (stop != _endOfText)
                _logits[_endOfText] = float.NegativeInfinity;

            int best = ArgMax(_logits);
            if (float.IsNegativeInfinity(_logits[best]))
                return -1;
            if (options.Greedy || options.TopK == 1)
                return best;

            // Probabilities at the temperature, relative to the largest logit; with top-k or top-p, over the candidates
            // sorted by logit (ties by id) and cut to the top k, then to the shortest prefix whose probability reaches top-p.
            bool sorted = options.TopK > 0 || options.TopP < 1;
            int count = _logits.Length;
            for (int i = 0; i < count; i++)
                _order[i] = i;
            if (sorted)
            {
                Array.Sort(_order, _byLogit);
                if (options.TopK > 0)
                    count = Math.Min(options.TopK, count);
            }
            double max = _logits[best], total = 0;
            for (int i = 0; i < count; i++)
                total += _probabilities[i] = Math.Exp((_logits[_order[i]] - max) / options.Temperature);
            if (options.TopP < 1)
            {
                double cumulative = 0, kept = 0;
                for (int i = 0; i < count; i++)
                {
                    cumulative += _probabilities[i] / total;
                    kept += _probabilities[i];
                    if (cumulative >= options.TopP)
                    {
                        count = i + 1;
                        break;
                    }
                }
                total = kept;
            }

            double u = random.NextDouble() * total;
            for (int i = 0; i < count; i++)
            {
                u -= _probabilities[i];
                if (u < 0)
                    return _order[i];
            }
            // Rounding left u just above zero: the last candidate with any probability.
            for (int i = count - 1; i > 0; i--)
                if (_probabilities[i] > 0)
                    return _order[i];
            return _order[0];
        }

        /// <summary>The index of the largest value; the lowest index among equals.</summary>
        public static int ArgMax(ReadOnlySpan<float> values)
        {
            int best = 0;
            for (int i = 1; i < values.Length; i++)
                if (values[i] > values[best])
                    best = i;
            return best;
        }

        /// <summary>Orders token ids by descending logit, ties by ascending id.</summary>
        private sealed class ByLogit : IComparer<int>
        {
            private readonly float[] _logits;

            public ByLogit(float[] logits) => _logits = logits;

            public int Compare(int x, int y)
            {
                int byLogit = _logits[y].CompareTo(_logits[x]);
                return byLogit != 0 ? byLogit : x.CompareTo(y);
            }
        }
    }
}
