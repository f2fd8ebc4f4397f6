// A scoring-only app: MlnetLstm.ScoringRunner <model.zip> <output kind> <inputs.txt>
// Prints, for each input line, the PredictionEngine output as exact text (see ModelRunner's Runner), then a line
// "torch libraries mapped: ..." listing every mapped file of this process whose name mentions torch ("none").
using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using MlnetLstm.ModelRunner;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: MlnetLstm.ScoringRunner <model.zip> <output kind> <inputs.txt>");
    return 2;
}
var ml = new MLContext(seed: 1);
var model = ml.Model.Load(args[0], out var inputSchema);
foreach (var line in Runner.Predict(ml, model, args[1], File.ReadAllLines(args[2]), inputSchema))
    Console.WriteLine(line);
var torch = File.ReadLines("/proc/self/maps")
    .Select(line => line.Split(' ', StringSplitOptions.RemoveEmptyEntries).Skip(5).FirstOrDefault())
    .Where(path => path is not null && Path.GetFileName(path).Contains("torch", StringComparison.OrdinalIgnoreCase))
    .Distinct()
    .ToList();
Console.WriteLine($"torch libraries mapped: {(torch.Count == 0 ? "none" : string.Join(", ", torch))}");
return 0;
