// Trains without a libtorch backend; prints the innermost exception's message (the consumer test checks it).
using System;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

var ml = new MLContext(seed: 1);
var data = ml.Data.LoadFromEnumerable(new[] { new TextRow { Text = string.Concat(Enumerable.Repeat("hello world. ", 200)) } });
try
{
    ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Append(ml.Transforms.Text.RecurrentLanguageModel(epochs: 1)).Fit(data);
    Console.WriteLine("trained: no error");
    return 1;
}
catch (Exception e)
{
    while (e.InnerException is { } inner && e is not InvalidOperationException)
        e = inner;
    Console.WriteLine($"{e.GetType().Name}: {e.Message}");
    return 0;
}

/// <summary>Input row.</summary>
public sealed class TextRow
{
    /// <summary>A line.</summary>
    public string Text { get; set; } = "";
}
