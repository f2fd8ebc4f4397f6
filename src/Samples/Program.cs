// MlnetLstm samples. With no command: the README main job (a character language model on Moby-Dick).
//   lm        train a character LSTM/GRU/RNN language model, save, reload, generate (default)
//   sine      seed 003: an RNN learns the next value of a sine wave; plots prediction vs truth
//   sunspots  forecast yearly sunspots; compares with naive and seasonal-naive forecasts
//   classify  a recurrent classifier tells English lines (Moby-Dick) from Chinese lines (Song ci)
//   onnx      export the main job's model to ONNX and generate with ONNX Runtime, sampling in C#
using System;
using MlnetLstm.Samples;

string command = args.Length > 0 && !args[0].StartsWith('-') ? args[0] : "lm";
var options = SampleOptions.Parse(command == "lm" && (args.Length == 0 || args[0].StartsWith('-')) ? args : args[1..]);
if (options is null)
    return 2;
switch (command)
{
    case "lm":
        LanguageModelSample.Run(options);
        break;
    case "sine":
        ForecastingSamples.Sine(options);
        break;
    case "sunspots":
        ForecastingSamples.Sunspots(options);
        break;
    case "classify":
        ClassificationSample.Run(options);
        break;
    case "onnx":
        OnnxSample.Run(options);
        break;
    default:
        Console.Error.WriteLine($"Unknown command '{command}': use lm, sine, sunspots, classify or onnx (then --help for options).");
        return 2;
}
return 0;
