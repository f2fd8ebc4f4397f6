using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text.Json;
using Microsoft.ML;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The JSON written beside exported weights: what a state_dict cannot say, so that a PyTorch script can build the
    /// module that loads it (build/pytorch-score.py reads it) — the architecture, the keys, and the vocabulary, the
    /// classes or the scaling.
    /// </summary>
    internal static class PyTorchManifest
    {
        public const string Format = "MlnetLstm PyTorch export 1";

        // *** JSON format ***
        // { "format": "MlnetLstm PyTorch export 1",
        //   "task": "language-model" | "classification" | "regression",
        //   "cell": "LSTM" | "GRU" | "RNN_TANH" | "RNN_RELU", "input": "one-hot" | "embedding" | "features",
        //   "input_size", "embedding_size", "hidden_size", "num_layers": ints, "bidirectional": bool, "output_size": int,
        //   "names": { "rnn": "<module>", "head": "<module>", "embedding": "<module>" },
        //   "keys": { "<state_dict key>": [shape…], … } (in state_dict order),
        //   language model and classifier: "vocabulary": { "tokens": [...], "level": "character" | "word" | "bpe", "separator": "",
        //     "unknown": "<unk>" | null, "case_folding": bool, for "bpe" "merges": [["left", "right"], …] (in the order they
        //     apply, within runs of letters, digits or other symbols and single white-space characters: BpeVocabulary),
        //     and for a language model "end_of_text": "<eos>" },
        //   classifier: "classes": [...], "pooling": "last" | "mean" | "max",
        //   regressor: "window_length", "features_per_step", "feature_mean", "feature_std", "label_mean", "label_std" }
        // tokenizer: the pipeline's tokenizer before the model (a VocabularyTokenizingTransformer or BpeTokenizingTransformer), or null.
        public static void Write(string path, RecurrentTransformerBase model, ITransformer? tokenizer, PyTorchParameterNames names,
            IReadOnlyList<(string Name, string Key, long[] Shape)> keys)
        {
            var a = model.Trained.Architecture;
            using var file = File.Create(path);
            using var json = new Utf8JsonWriter(file, new JsonWriterOptions { Indented = true });
            json.WriteStartObject();
            json.WriteString("format", Format);
            json.WriteString("task", model switch
            {
                RecurrentLanguageModelTransformer => "language-model",
                RecurrentClassificationTransformer => "classification",
                _ => "regression",
            });
            json.WriteString("cell", a.Cell switch
            {
                RecurrentCell.Lstm => "LSTM",
                RecurrentCell.Gru => "GRU",
                RecurrentCell.RnnTanh => "RNN_TANH",
                _ => "RNN_RELU",
            });
            json.WriteString("input", a.Input switch
            {
                NetworkInput.TokensOneHot => "one-hot",
                NetworkInput.TokensEmbedding => "embedding",
                _ => "features",
            });
            json.WriteNumber("input_size", a.InputSize);
            json.WriteNumber("embedding_size", a.EmbeddingSize);
            json.WriteNumber("hidden_size", a.HiddenSize);
            json.WriteNumber("num_layers", a.Layers);
            json.WriteBoolean("bidirectional", a.Bidirectional);
            json.WriteNumber("output_size", a.OutputSize);
            json.WriteStartObject("names");
            json.WriteString("rnn", names.RecurrentModule);
            json.WriteString("head", names.Head);
            json.WriteString("embedding", names.Embedding);
            json.WriteEndObject();
            json.WriteStartObject("keys");
            foreach (var (_, key, shape) in keys)
                Numbers(json, key, shape.Select(d => (double)d));
            json.WriteEndObject();
            switch (model)
            {
                case RecurrentLanguageModelTransformer lm:
                    {
                        var v = lm.LanguageModelVocabulary;
                        Vocabulary(json, v.Tokens, v.Separator, v.Unknown is int u ? v.Tokens[u] : null, tokenizer);
                        json.WriteString("end_of_text", v.Tokens[v.EndOfText]);
                        json.WriteEndObject();
                        break;
                    }
                case RecurrentClassificationTransformer classifier:
                    Vocabulary(json, classifier.Vocabulary, classifier.Separator, tokenizer switch
                    {
                        VocabularyTokenizingTransformer t => t.Vocabulary.UnknownToken,
                        BpeTokenizingTransformer t => t.Vocabulary.UnknownToken,
                        _ => null,
                    }, tokenizer);
                    json.WriteEndObject();
                    json.WriteStartArray("classes");
                    for (int i = 0; i < classifier.Classes.Count; i++)
                        json.WriteStringValue(classifier.Classes.Names?[i] ?? (i + 1).ToString(System.Globalization.CultureInfo.InvariantCulture));
                    json.WriteEndArray();
                    json.WriteString("pooling", classifier.Pooling.ToString().ToLowerInvariant());
                    break;
                case RecurrentRegressionTransformer regressor:
                    json.WriteNumber("window_length", regressor.WindowLength);
                    json.WriteNumber("features_per_step", a.InputSize);
                    Numbers(json, "feature_mean", regressor.Scaling.Features.Mean.Select(x => (double)x));
                    Numbers(json, "feature_std", regressor.Scaling.Features.Deviation.Select(x => (double)x));
                    Numbers(json, "label_mean", regressor.Scaling.Targets.Mean.Select(x => (double)x));
                    Numbers(json, "label_std", regressor.Scaling.Targets.Deviation.Select(x => (double)x));
                    break;
            }
            json.WriteEndObject();
        }

        /// <summary>Opens the "vocabulary" object (the caller closes it, after adding its own fields).</summary>
        private static void Vocabulary(Utf8JsonWriter json, IReadOnlyList<string> tokens, string separator, string? unknown, ITransformer? tokenizer)
        {
            json.WriteStartObject("vocabulary");
            json.WriteStartArray("tokens");
            foreach (var token in tokens)
                json.WriteStringValue(token);
            json.WriteEndArray();
            json.WriteString("level", tokenizer is BpeTokenizingTransformer ? "bpe" : separator == " " ? "word" : "character");
            json.WriteString("separator", separator);
            if (unknown is null)
                json.WriteNull("unknown");
            else
                json.WriteString("unknown", unknown);
            json.WriteBoolean("case_folding", tokenizer is VocabularyTokenizingTransformer { Vocabulary.CaseFolding: true });
            if (tokenizer is BpeTokenizingTransformer bpe)
            {
                json.WriteStartArray("merges");
                foreach (var (left, right) in bpe.Vocabulary.Merges)
                {
                    json.WriteStartArray();
                    json.WriteStringValue(left);
                    json.WriteStringValue(right);
                    json.WriteEndArray();
                }
                json.WriteEndArray();
            }
        }

        private static void Numbers(Utf8JsonWriter json, string name, IEnumerable<double> values)
        {
            json.WriteStartArray(name);
            foreach (var value in values)
                json.WriteNumberValue(value);
            json.WriteEndArray();
        }
    }
}
