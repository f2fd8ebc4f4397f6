using System;
using System.Collections.Generic;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Benchmarks
{
    /// <summary>
    /// The recipe study behind the language model's defaults (build/recipe.sh → docs/recipe.md): candidate recipes
    /// trained for the same wall-clock budget on a corpus's paragraphs, validated on the last 10% of them, against the
    /// hand-written TorchSharp loop. Each fitted model is saved, reloaded in a fresh MLContext and scored through a
    /// PredictionEngine one validation paragraph at a time, as users score.
    /// </summary>
    internal static class RecipeStudy
    {
        /// <summary>
        /// A candidate: its name, what it sets, and its options for a budget (null: the hand-written loop); with
        /// <paramref name="OnlyBudget"/>, measured at that budget alone (where another row already is the other); with
        /// <paramref name="Threads"/>, at that TorchSharp thread count (the library's NumberOfThreads, or the hand-written loop's);
        /// with <paramref name="BpeVocabularySize"/>, on a BPE vocabulary of that size learned from the training paragraphs
        /// (TokenizeWithLearnedBpe) instead of characters.
        /// </summary>
        public sealed record Candidate(string Name, string Sets, Func<TimeSpan, RecurrentLanguageModelTrainer.Options>? Options, double? OnlyBudget = null, int? Threads = null,
            int? BpeVocabularySize = null)
        {
            public bool MeasuredAt(TimeSpan budget) => OnlyBudget is not double only || only == budget.TotalSeconds;
        }

        /// <summary>One measurement. Bits are per character; the held-out figure is for Moby-Dick models only.</summary>
        /// <remarks>Saved as JSON beside docs/recipe.md, so that the report can be written again from the measurements (<c>--report</c>).</remarks>
        public sealed record Result(string Corpus, string Candidate, string Sets, TimeSpan Budget, double DocumentBits, double StreamBits, double? HeldOutBits,
            double TokensPerSecond, long Parameters, int Epochs, Machine.Sample Before, Machine.Sample After, string Settings);

        /// <summary>The hand-written loop of the issue that asked for this study: nn.LSTM 1×256 on dense one-hot, Adam 2e-3 constant, T = 64, B = 32, clip 1.</summary>
        public static readonly Candidate HandWritten = new("hand-written TorchSharp loop", "nn.LSTM 1×256, dense one-hot, Adam 2e-3 constant, T 64, B 32, clip 1", null);

        /// <summary>Only TimeBudget set: what a user gets who sets nothing else.</summary>
        public static readonly Candidate Defaults = new("defaults", "only TimeBudget", budget => new() { TimeBudget = budget });

        /// <summary>Dive into Deep Learning's recipe, the library's defaults before this study.</summary>
        public static readonly Candidate Seeds = new("Dive into Deep Learning preset", "SGD 1 constant, T 35, B 32, 1×256, clip 1",
            budget => Preset(RecurrentLanguageModelTrainer.Options.DiveIntoDeepLearning(), budget));

        /// <summary>The README sample's hand-tuned recipe before this study.</summary>
        public static readonly Candidate SampleRecipe = new("former sample recipe", "Adam 2e-3 cosine, T 64, B 32, 1×256, clip 1",
            budget => Adam(budget, 256, 1, 32, 0.002));

        /// <summary>The defaults at one thread: a machine half as fast as the study's (docs/recipe.md, the table by thread count).</summary>
        public static readonly Candidate DefaultsOneThread = new("defaults, 1 thread", "only TimeBudget and NumberOfThreads 1", budget => new() { TimeBudget = budget, NumberOfThreads = 1 },
            OnlyBudget: 300, Threads: 1);

        /// <summary>The hand-written loop at one thread, beside <see cref="DefaultsOneThread"/>.</summary>
        public static readonly Candidate HandWrittenOneThread = HandWritten with { Name = "hand-written loop, 1 thread", Sets = HandWritten.Sets + ", 1 TorchSharp thread", OnlyBudget = 300, Threads = 1 };

        /// <summary>Every candidate, in the order of the table (the defaults choose 1×256 or 1×512 from what the budget buys).</summary>
        public static IReadOnlyList<Candidate> Candidates { get; } = new[]
        {
            Defaults,
            Seeds,
            SampleRecipe,
            HandWritten,
            DefaultsOneThread,
            HandWrittenOneThread,
            new Candidate("1×256", "Adam 5e-3 cosine, T 32, B 32, 1×256, clip 1: the defaults' smaller size", b => Adam(b, 256, 1, 32, 0.005, steps: 32), OnlyBudget: 300),
            new Candidate("1×512", "Adam 5e-3 cosine, T 32, B 32, 1×512, clip 1: the defaults' larger size", b => Adam(b, 512, 1, 32, 0.005, steps: 32), OnlyBudget: 60),
            new Candidate("defaults at 3e-3", "only TimeBudget and LearningRate 0.003", b => new() { TimeBudget = b, LearningRate = 0.003 }),
            new Candidate("2×256", "Adam 3e-3 cosine, T 32, B 32, 2×256, dropout 0.1, clip 1", b => Adam(b, 256, 2, 32, 0.003, dropout: 0.1f, steps: 32)),
        };

        /// <summary>The defaults (only TimeBudget) on learned BPE subwords of <paramref name="size"/> tokens.</summary>
        private static Candidate Bpe(int size) => new($"defaults on learned BPE {size}", $"only TimeBudget; TokenizeWithLearnedBpe, vocabulary {size}",
            budget => new() { TimeBudget = budget }, BpeVocabularySize: size);

        /// <summary>
        /// The subword rows: Moby-Dick has 83 characters, so a few hundred to a thousand subwords; Song ci has about 4,300,
        /// so its sizes start above its alphabet (a smaller one would leave its rarer characters unknown, which is cheap to
        /// predict and would flatter the figure).
        /// </summary>
        public static IReadOnlyList<Candidate> BpeCandidates(string corpus) => corpus == "moby-dick"
            ? new[] { Bpe(256), Bpe(512), Bpe(1024) }
            : new[] { Bpe(5000), Bpe(6000), Bpe(8000) };

        /// <summary>The runs in the order they are measured: Moby-Dick's candidates, then Song ci's.</summary>
        public static IEnumerable<(string Corpus, Candidate Candidate)> Plan(IReadOnlyList<string> corpora)
            => corpora.SelectMany(corpus => CandidatesFor(corpus).Select(candidate => (corpus, candidate)));

        /// <summary>The candidates measured on a corpus: all of them on Moby-Dick; on Song ci the defaults and the recipes they are compared with.</summary>
        public static IEnumerable<Candidate> CandidatesFor(string corpus) => (corpus == "moby-dick"
            ? Candidates
            : new[] { Defaults, Seeds, HandWritten }).Concat(BpeCandidates(corpus));

        private static RecurrentLanguageModelTrainer.Options Adam(TimeSpan budget, int hidden, int layers, int batch, double rate, float dropout = 0, double weightDecay = 0, int steps = 64) => new()
        {
            TimeBudget = budget,
            HiddenSize = hidden,
            Layers = layers,
            Dropout = dropout,
            BatchSize = batch,
            SequenceLength = steps,
            Optimizer = weightDecay > 0 ? Optimizer.AdamW : Optimizer.Adam,
            WeightDecay = weightDecay,
            LearningRate = rate,
            LearningRateSchedule = LearningRateSchedule.Cosine,
            GradientClippingNorm = 1,
        };

        private static RecurrentLanguageModelTrainer.Options Preset(RecurrentLanguageModelTrainer.Options options, TimeSpan budget)
        {
            options.TimeBudget = budget;
            options.Epochs = null;
            return options;
        }

        /// <summary>Trains <paramref name="candidate"/> on the first 90% of the corpus's paragraphs for <paramref name="budget"/> and measures it.</summary>
        public static Result Run(string corpus, Candidate candidate, TimeSpan budget, IReadOnlyList<string>? heldOut)
        {
            var documents = Corpora.Paragraphs(Corpora.Read(corpus));
            int split = (int)(documents.Count * 0.9);
            var train = documents.Take(split).ToList();
            var validation = documents.Skip(split).ToList();
            var ml = new MLContext(seed: 1);
            var trainData = ml.Data.LoadFromEnumerable(train.Select(t => new Corpora.Row { Text = t }));
            var characters = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(trainData);
            var bpe = candidate.BpeVocabularySize is int size ? ml.Transforms.Text.TokenizeWithLearnedBpe("Tokens", "Text", size).Fit(trainData) : null;
            ITransformer tokenizer = bpe is null ? characters : bpe;
            Func<string, int> tokens = bpe is null ? t => characters.Vocabulary.Encode(t).Length : t => bpe.Vocabulary.Encode(t, out _).Length;
            // Held-out paragraphs with a character the training text lacks (Roosevelt's straight quotes) would measure
            // how little probability a model leaves for <unk>, which it never saw: only the others are scored.
            heldOut = heldOut?.Where(p => { characters.Vocabulary.Encode(p, out int unknown); return unknown == 0; }).ToList();
            var before = Machine.Sample.Take();
            int threads = TorchSharp.torch.get_num_threads();
            Measured result;
            try
            {
                if (candidate.Threads is int count)
                    TorchSharp.torch.set_num_threads(count);
                result = candidate.Options is null
                    ? RunHandWritten(characters.Vocabulary, train, validation, budget, heldOut)
                    : RunLibrary(ml, tokenizer, tokens, trainData, candidate.Options(budget), validation, heldOut);
            }
            finally
            {
                TorchSharp.torch.set_num_threads(threads);
            }
            var after = Machine.Sample.Take();
            return new Result(corpus, candidate.Name, candidate.Sets, budget, result.DocumentBits, result.StreamBits, result.HeldOutBits, result.TokensPerSecond, result.Parameters, result.Epochs,
                before, after, result.Settings);
        }

        private sealed record Measured(double DocumentBits, double StreamBits, double? HeldOutBits, double TokensPerSecond, long Parameters, int Epochs, string Settings);

        /// <summary>Trains and scores a library candidate; <paramref name="tokens"/> counts a text's tokens, for the stream figure per character.</summary>
        private static Measured RunLibrary(MLContext ml, ITransformer tokenizer, Func<string, int> tokens, IDataView trainData, RecurrentLanguageModelTrainer.Options options,
            IReadOnlyList<string> validation, IReadOnlyList<string>? heldOut)
        {
            options.Seed = 1;
            options.ValidationData = tokenizer.Transform(ml.Data.LoadFromEnumerable(validation.Select(t => new Corpora.Row { Text = t })));
            options.GeneratedColumnName = null; // scoring measures likelihood only
            var languageModel = ml.Transforms.Text.RecurrentLanguageModel(options).Fit(tokenizer.Transform(trainData));
            var model = new TransformerChain<ITransformer>(tokenizer, languageModel);
            string zip = Path.Combine(Path.GetTempPath(), $"mlnetlstm-recipe-{Environment.ProcessId}.zip");
            ml.Model.Save(model, trainData.Schema, zip);
            var history = languageModel.TrainingHistory;
            try
            {
                // A fresh context loads the zip and scores every paragraph on its own, from the zero state, as users do.
                var production = new MLContext();
                var loaded = production.Model.Load(zip, out _);
                using var engine = production.Model.CreatePredictionEngine<Corpora.Row, Likelihood>(loaded);
                // Bits per character (Unicode scalar value) of the original text, whatever the tokens: character and subword rows compare.
                double Bits(IReadOnlyList<string> texts)
                {
                    double nats = 0;
                    long characters = 0;
                    foreach (var text in texts)
                    {
                        nats -= engine.Predict(new Corpora.Row { Text = text }).LogLikelihood;
                        characters += text.EnumerateRunes().Count();
                    }
                    return nats / characters / Math.Log(2);
                }
                // The last epoch's validation may be a prefix without the stream loss (the budget ended during it): the last one with it.
                // The stream loss is per token; tokens per character of the validation paragraphs turn it into bits per character.
                double stream = history.LastOrDefault(h => h.ValidationStreamLoss is not null)?.ValidationStreamLoss ?? double.NaN;
                double tokensPerCharacter = validation.Sum(t => (double)tokens(t)) / validation.Sum(t => t.EnumerateRunes().Count());
                return new Measured(Bits(validation), stream * tokensPerCharacter / Math.Log(2), heldOut is null ? null : Bits(heldOut),
                    Median(history.Select(h => h.ItemsPerSecond)), languageModel.ParameterCount, history.Count,
                    string.Join("; ", languageModel.TrainingSettings.Select(s => $"{s.Key} {s.Value}")));
            }
            finally
            {
                File.Delete(zip);
            }
        }

        private static Measured RunHandWritten(Vocabulary vocabulary, IReadOnlyList<string> train, IReadOnlyList<string> validation, TimeSpan budget,
            IReadOnlyList<string>? heldOut)
        {
            // The same stream the library trains on: documents joined by the end-of-text token.
            long endOfText = vocabulary.Tokens.ToList().IndexOf("<eos>");
            long[] Encode(string text) => vocabulary.Encode(text).Select(i => (long)i).ToArray();
            long[] Stream(IEnumerable<string> texts) => texts.SelectMany(t => Encode(t).Append(endOfText)).ToArray();
            var stream = Stream(train);
            using var loop = new HandWrittenLoop(vocabulary.Count, 256, 1, lstm: true, learningRate: 0.002, seed: 1, adam: true);
            var clock = Stopwatch.StartNew();
            var rates = new List<double>();
            long batches = 0;
            while (clock.Elapsed < budget)
            {
                rates.Add(loop.Train(stream, 64, 32, 20, 0, batches).TokensPerSecond);
                batches += 20;
            }
            long perEpoch = (stream.Length - 1) / 32 / 64;
            double document = loop.EvaluateDocuments(validation.Select(Encode), endOfText) / Math.Log(2);
            double streamBits = loop.Evaluate(Stream(validation), 64) / Math.Log(2);
            double? heldOutBits = heldOut is null ? null : loop.EvaluateDocuments(heldOut.Select(Encode), endOfText) / Math.Log(2);
            long parameters = 4L * 256 * (vocabulary.Count + 256 + 2) + 257L * vocabulary.Count;
            return new Measured(document, streamBits, heldOutBits, Median(rates), parameters, (int)Math.Ceiling((double)batches / perEpoch), "");
        }

        private static double Median(IEnumerable<double> values)
        {
            var sorted = values.OrderBy(v => v).ToArray();
            return sorted.Length == 0 ? double.NaN : sorted[sorted.Length / 2];
        }

        private sealed class Likelihood
        {
            public double LogLikelihood { get; set; }
        }
    }
}
