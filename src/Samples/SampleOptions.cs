using System;
using System.IO;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Samples
{
    /// <summary>Command-line options of the sample.</summary>
    internal sealed record SampleOptions(string Corpus, RecurrentCellKind Cell, int HiddenSize, int Layers, int Epochs, TimeSpan TimeBudget, string OutputDirectory, string CacheDirectory, int Seed)
    {
        private const string Usage = """
            usage: MlnetLstm.Samples [--corpus moby-dick|songci] [--cell lstm|gru|rnn] [--hidden N] [--layers N]
                                     [--epochs N] [--minutes M] [--output DIR] [--cache DIR] [--seed N]
            Defaults: --corpus moby-dick --cell lstm --hidden 256 --layers 1 --epochs 1000 --minutes 6 --output out --cache .cache/corpora --seed 1
            """;

        public static SampleOptions? Parse(string[] args)
        {
            var options = new SampleOptions("moby-dick", RecurrentCellKind.Lstm, 256, 1, 1000, TimeSpan.FromMinutes(6), "out", Path.Combine(".cache", "corpora"), 1);
            for (int i = 0; i < args.Length; i++)
            {
                string Value() => i + 1 < args.Length ? args[++i] : throw new ArgumentException($"Option {args[i]} needs a value.\n{Usage}");
                options = args[i] switch
                {
                    "--corpus" => options with { Corpus = Value() },
                    "--cell" => options with { Cell = Value() switch { "lstm" => RecurrentCellKind.Lstm, "gru" => RecurrentCellKind.Gru, "rnn" => RecurrentCellKind.RnnTanh, var v => throw new ArgumentException($"Unknown cell '{v}'.\n{Usage}") } },
                    "--hidden" => options with { HiddenSize = int.Parse(Value()) },
                    "--layers" => options with { Layers = int.Parse(Value()) },
                    "--epochs" => options with { Epochs = int.Parse(Value()) },
                    "--minutes" => options with { TimeBudget = TimeSpan.FromMinutes(double.Parse(Value(), System.Globalization.CultureInfo.InvariantCulture)) },
                    "--output" => options with { OutputDirectory = Value() },
                    "--cache" => options with { CacheDirectory = Value() },
                    "--seed" => options with { Seed = int.Parse(Value()) },
                    "-h" or "--help" => null,
                    var unknown => throw new ArgumentException($"Unknown option '{unknown}'.\n{Usage}"),
                };
                if (options is null)
                {
                    Console.WriteLine(Usage);
                    return null;
                }
            }
            return options;
        }
    }
}
