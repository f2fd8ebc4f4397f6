using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Writes a fitted recurrent model's weights under PyTorch's names and shapes (the layout is PyTorch's already,
    /// so every value is written as it is), with the manifest beside them.
    /// </summary>
    internal static class PyTorchExporter
    {
        public static IReadOnlyList<string> Export(ITransformer model, string path, PyTorchExportOptions options)
        {
            if (model is null)
                throw new ArgumentNullException(nameof(model));
            if (string.IsNullOrWhiteSpace(path))
                throw new ArgumentException("The export path must name the files to write, without extension (for example \"out/moby\" for out/moby.pth, .safetensors and .json).", nameof(path));
            if (options is null)
                throw new ArgumentNullException(nameof(options));
            if (options.Names is null)
                throw new ArgumentException("Option Names must not be null (new PyTorchParameterNames() for d2l's RNNModel: rnn, linear).", nameof(options));
            var transformers = TransformerChains.Flatten(model).ToList();
            var recurrent = transformers.OfType<RecurrentTransformerBase>().ToList();
            if (recurrent.Count != 1)
                throw new ArgumentException($"The model holds {recurrent.Count} recurrent models (language model, classifier or regressor); export takes a model, or a pipeline, with exactly one.", nameof(model));
            var network = recurrent[0];
            var tokenizer = transformers.TakeWhile(t => !ReferenceEquals(t, network)).LastOrDefault(t => t is VocabularyTokenizingTransformer or BpeTokenizingTransformer);
            var keys = options.Names.Keys(network.Trained.Architecture, nameof(options.Names));
            var weights = network.Trained.Weights;
            var entries = keys.Select(k => new StateDictEntry(k.Key, k.Shape, "F32", weights[k.Name])).ToList();

            string? directory = Path.GetDirectoryName(Path.GetFullPath(path));
            if (directory is not null && !Directory.Exists(directory))
                throw new DirectoryNotFoundException($"The export path '{path}' is in directory '{directory}', which does not exist. Create it first.");
            var written = new List<string>();
            if (options.WriteSafetensors)
            {
                SafetensorsFile.Write(path + ".safetensors", entries, new Dictionary<string, string> { ["format"] = "pt", ["producer"] = PyTorchManifest.Format });
                written.Add(path + ".safetensors");
            }
            if (options.WritePth)
            {
                PthFile.Write(path + ".pth", entries);
                written.Add(path + ".pth");
            }
            PyTorchManifest.Write(path + ".json", network, tokenizer, options.Names, keys);
            written.Add(path + ".json");
            return written;
        }
    }
}
