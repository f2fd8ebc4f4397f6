using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Benchmarks
{
    /// <summary>The corpora fetched by build/setup.sh, as text and as token-id streams.</summary>
    internal static class Corpora
    {
        public static string CacheDirectory { get; set; } = Path.Combine(".cache", "corpora");

        public static string Read(string name) => File.ReadAllText(Path.Combine(CacheDirectory, name switch
        {
            "moby-dick" => "moby-dick.txt",
            "songci" => "songci.txt",
            "fdr-state-of-the-union" => "fdr-state-of-the-union.txt",
            _ => throw new ArgumentException($"Unknown corpus {name}."),
        })).Replace("\r\n", "\n");

        /// <summary>Blank-line separated paragraphs (a Moby-Dick paragraph, a Song ci poem), as the README sample reads them.</summary>
        public static List<string> Paragraphs(string text) => text.Replace("\r\n", "\n")
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToList();

        /// <summary>The text as one document's token ids, with the vocabulary our tokenizer learns from it.</summary>
        public static (long[] Ids, Vocabulary Vocabulary) Tokenize(MLContext ml, string text)
        {
            var data = ml.Data.LoadFromEnumerable(new[] { new Row { Text = text } });
            var tokenizer = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(data);
            var ids = tokenizer.Vocabulary.Encode(text).Select(i => (long)i).ToArray();
            return (ids, tokenizer.Vocabulary);
        }

        /// <summary>The training row class of the benchmarks.</summary>
        public sealed class Row
        {
            public string Text { get; set; } = "";
        }
    }
}
