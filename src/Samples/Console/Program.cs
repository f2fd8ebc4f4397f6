// MlnetLstm samples (System.CommandLine; --help lists the commands and options). With no command: the README main
// job (a character language model on Moby-Dick).
//   lm        train a character LSTM/GRU/RNN language model, save, reload, generate (default)
//   sine      seed 003: an RNN learns the next value of a sine wave; plots prediction vs truth
//   sunspots  forecast yearly sunspots; compares with naive and seasonal-naive forecasts
//   classify  a recurrent classifier tells English lines (Moby-Dick) from Chinese lines (Song ci)
//   onnx      export the main job's model to ONNX and generate with ONNX Runtime, sampling in C#
using MlnetLstm.Samples;

return SampleOptions.CreateCommand(LanguageModelSample.Run, ForecastingSamples.Sine, ForecastingSamples.Sunspots, ClassificationSample.Run, OnnxSample.Run)
    .Parse(args).Invoke();
