using System;
using System.IO;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// How a language model continues a prefix. Saved with the model; change it on a trained or loaded model with
    /// <see cref="RecurrentLanguageModelTransformer.WithGeneration"/>, no retraining needed.
    /// </summary>
    public sealed record GenerationOptions
    {
        /// <summary>The most tokens to generate after the prefix. Default 100; 0 to 1,000,000.</summary>
        public int MaximumNewTokens { get; init; } = 100;

        /// <summary>Greedy decoding (the most likely token each step, as the <c>predict</c> function of Dive into Deep Learning's RNN chapter) instead of sampling. Default true.</summary>
        public bool Greedy { get; init; } = true;

        /// <summary>Sampling temperature: logits are divided by it (below 1 sharpens, above 1 flattens). Default 1; positive.</summary>
        public float Temperature { get; init; } = 1;

        /// <summary>Sample only among the K most likely tokens; 0 for no limit. Top-k = 1 is greedy. Default 0.</summary>
        public int TopK { get; init; }

        /// <summary>Nucleus sampling: sample among the most likely tokens whose probabilities add up to at least P. Default 1 (all); (0, 1].</summary>
        public float TopP { get; init; } = 1;

        /// <summary>
        /// Repetition penalty, as in Hugging Face's <c>generate</c>: the logit of every token already in the prefix or
        /// the continuation is divided by it when positive and multiplied by it when negative, so values above 1 make
        /// repeats less likely (1.1 to 1.3 is typical against the loops of greedy character models). It applies to
        /// greedy decoding and sampling alike. Default 1 (off); positive.
        /// </summary>
        public float RepetitionPenalty { get; init; } = 1;

        /// <summary>Seed of the sampler, for the same continuation of the same prefix every time; null for a different one each call. Default null.</summary>
        public int? Seed { get; init; }

        /// <summary>Generation stops when this token is produced (it is not part of the output); null for none. Default <c>&lt;eos&gt;</c>.</summary>
        public string? StopToken { get; init; } = "<eos>";

        /// <summary>
        /// Whether an empty prefix is allowed: the model then generates from the start of a document. Default false,
        /// so an empty prefix (usually a bug upstream) is an error.
        /// </summary>
        public bool AllowEmptyPrefix { get; init; }

        /// <summary>Checks every option, throwing an exception that names it.</summary>
        internal GenerationOptions Validated()
        {
            Check(MaximumNewTokens >= 0 && MaximumNewTokens <= 1_000_000, nameof(MaximumNewTokens), MaximumNewTokens, "0 to 1,000,000");
            Check(Temperature > 0 && float.IsFinite(Temperature), nameof(Temperature), Temperature, "a positive number");
            Check(TopK >= 0, nameof(TopK), TopK, "0 (no limit) or more");
            Check(TopP > 0 && TopP <= 1, nameof(TopP), TopP, "in (0, 1]");
            Check(RepetitionPenalty > 0 && float.IsFinite(RepetitionPenalty), nameof(RepetitionPenalty), RepetitionPenalty, "a positive number (1 for none)");
            Check(StopToken is null || StopToken.Length > 0, nameof(StopToken), StopToken, "a token of the vocabulary, or null for none");
            return this;
        }

        private static void Check(bool valid, string option, object? value, string expected)
        {
            if (!valid)
                throw new ArgumentOutOfRangeException(option, value, $"Generation option {option} is {value ?? "null"}; it must be {expected}.");
        }

        // *** Binary format ***
        // int: maximum new tokens; byte: greedy; float: temperature; int: top-k; float: top-p;
        // byte: has seed; int: seed; byte: has stop token; string: stop token (if any); byte: allow empty prefix
        // float: repetition penalty (from format 0x00010003; see ModelFormat)
        internal void Save(BinaryWriter writer)
        {
            writer.Write(MaximumNewTokens);
            writer.Write(Greedy ? (byte)1 : (byte)0);
            writer.Write(Temperature);
            writer.Write(TopK);
            writer.Write(TopP);
            writer.Write(Seed.HasValue ? (byte)1 : (byte)0);
            writer.Write(Seed ?? 0);
            writer.Write(StopToken is null ? (byte)0 : (byte)1);
            if (StopToken is not null)
                writer.Write(StopToken);
            writer.Write(AllowEmptyPrefix ? (byte)1 : (byte)0);
            writer.Write(RepetitionPenalty);
        }

        /// <exception cref="FormatException">A saved option is invalid; the message names <paramref name="source"/>.</exception>
        /// <param name="reader">The reader, at the options.</param>
        /// <param name="source">The data's description for messages.</param>
        /// <param name="hasRepetitionPenalty">Whether the data was written by format 0x00010003 or later, which saves the repetition penalty.</param>
        internal static GenerationOptions Load(BinaryReader reader, string source, bool hasRepetitionPenalty)
        {
            // *** Binary format *** (see Save)
            int maximum = reader.ReadInt32();
            bool greedy = ModelFormat.ReadFlag(reader, source, "greedy generation");
            float temperature = reader.ReadSingle();
            int topK = reader.ReadInt32();
            float topP = reader.ReadSingle();
            bool hasSeed = ModelFormat.ReadFlag(reader, source, "generation seed present");
            int seed = reader.ReadInt32();
            string? stop = ModelFormat.ReadFlag(reader, source, "stop token present") ? reader.ReadString() : null;
            bool allowEmpty = ModelFormat.ReadFlag(reader, source, "allow empty prefix");
            float repetitionPenalty = hasRepetitionPenalty ? reader.ReadSingle() : 1;
            try
            {
                return new GenerationOptions
                {
                    MaximumNewTokens = maximum, Greedy = greedy, Temperature = temperature, TopK = topK, TopP = topP,
                    Seed = hasSeed ? seed : null, StopToken = stop, AllowEmptyPrefix = allowEmpty, RepetitionPenalty = repetitionPenalty,
                }.Validated();
            }
            catch (ArgumentOutOfRangeException e)
            {
                throw new FormatException($"{source}: the saved generation options are invalid: {e.Message}", e);
            }
        }
    }
}
