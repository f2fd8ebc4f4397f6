using System.IO;
using System.Text;
using System.Text.Encodings.Web;
using System.Text.Json;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// The vocabulary of an exported language model as JSON, for code outside .NET that tokenizes text into the
    /// generator graph's token ids and turns ids back into text:
    /// <code>
    /// {
    ///   "format": "mlnetlstm-vocabulary/1",
    ///   "level": "character" | "word" | "bpe" | null,   // how text splits: Unicode scalar values, runs of non-white-space, or learned BPE (null: unknown)
    ///   "case_folding": true | false,          // lower-case each character (invariant culture) before the lookup
    ///   "separator": "" | " ",                 // what joins generated tokens' text
    ///   "end_of_text_id": 1,                   // fed first to read a text from the start of a document
    ///   "unknown_id": 0 | null,                // what text outside the vocabulary maps to
    ///   "tokens": ["&lt;unk&gt;", "&lt;eos&gt;", "a", …],  // token id = index
    ///   "merges": [["a", "b"], …]             // "bpe" only: the merges in the order they apply, within runs of letters (with
    ///                                         // their marks), of digits, of other non-space characters, and single white-space characters
    /// }
    /// </code>
    /// </summary>
    internal static class VocabularyJson
    {
        public const string Format = "mlnetlstm-vocabulary/1";

        /// <summary>The JSON of <paramref name="vocabulary"/>; <paramref name="tokenizer"/> or <paramref name="bpe"/> (when the pipeline has one) gives the tokenizing rules.</summary>
        public static string Write(LanguageModelVocabulary vocabulary, Vocabulary? tokenizer, BpeVocabulary? bpe)
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true, Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
            {
                json.WriteStartObject();
                json.WriteString("format", Format);
                if (bpe is not null)
                    json.WriteString("level", "bpe");
                else if (tokenizer is null)
                    json.WriteNull("level");
                else
                    json.WriteString("level", tokenizer.Level == TokenizerLevel.Word ? "word" : "character");
                json.WriteBoolean("case_folding", tokenizer?.CaseFolding ?? false);
                json.WriteString("separator", vocabulary.Separator);
                json.WriteNumber("end_of_text_id", vocabulary.EndOfText);
                if (vocabulary.Unknown is int unknown)
                    json.WriteNumber("unknown_id", unknown);
                else
                    json.WriteNull("unknown_id");
                json.WriteStartArray("tokens");
                foreach (var token in vocabulary.Tokens)
                    json.WriteStringValue(token);
                json.WriteEndArray();
                if (bpe is not null)
                {
                    json.WriteStartArray("merges");
                    foreach (var (left, right) in bpe.Merges)
                    {
                        json.WriteStartArray();
                        json.WriteStringValue(left);
                        json.WriteStringValue(right);
                        json.WriteEndArray();
                    }
                    json.WriteEndArray();
                }
                json.WriteEndObject();
            }
            return Encoding.UTF8.GetString(buffer.ToArray());
        }
    }
}
