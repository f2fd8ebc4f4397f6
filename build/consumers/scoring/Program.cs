// Scoring <model.zip> <prefix> <expected continuation>: loads a zip trained elsewhere, predicts through a
// PredictionEngine and by streaming, and checks both against the expected continuation and that no torch library
// was mapped into the process. Exits 1 when a check fails.
using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.Transforms;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: Scoring <model.zip> <prefix> <expected continuation>");
    return 2;
}
var ml = new MLContext();
var model = ml.Model.Load(args[0], out _);
using var engine = ml.Model.CreatePredictionEngine<TextRow, Scored>(model);
var scored = engine.Predict(new TextRow { Text = args[1] });
string streamed = string.Concat(model.GenerateTokens(new TextRow { Text = args[1] }));
var torch = File.ReadLines("/proc/self/maps")
    .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(5).FirstOrDefault())
    .Where(path => path is not null && Path.GetFileName(path).Contains("torch", StringComparison.OrdinalIgnoreCase))
    .Distinct().ToList();
Console.WriteLine($"generated: {args[1]}{scored.Generated}");
Console.WriteLine($"perplexity of the prefix {scored.Perplexity:F3}, {scored.BitsPerToken:F3} bits per character");
Console.WriteLine($"torch libraries mapped: {(torch.Count == 0 ? "none" : string.Join(", ", torch))}");
bool ok = scored.Generated == args[2] && streamed == args[2] && torch.Count == 0 && double.IsFinite(scored.Perplexity);
if (!ok)
    Console.Error.WriteLine($"check failed: expected '{args[2]}', got '{scored.Generated}' (streamed '{streamed}'), perplexity {scored.Perplexity}, torch libraries {torch.Count}");
return ok ? 0 : 1;

/// <summary>Input row.</summary>
public sealed class TextRow
{
    /// <summary>The prefix.</summary>
    public string Text { get; set; } = "";
}

/// <summary>The outputs used here.</summary>
public sealed class Scored
{
    /// <summary>The continuation.</summary>
    public string Generated { get; set; } = "";

    /// <summary>Perplexity of the prefix.</summary>
    public double Perplexity { get; set; }

    /// <summary>Bits per character of the prefix.</summary>
    public double BitsPerToken { get; set; }
}
