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

        public LanguageModelScorer(RecurrentEngine engine, LanguageModelVocabulary vocabulary)
        {
            _engine = engine;
            _vocabulary = vocabulary;
            _state = engine.CreateState();
            _sampler = new TokenSampler(vocabulary);
        }

        /// <summary>
        /// Reads a text from the start of a document (the end-of-text token, then <paramref name="ids"/>). Position t
        /// predicts token t; afterwards the state and the logits are those after the text.
        /// </summary>
        /// <returns>The natural-log likelihood of the text's tokens when <paramref name="likelihood"/>, else 0.</returns>
        public double Read(IReadOnlyList<int> ids, bool likelihood)
        {
            _state.Reset();
            Feed(_vocabulary.EndOfText);
            double logLikelihood = 0;
            for (int i = 0; i < ids.Count; i++)
            {
                if (likelihood)
                    logLikelihood += LogProbability(ids[i]);
                Feed(ids[i]);
            }
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

        /// <summary>log softmax(logits)[token] of the current logits.</summary>
        private double LogProbability(int token)
        {
            var logits = _state.Output;
            var scratch = _state.Scratch;
            float max = TensorPrimitives.Max(logits);
            TensorPrimitives.Subtract(logits, max, scratch);
            TensorPrimitives.Exp(scratch, scratch);
            return logits[token] - max - Math.Log(TensorPrimitives.Sum(scratch));
        }
    }
}
