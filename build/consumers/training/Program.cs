// Training <model.zip>: trains a small character language model, saves it atomically, and checks what it generates.
// Prints "generated: <prefix><continuation>" and exits 1 when a check fails.
using System;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

if (args.Length != 1)
{
    Console.Error.WriteLine("usage: Training <model.zip>");
    return 2;
}
string[] lines = { "the cat sat on the mat.", "the dog sat on the log.", "a bird sang in the tree." };
var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromEnumerable(Enumerable.Repeat(lines, 30).SelectMany(l => l).Select(t => new TextRow { Text = t }).ToList());
var options = new RecurrentLanguageModelTrainer.Options
{
    HiddenSize = 64, Epochs = 40, SequenceLength = 16, BatchSize = 16, Optimizer = Optimizer.Adam, LearningRate = 0.01,
    Seed = 1, NumberOfThreads = 1, Generation = new GenerationOptions { MaximumNewTokens = 40 },
};
var model = ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Append(ml.Transforms.Text.RecurrentLanguageModel(options)).Fit(data);
ml.Model.SaveAtomically(model, data.Schema, args[0]);

using var engine = ml.Model.CreatePredictionEngine<TextRow, Generation>(model);
const string prefix = "the dog ";
var prediction = engine.Predict(new TextRow { Text = prefix });
string streamed = string.Concat(model.GenerateTokens(new TextRow { Text = prefix }));
var last = model.LastTransformer.TrainingHistory[^1];
Console.WriteLine($"epochs {model.LastTransformer.TrainingHistory.Count}, final training perplexity {last.TrainingPerplexity:F3}");
Console.WriteLine($"generated: {prefix}{prediction.Generated}");
int failures = 0;
void Check(bool ok, string what)
{
    if (!ok)
    {
        Console.Error.WriteLine($"check failed: {what}");
        failures++;
    }
}
Check(prediction.Generated == "sat on the log.", $"the continuation of '{prefix}' is '{prediction.Generated}', expected 'sat on the log.'");
Check(streamed == prediction.Generated, $"GenerateTokens streamed '{streamed}', the Generated column is '{prediction.Generated}'");
Check(last.TrainingPerplexity < 2, $"final training perplexity {last.TrainingPerplexity} is not below 2");
return failures == 0 ? 0 : 1;

/// <summary>Input row.</summary>
public sealed class TextRow
{
    /// <summary>A line (training) or a prefix (scoring).</summary>
    public string Text { get; set; } = "";
}

/// <summary>The output used here.</summary>
public sealed class Generation
{
    /// <summary>The continuation.</summary>
    public string Generated { get; set; } = "";
}
