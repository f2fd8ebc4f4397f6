using System;
using System.Collections.Generic;
using System.Linq;
using TorchSharp;
using static TorchSharp.torch;

namespace MlnetLstm.Trainers
{
    /// <summary>What scoring one text produced; fields not asked for stay at their defaults.</summary>
    internal sealed class LanguageModelScore
    {
        /// <summary>Natural-log likelihood of the text's tokens, each predicted from the end-of-text token and the tokens before it.</summary>
        public double LogLikelihood { get; set; }

        public int TokenCount { get; set; }

        public float[]? NextTokenProbabilities { get; set; }

        public List<int>? Generated { get; set; }
    }

    /// <summary>
    /// Runs a trained language model over one text: its likelihood, the next-token distribution after it and a
    /// continuation. The text is read in chunks with the state carried, so a long text costs memory in proportion to
    /// the chunk, not the text. Thread-safe: it only reads the network, in evaluation mode and without gradients.
    /// </summary>
    internal static class LanguageModelScorer
    {
        private const int ChunkLength = 256;

        public static LanguageModelScore Score(RecurrentNetwork network, LanguageModelVocabulary vocabulary, IReadOnlyList<int> ids,
            bool likelihood, bool probabilities, GenerationOptions? generation)
        {
            using var scope = NewDisposeScope();
            using var noGrad = no_grad();
            var device = network.Device;
            var context = new long[ids.Count + 1];
            context[0] = vocabulary.EndOfText;
            for (int i = 0; i < ids.Count; i++)
                context[i + 1] = ids[i];

            // Position t of the context predicts token t of the text; the last position predicts what comes next.
            var score = new LanguageModelScore { TokenCount = ids.Count };
            var state = network.ZeroState(1);
            Tensor lastLogits = null!;
            for (int start = 0; start < context.Length; start += ChunkLength)
            {
                int length = Math.Min(ChunkLength, context.Length - start);
                var input = tensor(context.AsSpan(start, length).ToArray(), device: device).view(length, 1);
                var (output, next) = network.Encode(input, state);
                state = next;
                var logits = network.Head(output).squeeze(1);
                if (likelihood)
                {
                    int predicted = Math.Min(length, ids.Count - start);
                    if (predicted > 0)
                    {
                        var targets = tensor(context.AsSpan(start + 1, predicted).ToArray(), device: device).view(predicted, 1);
                        score.LogLikelihood += logits.narrow(0, 0, predicted).log_softmax(1).gather(1, targets).sum().to(ScalarType.Float64).item<double>();
                    }
                }
                lastLogits = logits[length - 1];
            }

            if (probabilities)
                score.NextTokenProbabilities = lastLogits.softmax(0).cpu().data<float>().ToArray();
            if (generation is not null)
                score.Generated = Generate(network, vocabulary, lastLogits, state, generation);
            return score;
        }

        private static List<int> Generate(RecurrentNetwork network, LanguageModelVocabulary vocabulary, Tensor logits, RecurrentState state, GenerationOptions options)
        {
            var random = options.Seed is int seed ? new Random(seed) : new Random();
            int? stop = options.StopToken is null ? null : Array.IndexOf(vocabulary.Tokens, options.StopToken);
            var generated = new List<int>();
            var input = zeros(1, 1, dtype: ScalarType.Int64, device: network.Device);
            for (int step = 0; step < options.MaximumNewTokens; step++)
            {
                int token = TokenSampler.Choose(logits.cpu().data<float>().ToArray(), options, random);
                if (token == stop)
                    break;
                generated.Add(token);
                if (step + 1 == options.MaximumNewTokens)
                    break;
                using var stepScope = NewDisposeScope();
                // An explicit Scalar, disposed after the call: TorchSharp's fill_ does not keep an implicit one alive, so
                // under GC pressure its finalizer could free it while libtorch reads it (seen in the concurrency test).
                using (var value = token.ToScalar())
                    input.fill_(value);
                var (output, next) = network.Encode(input, state);
                // Replace, and free, the previous step's logits and state so a long generation runs in constant memory.
                logits.Dispose();
                state.Dispose();
                logits = network.Head(output).view(-1).MoveToOuterDisposeScope();
                state = next.DetachToOuterScope();
            }
            return generated;
        }
    }
}
