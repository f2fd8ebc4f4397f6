using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace MlnetLstm.Samples
{
    /// <summary>A corpus fetched by build/setup.sh, as documents (rows), and the prefixes to continue.</summary>
    internal sealed record Corpus(string Name, IReadOnlyList<string> Documents, IReadOnlyList<string> Prefixes)
    {
        public static Corpus Load(string name, string cacheDirectory) => name switch
        {
            "moby-dick" => new Corpus(name, Paragraphs(Read(cacheDirectory, "moby-dick.txt")),
                new[] { "Call me ", "The whale ", "Captain Ahab ", "the sea was " }),
            "songci" => new Corpus(name, Paragraphs(Read(cacheDirectory, "songci.txt")),
                new[] { "分开", "不分开", "明月", "春风" }),
            _ => throw new ArgumentException($"Unknown corpus '{name}': use moby-dick or songci."),
        };

        private static string Read(string cacheDirectory, string file)
        {
            string path = Path.Combine(cacheDirectory, file);
            if (!File.Exists(path))
                throw new FileNotFoundException($"Corpus file '{path}' is missing. Run build/setup.sh, which fetches the corpora into {cacheDirectory}.", path);
            return File.ReadAllText(path);
        }

        // Blank-line separated paragraphs (a Moby-Dick paragraph, a Song ci poem) are the documents; lines inside keep their newlines.
        private static List<string> Paragraphs(string text) => text.Replace("\r\n", "\n")
            .Split("\n\n", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .ToList();
    }
}
