// A separate process for the tests and the soak run. Modes:
//   MlnetLstm.ModelRunner <model.zip> <output kind> <inputs.txt>
//       loads a model zip in a fresh process and prints, for each input line, the PredictionEngine output as exact
//       text (floats as their bits), so a test can compare it with the outputs of the process that saved it. Inputs
//       are one text per line, or for the window kinds one window per line as comma-separated floats;
//   MlnetLstm.ModelRunner train <corpus.txt> <checkpoint> <epochs>
//       trains TinyLanguageModel.Checkpointed on the corpus (one document per line), with a checkpoint after every epoch, and
//       prints "epoch N <training loss bits> <validation loss bits>" as each epoch ends (the kill-and-resume test);
//   MlnetLstm.ModelRunner save <model.zip>
//       trains a character LSTM 1×256 for one epoch on TinyLanguageModel's corpus and saves it (build/publish-scoring-app.sh);
//   MlnetLstm.ModelRunner soak <epochs> <rows> <report.md>
//       trains a language model, scores rows through one PredictionEngine while sampling the process's RSS, and
//       writes the report (build/soak.sh);
//   MlnetLstm.ModelRunner memory <model.zip> <characters> <likelihood|all>
//       scores one long text in a fresh process and prints the peak growth of its resident memory (LongTextMemory).
using System;
using System.IO;
using Microsoft.ML;
using MlnetLstm.ModelRunner;

if (args.Length == 4 && args[0] == "train")
{
    var context = new MLContext(seed: 1);
    var options = TinyLanguageModel.Checkpointed(int.Parse(args[3]), args[2], resume: false,
        epochCompleted: metrics => Console.WriteLine(TinyLanguageModel.FormatEpoch(metrics)));
    TinyLanguageModel.Pipeline(context, options).Fit(TinyLanguageModel.Data(context, File.ReadAllLines(args[1])));
    Console.WriteLine("done");
    return 0;
}
if (args.Length == 2 && args[0] == "save")
{
    var context = new MLContext(seed: 1);
    var data = TinyLanguageModel.Data(context, TinyLanguageModel.Corpus(20_000));
    var trained = TinyLanguageModel.Pipeline(context, TinyLanguageModel.Options(epochs: 1, hiddenSize: 256)).Fit(data);
    context.Model.Save(trained, data.Schema, args[1]);
    Console.WriteLine($"saved {args[1]}");
    return 0;
}
if (args.Length == 4 && args[0] == "soak")
    return Soak.Run(int.Parse(args[1]), int.Parse(args[2]), args[3]);
if (args.Length == 4 && args[0] == "memory")
    return LongTextMemory.Run(args[1], int.Parse(args[2]), args[3]);
if (args.Length != 3)
{
    Console.Error.WriteLine("usage: MlnetLstm.ModelRunner <model.zip> <output kind> <inputs.txt>\n" +
        "       MlnetLstm.ModelRunner train <corpus.txt> <checkpoint> <epochs>\n" +
        "       MlnetLstm.ModelRunner save <model.zip>\n" +
        "       MlnetLstm.ModelRunner soak <epochs> <rows> <report.md>\n" +
        "       MlnetLstm.ModelRunner memory <model.zip> <characters> <likelihood|all>");
    return 2;
}

var ml = new MLContext(seed: 1);
var model = ml.Model.Load(args[0], out var inputSchema);
foreach (var line in Runner.Predict(ml, model, args[1], File.ReadAllLines(args[2]), inputSchema))
    Console.WriteLine(line);
return 0;
