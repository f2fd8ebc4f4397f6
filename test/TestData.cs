using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.ModelRunner;

namespace MlnetLstm.Tests
{
    /// <summary>Small in-memory data sets for the tests.</summary>
    internal static class TestData
    {
        /// <summary>An IDataView with one text column named Text.</summary>
        public static IDataView Texts(MLContext ml, params string[] texts)
            => ml.Data.LoadFromEnumerable(texts.Select(t => new TextRow { Text = t }).ToList());

        /// <summary>An IDataView with one text column named Text.</summary>
        public static IDataView Texts(MLContext ml, IEnumerable<string> texts) => Texts(ml, texts.ToArray());

        /// <summary>A corpus file fetched by build/setup.sh into .cache/corpora (the README test command runs setup first).</summary>
        public static string Corpus(string file)
        {
            for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
                if (File.Exists(Path.Combine(directory.FullName, "MlnetLstm.sln")))
                {
                    string path = Path.Combine(directory.FullName, ".cache", "corpora", file);
                    if (!File.Exists(path))
                        throw new FileNotFoundException($"Corpus file {path} is missing: run build/setup.sh (the README test command does).", path);
                    return path;
                }
            throw new DirectoryNotFoundException("The repository root (with MlnetLstm.sln) is not above the test directory.");
        }

        /// <summary>Yearly sunspot numbers, 1700–2008, from the statsmodels data set.</summary>
        public static (int Year, float Value)[] Sunspots() => File.ReadAllLines(Corpus("sunspots.csv"))
            .Skip(1)
            .Select(line => line.Split(','))
            .Select(f => ((int)double.Parse(f[0].Trim('"'), System.Globalization.CultureInfo.InvariantCulture), float.Parse(f[1].Trim('"'), System.Globalization.CultureInfo.InvariantCulture)))
            .ToArray();
    }
}
