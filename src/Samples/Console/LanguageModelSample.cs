using System;
using System.Diagnostics;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace MlnetLstm.Samples
{
    /// <summary>
    /// The README main job: train a character language model (or, with --tokenizer bpe, a subword one) on a real corpus
    /// through an ML.NET pipeline (tokenizer → recurrent language model), plot its perplexity, save the model zip,
    /// reload it as a production app would, and generate from a few prefixes through PredictionEngine.
    /// </summary>
    internal static class LanguageModelSample
    {
        /// <summary>
        /// The trainer's defaults (docs/recipe.md says how they were chosen) with the time budget; only what the command
        /// line sets besides it is set here.
        /// </summary>
        private static RecurrentLanguageModelTrainer.Options Options(SampleOptions options)
        {
            var trainer = new RecurrentLanguageModelTrainer.Options
            {
                Cell = options.Cell,
                TimeBudget = options.TimeBudget,
                Epochs = options.Epochs,
                Generation = new GenerationOptions { MaximumNewTokens = 200 },
            };
            if (options.HiddenSize is int hidden)
                trainer.HiddenSize = hidden;
            if (options.Layers is int layers)
                trainer.Layers = layers;
            return trainer;
        }

        public static void Run(SampleOptions options)
        {
            var corpus = Corpus.Load(options.Corpus, options.CacheDirectory);
            Directory.CreateDirectory(options.OutputDirectory);
            string stem = Path.Combine(options.OutputDirectory, $"{corpus.Name}-{(options.Bpe ? "bpe-" : "")}{options.Cell.ToString().ToLowerInvariant()}");
            Console.WriteLine($"Corpus {corpus.Name}: {corpus.Documents.Count:N0} documents, {corpus.Documents.Sum(d => d.Length):N0} UTF-16 characters.");

            var ml = new MLContext(seed: options.Seed);
            ProgressBar.ShowTrainingLog(ml);
            var data = ml.Data.LoadFromEnumerable(corpus.Documents.Select(d => new TextRow { Text = d }));
            int vocabularySize = options.VocabularySize ?? (corpus.Name == "songci" ? 6000 : 512);
            IEstimator<ITransformer> tokenizer = options.Bpe
                ? ml.Transforms.Text.TokenizeWithLearnedBpe("Tokens", "Text", vocabularySize)
                : ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text");
            var pipeline = tokenizer.Append(ml.Transforms.Text.RecurrentLanguageModel(Options(options)));
            string unit = options.Bpe ? $"learned BPE {vocabularySize}" : "character";

            var clock = Stopwatch.StartNew();
            using (new ProgressBar(options.TimeBudget))
            {
                var model = pipeline.Fit(data);
                Console.WriteLine($"Trained in {clock.Elapsed.TotalSeconds:F0} s.");
                var history = model.LastTransformer.TrainingHistory;
                var settings = model.LastTransformer.TrainingSettings;
                PerplexityPlot.Write(history, $"{corpus.Name}: {unit} {options.Cell}, {settings["Layers"]}×{settings["HiddenSize"].Split(' ')[0]}", stem + "-perplexity.png");
                ml.Model.Save(model, data.Schema, stem + ".zip");
                var last = history[^1];
                // Bits per token are bits per character for a character model; a subword model's tokens cover several
                // characters: its figures are divided by the corpus's characters per subword (an estimate, since the
                // validation paragraphs are the trainer's choice).
                double charactersPerToken = model.Take(1).Single() is BpeTokenizingTransformer bpe
                    ? corpus.Documents.Sum(d => (double)d.EnumerateRunes().Count()) / corpus.Documents.Sum(d => bpe.Vocabulary.Encode(d, out _).Length)
                    : 1;
                string bits = charactersPerToken == 1
                    ? $"{last.ValidationBitsPerToken:F3} bits per character"
                    : $"{last.ValidationBitsPerToken:F3} bits per subword, about {last.ValidationBitsPerToken / charactersPerToken:F3} bits per character at the corpus's {charactersPerToken:F2} characters per subword";
                // The last epoch's validation leaves the stream out when the time budget ends during it.
                var streamed = history.LastOrDefault(m => m.ValidationStreamLoss is not null);
                string stream = streamed is null ? "no stream figure" : $"{streamed.ValidationStreamLoss / Math.Log(2) / charactersPerToken:F3} bits per character as one stream after epoch {streamed.Epoch}";
                Console.WriteLine($"Final validation: {bits}, each paragraph scored on its own as PredictionEngine scores it " +
                    $"({stream}; perplexity {last.ValidationPerplexity:F3}); " +
                    $"training throughput {last.ItemsPerSecond:N0} tokens/s. Wrote {stem}.zip and {stem}-perplexity.png.");
            }

            // A production app: a fresh MLContext loads the zip and scores through PredictionEngine.
            var production = new MLContext();
            var loaded = production.Model.Load(stem + ".zip", out _);
            using var engine = production.Model.CreatePredictionEngine<TextRow, Generation>(loaded);
            foreach (var prefix in corpus.Prefixes)
            {
                var prediction = engine.Predict(new TextRow { Text = prefix });
                Console.WriteLine($"\n[{prefix}] (greedy, perplexity of the prefix {prediction.Perplexity:F2})\n{prefix}{prediction.Generated}");
            }
            var sampling = loaded.WithGeneration(g => g with { Greedy = false, Temperature = 0.8f, TopP = 0.95f, Seed = 7 });
            using var sampler = production.Model.CreatePredictionEngine<TextRow, Generation>(sampling);
            Console.WriteLine($"\n[{corpus.Prefixes[0]}] (sampled: temperature 0.8, top-p 0.95, seed 7)\n{corpus.Prefixes[0]}{sampler.Predict(new TextRow { Text = corpus.Prefixes[0] }).Generated}");
        }
    }

    /// <summary>Input row of the pipeline.</summary>
    public sealed class TextRow
    {
        /// <summary>A document (training) or a prefix (scoring).</summary>
        public string Text { get; set; } = "";
    }

    /// <summary>The language model's outputs used here.</summary>
    public sealed class Generation
    {
        /// <summary>Continuation of the prefix.</summary>
        public string Generated { get; set; } = "";

        /// <summary>Perplexity of the prefix under the model.</summary>
        public double Perplexity { get; set; }
    }
}
