using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlnetLstm.ModelRunner;

namespace MlnetLstm.Tests
{
    /// <summary>Small in-memory data sets for the tests, and readers of their columns.</summary>
    internal static class TestData
    {
        /// <summary>An IDataView with one text column named Text.</summary>
        public static IDataView Texts(MLContext ml, params string[] texts) => TinyLanguageModel.Data(ml, texts);

        /// <summary>An IDataView with one text column named Text.</summary>
        public static IDataView Texts(MLContext ml, IEnumerable<string> texts) => TinyLanguageModel.Data(ml, texts);

        /// <summary>A corpus file fetched by build/setup.sh into .cache/corpora (the README test command runs setup first).</summary>
        public static string Corpus(string file)
        {
            string path = Path.Combine(RepositoryRoot, ".cache", "corpora", file);
            if (!File.Exists(path))
                throw new FileNotFoundException($"Corpus file {path} is missing: run build/setup.sh (the README test command does).", path);
            return path;
        }

        /// <summary>A file committed under test/Fixtures.</summary>
        public static string Fixture(string relativePath)
        {
            string path = Path.Combine(RepositoryRoot, "test", "Fixtures", relativePath);
            if (!File.Exists(path))
                throw new FileNotFoundException($"Test fixture {path} is missing.", path);
            return path;
        }

        private static string RepositoryRoot
        {
            get
            {
                for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
                    if (File.Exists(Path.Combine(directory.FullName, "MlnetLstm.sln")))
                        return directory.FullName;
                throw new DirectoryNotFoundException("The repository root (with MlnetLstm.sln) is not above the test directory.");
            }
        }

        /// <summary>Yearly sunspot numbers, 1700–2008, from the statsmodels data set.</summary>
        public static (int Year, float Value)[] Sunspots() => File.ReadAllLines(Corpus("sunspots.csv"))
            .Skip(1)
            .Select(line => line.Split(','))
            .Select(f => ((int)double.Parse(f[0].Trim('"'), System.Globalization.CultureInfo.InvariantCulture), float.Parse(f[1].Trim('"'), System.Globalization.CultureInfo.InvariantCulture)))
            .ToArray();

        /// <summary>The schema shape of a schema, as ML.NET's pipelines pass it to estimators (SchemaShape.Create is internal).</summary>
        public static SchemaShape Shape(DataViewSchema schema)
            => (SchemaShape)typeof(SchemaShape).GetMethod("Create", BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Static, new[] { typeof(DataViewSchema) })!
                .Invoke(null, new object[] { schema })!;

        /// <summary>Every row's value of a vector column (key vectors read as their raw keys, so 0 is "missing").</summary>
        public static List<VBuffer<T>> Vectors<T>(IDataView view, string column)
        {
            var col = view.Schema[column];
            var rows = new List<VBuffer<T>>();
            using var cursor = view.GetRowCursor(new[] { col });
            var getter = cursor.GetGetter<VBuffer<T>>(col);
            VBuffer<T> value = default;
            while (cursor.MoveNext())
            {
                getter(ref value);
                VBuffer<T> copy = default;
                value.CopyTo(ref copy);
                rows.Add(copy);
            }
            return rows;
        }

        /// <summary>Every row's token keys.</summary>
        public static List<uint[]> Keys(IDataView view, string column = "Tokens")
            => Vectors<uint>(view, column).Select(v => v.DenseValues().ToArray()).ToList();

        /// <summary>The text values of a vector-of-text annotation of a column.</summary>
        public static string[] TextVectorAnnotation(DataViewSchema.Column column, string kind)
        {
            VBuffer<ReadOnlyMemory<char>> values = default;
            column.Annotations.GetValue(kind, ref values);
            return values.DenseValues().Select(v => v.ToString()).ToArray();
        }

        /// <summary>A text annotation of a column.</summary>
        public static string TextAnnotation(DataViewSchema.Column column, string kind)
        {
            ReadOnlyMemory<char> value = default;
            column.Annotations.GetValue(kind, ref value);
            return value.ToString();
        }

        /// <summary>
        /// The characters of <paramref name="text"/> as Unicode scalar values, each as a string (a surrogate pair is
        /// one string of two chars). Written out by hand, for expected values independent of the code under test.
        /// </summary>
        public static List<string> CodePoints(string text)
        {
            var result = new List<string>();
            for (int i = 0; i < text.Length; i++)
            {
                if (char.IsHighSurrogate(text[i]) && i + 1 < text.Length && char.IsLowSurrogate(text[i + 1]))
                {
                    result.Add(text.Substring(i, 2));
                    i++;
                }
                else if (char.IsSurrogate(text[i]))
                    result.Add("\uFFFD");
                else
                    result.Add(text[i].ToString());
            }
            return result;
        }

        /// <summary>A fresh empty directory under the temp folder, for one test's files; <paramref name="name"/> starts its name.</summary>
        public static string TempDirectory(string name = "test")
        {
            var path = Path.Combine(Path.GetTempPath(), "mlnetlstm-tests", $"{name}-{Guid.NewGuid():N}");
            Directory.CreateDirectory(path);
            return path;
        }
    }
}
