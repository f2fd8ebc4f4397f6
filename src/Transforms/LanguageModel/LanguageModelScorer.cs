using System;
using System.Collections.Generic;
using System.Numerics.Tensors;
using System.Threading;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Runs a trained language model over one text at a time: its log-likelihood, the next-token distribution after
    /// it, and a continuation produced token by token. One per caller (a PredictionEngine's mapper, a streaming
    /// generation); the engine it reads is shared. Memory is constant in the length of the text and of the
    /// continuation, and a step allocates nothing.
    /// </summary>
    internal sealed class LanguageModelScorer
    {
        private readonly RecurrentEngine _engine;
        private readonly LanguageModelVocabulary _vocabulary;
        private readonly RecurrentEngineState _state;
        private readonly TokenSampler _sampler;

        /// <summary>How many positions' logits are computed together when scoring a text's likelihood.</summary>
        private const int Chunk = 16;

        private readonly float[] _tops;
        private readonly float[] _logits;

        public LanguageModelScorer(RecurrentEngine engine, LanguageModelVocabulary vocabulary)
        {
            _engine = engine;
            _vocabulary = vocabulary;
            _state = engine.CreateState();
            _sampler = new TokenSampler(vocabulary);
            _tops = new float[Chunk * engine.Architecture.OutputWidth];
            _logits = new float[Chunk * engine.Architecture.OutputSize];
        }

        /// <summary>
        /// Reads a text from the start of a document (the end-of-text token, then <paramref name="ids"/>). Position t
        /// predicts token t; afterwards the state and the logits are those after the text. Without
        /// <paramref name="likelihood"/> only the last position's logits are computed; with it, they are computed for
        /// <see cref="Chunk"/> positions at a time, so the head's weights are read once per chunk, not once per token.
        /// </summary>
        /// <returns>The natural-log likelihood of the text's tokens when <paramref name="likelihood"/>, else 0.</returns>
        public double Read(IReadOnlyList<int> ids, bool likelihood)
        {
            _state.Reset();
            int width = _engine.Architecture.OutputWidth, size = _engine.Architecture.OutputSize;
            double logLikelihood = 0;
            int pending = 0;
            for (int position = 0; position <= ids.Count; position++)
            {
                _engine.Step(_state, position == 0 ? _vocabulary.EndOfText : ids[position - 1]);
                if (!likelihood)
                    continue;
                _engine.Top(_state).CopyTo(_tops.AsSpan(pending * width, width));
                if (++pending < Chunk && position < ids.Count)
                    continue;
                _engine.Head(_tops, pending, _logits);
                for (int k = 0; k < pending; k++)
                {
                    int predicted = position - pending + 1 + k;
                    var logits = _logits.AsSpan(k * size, size);
                    if (predicted < ids.Count)
                        logLikelihood += VectorKernels.LogSoftmaxAt(logits, ids[predicted], _state.Scratch);
                    else
                        logits.CopyTo(_state.Output);
                }
                pending = 0;
            }
            if (!likelihood)
                _engine.Head(_engine.Top(_state), _state.Output);
            return logLikelihood;
        }

        /// <summary>The next-token probabilities after what was read.</summary>
        public void NextTokenProbabilities(Span<float> destination) => VectorKernels.Softmax(_state.Output, destination);

        /// <summary>
        /// Continues what was read, yielding each token id as it is chosen; the sequence ends at the stop token or
        /// after <see cref="GenerationOptions.MaximumNewTokens"/>. <paramref name="checkAlive"/> runs before every
        /// step (ML.NET's host cancellation) and so does the token's check.
        /// </summary>
        public IEnumerable<int> Generate(IReadOnlyList<int> prefix, GenerationOptions options, Action? checkAlive, CancellationToken cancellationToken)
        {
            var random = options.Seed is int seed ? new Random(seed) : new Random();
            int? stop = options.StopToken is null ? null : Array.IndexOf(_vocabulary.Tokens, options.StopToken);
            _sampler.Begin(prefix);
            for (int step = 0; step < options.MaximumNewTokens; step++)
            {
                cancellationToken.ThrowIfCancellationRequested();
                checkAlive?.Invoke();
                int token = _sampler.Choose(_state.Output, options, stop, random);
                if (token < 0 || token == stop)
                    yield break;
                yield return token;
                if (step + 1 == options.MaximumNewTokens)
                    yield break;
                _sampler.Observe(token);
                Feed(token);
            }
        }

        private void Feed(int token)
        {
            _engine.Step(_state, token);
            _engine.Head(_engine.Top(_state), _state.Output);
        }
    }
}
