using System;
using System.CommandLine;
using System.IO;
using MlnetLstm.Transforms;

namespace MlnetLstm.Samples
{
    /// <summary>Command-line options of the samples, parsed with System.CommandLine.</summary>
    internal sealed record SampleOptions(string Corpus, RecurrentCell Cell, int? HiddenSize, int? Layers, int? Epochs, TimeSpan TimeBudget, string OutputDirectory, string CacheDirectory, int Seed,
        bool Bpe, int? VocabularySize)
    {
        private static readonly Option<string> CorpusOption = new("--corpus")
        {
            Description = "The language model's corpus: moby-dick (English) or songci (Song dynasty ci poems, Chinese)",
            DefaultValueFactory = _ => "moby-dick",
            Recursive = true,
        };

        private static readonly Option<string> CellOption = new("--cell")
        {
            Description = "The recurrent cell: lstm, gru or rnn",
            DefaultValueFactory = _ => "lstm",
            Recursive = true,
        };

        private static readonly Option<string> TokenizerOption = new("--tokenizer")
        {
            Description = "The language model's tokens: character (the default) or bpe (subwords learned from the corpus, TokenizeWithLearnedBpe)",
            DefaultValueFactory = _ => "character",
            Recursive = true,
        };

        private static readonly Option<int?> VocabularyOption = Positive("--vocabulary",
            "With --tokenizer bpe: the subword vocabulary size (default 512 for moby-dick, 6000 for songci, above its 4,300 characters)");
        private static readonly Option<int?> HiddenOption = Positive("--hidden", "Hidden units per layer (language model; default: the trainer's)");
        private static readonly Option<int?> LayersOption = Positive("--layers", "Recurrent layers (language model; default: the trainer's)");
        private static readonly Option<int?> EpochsOption = Positive("--epochs", "Most passes over the data (language model; default: as many as the time budget allows)");

        private static readonly Option<double> MinutesOption = new("--minutes")
        {
            Description = "Training time budget in minutes (language model)",
            DefaultValueFactory = _ => 5,
            Recursive = true,
        };

        private static readonly Option<string> OutputOption = new("--output")
        {
            Description = "Folder for the model zips and plots",
            DefaultValueFactory = _ => "out",
            Recursive = true,
        };

        private static readonly Option<string> CacheOption = new("--cache")
        {
            Description = "Folder of the corpora fetched by build/setup.sh",
            DefaultValueFactory = _ => Path.Combine(".cache", "corpora"),
            Recursive = true,
        };

        private static readonly Option<int> SeedOption = new("--seed")
        {
            Description = "Random seed",
            DefaultValueFactory = _ => 1,
            Recursive = true,
        };

        static SampleOptions()
        {
            CorpusOption.AcceptOnlyFromAmong("moby-dick", "songci");
            CellOption.AcceptOnlyFromAmong("lstm", "gru", "rnn");
            TokenizerOption.AcceptOnlyFromAmong("character", "bpe");
            MinutesOption.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<double>() is not (> 0 and <= 10_000))
                    result.AddError("--minutes must be more than 0 (and at most 10,000).");
            });
        }

        private static Option<int?> Positive(string name, string description)
        {
            var option = new Option<int?>(name) { Description = description, Recursive = true };
            option.Validators.Add(result =>
            {
                if (result.GetValueOrDefault<int?>() < 1)
                    result.AddError($"{name} must be at least 1.");
            });
            return option;
        }

        /// <summary>
        /// The command line: with no command, the README main job (the language model); the commands sine, sunspots,
        /// classify and lm run one sample each. Every option is accepted by every command; --help lists them all.
        /// </summary>
        public static RootCommand CreateCommand(Action<SampleOptions> languageModel, Action<SampleOptions> sine, Action<SampleOptions> sunspots, Action<SampleOptions> classify,
            Action<SampleOptions> onnx)
        {
            var root = new RootCommand("MlnetLstm samples. With no command: the README main job, a character language model trained on a corpus, saved, reloaded and continued from prefixes.");
            foreach (var option in new Option[] { CorpusOption, CellOption, TokenizerOption, VocabularyOption, HiddenOption, LayersOption, EpochsOption, MinutesOption, OutputOption, CacheOption, SeedOption })
                root.Options.Add(option);
            root.SetAction(result => languageModel(From(result)));
            void Add(string name, string description, Action<SampleOptions> run)
            {
                var command = new Command(name, description);
                command.SetAction(result => run(From(result)));
                root.Subcommands.Add(command);
            }
            Add("lm", "The language model (the default): train on --corpus, save, reload, generate", languageModel);
            Add("sine", "Seed 003: an RNN learns the next value of a sine wave; plots prediction against truth", sine);
            Add("sunspots", "Forecast yearly sunspots; compares with naive and 11-year seasonal-naive forecasts", sunspots);
            Add("classify", "A bidirectional recurrent classifier tells English text (Moby-Dick) from Chinese text (Song ci)", classify);
            Add("onnx", "Export the main job's model to ONNX and generate with ONNX Runtime, sampling in C#", onnx);
            return root;
        }

        private static SampleOptions From(ParseResult result) => new(
            result.GetValue(CorpusOption)!,
            result.GetValue(CellOption) switch { "gru" => RecurrentCell.Gru, "rnn" => RecurrentCell.RnnTanh, _ => RecurrentCell.Lstm },
            result.GetValue(HiddenOption),
            result.GetValue(LayersOption),
            result.GetValue(EpochsOption),
            TimeSpan.FromMinutes(result.GetValue(MinutesOption)),
            result.GetValue(OutputOption)!,
            result.GetValue(CacheOption)!,
            result.GetValue(SeedOption),
            result.GetValue(TokenizerOption) == "bpe",
            result.GetValue(VocabularyOption));
    }
}
