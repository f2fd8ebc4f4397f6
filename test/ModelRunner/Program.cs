// Loads a model zip in a fresh process and prints, for each input line, the PredictionEngine output as
// exact text (floats as their bits), so a test can compare it with the outputs of the process that saved it.
// Usage: MlnetLstm.ModelRunner <model.zip> <output kind> <inputs.txt>
// Inputs are one text per line, or for the window kinds one window per line as comma-separated floats.
using System;
using System.IO;
using Microsoft.ML;
using MlnetLstm.ModelRunner;

if (args.Length != 3)
{
    Console.Error.WriteLine("usage: MlnetLstm.ModelRunner <model.zip> <output kind> <inputs.txt>");
    return 2;
}

var ml = new MLContext(seed: 1);
var model = ml.Model.Load(args[0], out var inputSchema);
foreach (var line in Runner.Predict(ml, model, args[1], File.ReadAllLines(args[2]), inputSchema))
    Console.WriteLine(line);
return 0;
