using System;
using System.Collections.Generic;
using System.Linq;
using System.Text;
using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// The vocabulary tokenizer inside ML.NET's ConvertToOnnx. Standard ONNX (opset 12 and before) has no operator that
    /// splits a string, so this uses what ML.NET's own character and word tokenizers export: ONNX Runtime's
    /// com.microsoft Tokenizer (characters = UTF-8 code points, that is Unicode scalar values as here; words = runs
    /// between separators), then an ai.onnx.ml LabelEncoder from token text to key. The graph therefore needs ONNX
    /// Runtime (which ML.NET's ApplyOnnxModel uses); a graph for other runtimes starts at the token ids instead
    /// (the language model's ExportOnnxGenerator, with the vocabulary in JSON beside it).
    /// </summary>
    internal static class TokenizerOnnx
    {
        /// <summary>The characters char.IsWhiteSpace accepts, all in the BMP: the word tokenizer's separators.</summary>
        private static readonly string[] WhiteSpace = Enumerable.Range(0, 0x10000).Where(c => char.IsWhiteSpace((char)c)).Select(c => ((char)c).ToString()).ToArray();

        /// <summary>Text [N, 1] → token keys [N, T] (UInt32, key = id + 1; text outside the vocabulary → the unknown token's key).</summary>
        public static void Save(MlNetOnnxGraph g, Vocabulary vocabulary, string inputColumn, string outputColumn, DataViewType outputType, string component)
        {
            if (vocabulary.Level == TokenizerLevel.Word && vocabulary.CaseFolding)
                throw new NotSupportedException(
                    $"{component} on column '{inputColumn}' lower-cases words, which ONNX cannot do as .NET does (ONNX's StringNormalizer follows a C locale, not " +
                    "invariant-culture casing per character). Tokenize without case folding, or feed the graph token ids: export the model with ExportOnnxGenerator " +
                    "and tokenize with the vocabulary from WriteOnnxVocabulary.");
            string text = OnnxTokenInput.Column(g, inputColumn, component);
            var tokenizer = g.Variable("tokens_text");
            var node = g.Node("Tokenizer", new[] { text }, new[] { tokenizer }, "com.microsoft");
            node.Set("mark", 0L);
            node.Set("mincharnum", 1L);
            node.Set("pad_value", "");
            // One empty separator is the Tokenizer's character mode.
            node.Set("separators", vocabulary.Level == TokenizerLevel.Character ? new[] { "" } : WhiteSpace);
            // [N, 1, T] → [N, T]
            string tokens = g.Squeeze(tokenizer, 1);
            var (keys, values) = KeyTable(vocabulary);
            string encoded = g.Apply("LabelEncoder", new[] { tokens }, n =>
            {
                n.Set("keys_strings", keys);
                n.Set("values_int64s", values);
                n.Set("default_int64", vocabulary.UnknownId + 1L);
            }, domain: "ai.onnx.ml");
            g.Cast(encoded, OnnxElementType.UInt32, g.AddColumn(outputColumn, outputType));
        }

        /// <summary>
        /// Token text → key. With case folding (characters only) the tokenizer looks up each character lower-cased
        /// (invariant culture), so every character that lower-cases to something else maps to what its lower case maps to.
        /// </summary>
        private static (string[] Keys, long[] Values) KeyTable(Vocabulary vocabulary)
        {
            var table = new Dictionary<string, long>(StringComparer.Ordinal);
            for (int id = 0; id < vocabulary.Count; id++)
                table[vocabulary.Tokens[id]] = id + 1;
            if (vocabulary.CaseFolding)
                for (int value = 0; value <= 0x10FFFF; value++)
                {
                    if (!Rune.IsValid(value))
                        continue;
                    var rune = new Rune(value);
                    var lower = Rune.ToLowerInvariant(rune);
                    if (lower == rune)
                        continue;
                    string text = rune.ToString();
                    if (vocabulary.TryGetId(lower.ToString(), out int id))
                        table[text] = id + 1;
                    else if (table.ContainsKey(text))
                        table[text] = vocabulary.UnknownId + 1;
                }
            return (table.Keys.ToArray(), table.Values.ToArray());
        }
    }
}
