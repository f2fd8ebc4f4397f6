using System;
using System.Collections.Generic;
using System.IO;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// What a network's ids mean: the tokens of its input column, by id, and for a classifier the names of its
    /// classes, by output. Weights are only meaningful with the ids they were trained on, so a checkpoint records
    /// them and a resumed run on data with other ids is refused (the vocabulary size alone can match by chance), as
    /// an <see cref="RecurrentTrainingOptions.InitialModel"/> with another vocabulary is.
    /// </summary>
    /// <param name="Column">The token column the training data has; named in messages, not compared (a column may be renamed).</param>
    /// <param name="Tokens">The tokens, by id.</param>
    /// <param name="Classes">The class names, by output; null for other models, or labels without names.</param>
    internal sealed record NetworkVocabulary(string Column, IReadOnlyList<string> Tokens, IReadOnlyList<string>? Classes = null)
    {
        // *** Binary format ***
        // int: token count; that many strings: the tokens by id
        // int: class count, or -1 for none; that many strings: the class names by output
        public void Save(BinaryWriter writer)
        {
            Write(writer, Tokens);
            if (Classes is null)
                writer.Write(-1);
            else
                Write(writer, Classes);
        }

        /// <summary>Reads the tokens and classes saved by <see cref="Save"/>, never past <paramref name="end"/>.</summary>
        /// <exception cref="FormatException">A count is out of range, or the strings do not fit before <paramref name="end"/>; the message names <paramref name="source"/>.</exception>
        public static (string[] Tokens, string[]? Classes) Load(BinaryReader reader, string source, long end)
        {
            // *** Binary format *** (see Save)
            var tokens = Read(reader, source, end, "tokens")!;
            var classes = Read(reader, source, end, "class names", allowNone: true);
            return (tokens, classes);
        }

        /// <summary>
        /// How <paramref name="trained"/> (what the weights were trained on) differs from these ids, as the middle of
        /// a sentence ("reads a vocabulary of 28 tokens, but token column 'Tokens' has 28, and they differ first at id
        /// 3 ('a' against 'e')"), or null when they are the same. Classes are compared only when both have names.
        /// </summary>
        public string? Difference(IReadOnlyList<string> trained, IReadOnlyList<string>? trainedClasses)
        {
            if (Describe(trained, Tokens, "a vocabulary of {0} tokens", $"token column '{Column}' has {{0}}") is string tokens)
                return tokens;
            if (trainedClasses is not null && Classes is not null)
                return Describe(trainedClasses, Classes, "{0} classes", "the label column has {0}");
            return null;
        }

        private static string? Describe(IReadOnlyList<string> trained, IReadOnlyList<string> current, string trainedText, string currentText)
        {
            int same = 0;
            while (same < Math.Min(trained.Count, current.Count) && trained[same] == current[same])
                same++;
            if (same == trained.Count && same == current.Count)
                return null;
            return $"reads {string.Format(trainedText, trained.Count)}, but {string.Format(currentText, current.Count)}" +
                (same < Math.Min(trained.Count, current.Count) ? $", and they differ first at id {same} ('{trained[same]}' against '{current[same]}')" : "");
        }

        private static void Write(BinaryWriter writer, IReadOnlyList<string> values)
        {
            writer.Write(values.Count);
            foreach (var value in values)
                writer.Write(value);
        }

        private static string[]? Read(BinaryReader reader, string source, long end, string what, bool allowNone = false)
        {
            int count = reader.ReadInt32();
            return allowNone && count == -1 ? null : Transforms.ModelFormat.ReadStrings(reader, count, end, source, what);
        }
    }
}
