using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Text;
using System.Text.Json;
using Microsoft.ML;
using Microsoft.ML.OnnxRuntime;
using MlnetLstm.Transforms;

namespace MlnetLstm.Samples
{
    /// <summary>
    /// Exports the main job's model to ONNX (ML.NET's ConvertToOnnx for the scoring columns, ExportOnnxGenerator for
    /// step-by-step generation, the vocabulary as JSON), then generates with ONNX Runtime alone: the prefix is
    /// tokenized with the JSON vocabulary, each step's state is fed back, and tokens are sampled here in C#, as
    /// code in any language with ONNX Runtime would.
    /// </summary>
    internal static class OnnxSample
    {
        public static void Run(SampleOptions options)
        {
            var corpus = Corpus.Load(options.Corpus, options.CacheDirectory);
            string stem = Path.Combine(options.OutputDirectory, $"{corpus.Name}-{options.Cell.ToString().ToLowerInvariant()}");
            if (!File.Exists(stem + ".zip"))
            {
                Console.WriteLine($"{stem}.zip is missing (the main job, bash build/run-sample.sh, writes it): training a model for one minute instead.");
                LanguageModelSample.Run(options with { TimeBudget = TimeSpan.FromMinutes(1) });
            }

            var ml = new MLContext();
            var model = ml.Model.Load(stem + ".zip", out var schema);
            Console.WriteLine($"\nLoaded {stem}.zip: {model.GetLanguageModel().ParameterCount:N0} parameters.");
            string columns = stem + ".onnx", generator = stem + "-generator.onnx", vocabularyFile = stem + "-vocabulary.json";
            using (var file = File.Create(columns))
                ml.Model.ConvertToOnnx(model.WithoutGeneratedColumn(), ml.Data.LoadFromEnumerable(Array.Empty<TextRow>(), schema), file);
            using (var file = File.Create(generator))
                model.ExportOnnxGenerator(file);
            using (var file = File.Create(vocabularyFile))
                model.WriteOnnxVocabulary(file);
            foreach (var path in new[] { columns, generator, vocabularyFile })
                Console.WriteLine($"Wrote {path} ({new FileInfo(path).Length:N0} bytes).");

            // The scoring columns through ONNX Runtime: text in (ONNX Runtime's tokenizer operator), perplexity out.
            using var scoring = new InferenceSession(columns);
            using var generating = new InferenceSession(generator);
            using var vocabularyJson = JsonDocument.Parse(File.ReadAllBytes(vocabularyFile));
            var vocabulary = new OnnxVocabularyFile(vocabularyJson.RootElement);
            var random = new Random(7);
            using var engine = ml.Model.CreatePredictionEngine<TextRow, Generation>(model);
            var check = new Dictionary<string, object>();
            foreach (var prefix in corpus.Prefixes)
            {
                double perplexity = Perplexity(scoring, prefix);
                var greedy = Generate(generating, vocabulary, prefix, 200, null);
                bool same = engine.Predict(new TextRow { Text = prefix }).Generated == greedy;
                var sampled = Generate(generating, vocabulary, prefix, 200, random);
                Console.WriteLine($"\n[{prefix}] perplexity {perplexity:F2} (ONNX Runtime)\ngreedy ({(same ? "the same as" : "DIFFERENT from")} the model's own): {prefix}{greedy}" +
                    $"\nsampled (temperature 0.8, top-p 0.95): {prefix}{sampled}");
                if (check.Count == 0)
                    check = new Dictionary<string, object> { ["prefix"] = prefix, ["greedy"] = greedy, ["perplexity"] = perplexity, ["maximum_new_tokens"] = 200 };
            }
            // What build/check-onnx-python.sh compares Python's ONNX Runtime with.
            File.WriteAllText(stem + "-onnx-check.json", JsonSerializer.Serialize(check));
        }

        private static double Perplexity(InferenceSession session, string text)
        {
            using var input = OrtValue.CreateTensorWithEmptyStrings(OrtAllocator.DefaultInstance, new long[] { 1, 1 });
            input.StringTensorSetElementAt(text.AsSpan(), 0);
            using var runOptions = new RunOptions();
            using var outputs = session.Run(runOptions, new Dictionary<string, OrtValue> { ["Text"] = input }, new[] { "Perplexity.output" });
            return outputs[0].GetTensorDataAsSpan<double>()[0];
        }

        /// <summary>
        /// Continues <paramref name="prefix"/> with the generator graph: the end-of-text token and the prefix in one call
        /// from the zero state, then one token per call with the state fed back. Greedy when <paramref name="random"/> is
        /// null, else sampled at temperature 0.8 with top-p 0.95. Like the model, never the unknown token; the
        /// end-of-text token (the model's stop token) ends the continuation.
        /// </summary>
        private static string Generate(InferenceSession session, OnnxVocabularyFile vocabulary, string prefix, int maximumTokens, Random? random)
        {
            var meta = session.InputMetadata["initial_h"].Dimensions;
            int layers = meta[0], hidden = meta[2];
            bool lstm = session.InputMetadata.ContainsKey("initial_c");
            var ids = new List<long> { vocabulary.EndOfText };
            ids.AddRange(vocabulary.Encode(prefix));
            float[] h = new float[layers * hidden], c = new float[layers * hidden];
            var text = new StringBuilder();
            using var runOptions = new RunOptions();
            for (int step = 0; step < maximumTokens; step++)
            {
                var inputs = new Dictionary<string, OrtValue>
                {
                    ["token_ids"] = OrtValue.CreateTensorValueFromMemory(ids.ToArray(), new long[] { 1, ids.Count }),
                    ["initial_h"] = OrtValue.CreateTensorValueFromMemory(h, new long[] { layers, 1, hidden }),
                };
                if (lstm)
                    inputs["initial_c"] = OrtValue.CreateTensorValueFromMemory(c, new long[] { layers, 1, hidden });
                var names = lstm ? new[] { "next_token_logits", "Y_h", "Y_c" } : new[] { "next_token_logits", "Y_h" };
                float[] logits;
                using (var outputs = session.Run(runOptions, inputs, names))
                {
                    logits = outputs[0].GetTensorDataAsSpan<float>().ToArray();
                    h = outputs[1].GetTensorDataAsSpan<float>().ToArray();
                    if (lstm)
                        c = outputs[2].GetTensorDataAsSpan<float>().ToArray();
                }
                foreach (var value in inputs.Values)
                    value.Dispose();
                if (vocabulary.Unknown is int unknown)
                    logits[unknown] = float.NegativeInfinity;
                int token = random is null ? Array.IndexOf(logits, logits.Max()) : Sample(logits, 0.8, 0.95, random);
                if (token == vocabulary.EndOfText)
                    break;
                if (step > 0)
                    text.Append(vocabulary.Separator);
                text.Append(vocabulary.Tokens[token]);
                ids.Clear();
                ids.Add(token);
            }
            return text.ToString();
        }

        /// <summary>Nucleus sampling: softmax at the temperature, the most likely tokens up to top-p, one drawn at random.</summary>
        private static int Sample(float[] logits, double temperature, double topP, Random random)
        {
            double max = logits.Max();
            var candidates = logits.Select((logit, id) => (Id: id, Weight: Math.Exp((logit - max) / temperature)))
                .OrderByDescending(c => c.Weight).ThenBy(c => c.Id).ToList();
            double total = candidates.Sum(c => c.Weight), kept = 0;
            int count = 0;
            while (count < candidates.Count && kept < topP * total)
                kept += candidates[count++].Weight;
            double u = random.NextDouble() * kept;
            for (int i = 0; i < count; i++)
                if ((u -= candidates[i].Weight) < 0)
                    return candidates[i].Id;
            return candidates[count - 1].Id;
        }

        /// <summary>The vocabulary JSON that WriteOnnxVocabulary writes, read as code outside .NET would read it.</summary>
        private sealed class OnnxVocabularyFile
        {
            private readonly Dictionary<string, int> _ids;
            private readonly bool _words, _caseFolding;

            public OnnxVocabularyFile(JsonElement json)
            {
                Tokens = json.GetProperty("tokens").EnumerateArray().Select(t => t.GetString()!).ToArray();
                _ids = Tokens.Select((t, i) => (t, i)).ToDictionary(p => p.t, p => p.i, StringComparer.Ordinal);
                EndOfText = json.GetProperty("end_of_text_id").GetInt32();
                Unknown = json.GetProperty("unknown_id").ValueKind == JsonValueKind.Null ? null : json.GetProperty("unknown_id").GetInt32();
                Separator = json.GetProperty("separator").GetString()!;
                _words = json.GetProperty("level").GetString() == "word";
                _caseFolding = json.GetProperty("case_folding").GetBoolean();
            }

            public string[] Tokens { get; }

            public int EndOfText { get; }

            public int? Unknown { get; }

            public string Separator { get; }

            /// <summary>Characters are Unicode scalar values, words runs of non-white-space; unseen ones map to the unknown token.</summary>
            public IEnumerable<long> Encode(string text)
            {
                var pieces = _words
                    ? text.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)
                    : text.EnumerateRunes().Select(r => r.ToString());
                foreach (var piece in pieces)
                {
                    string token = _caseFolding ? string.Concat(piece.EnumerateRunes().Select(r => Rune.ToLowerInvariant(r).ToString())) : piece;
                    yield return _ids.TryGetValue(token, out int id) ? id : Unknown ?? throw new InvalidOperationException($"'{token}' is not in the vocabulary, which has no unknown token.");
                }
            }
        }
    }
}
