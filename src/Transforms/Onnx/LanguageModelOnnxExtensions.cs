using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Reflection;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// ONNX export of a language model beyond what ML.NET's <c>mlContext.Model.ConvertToOnnx</c> expresses (the model's
    /// columns): a standalone graph for step-by-step generation with the recurrent state as inputs and outputs, and the
    /// vocabulary in JSON. Export writes ONNX opset 12; nothing here needs TorchSharp or an ONNX package.
    /// </summary>
    public static class LanguageModelOnnxExtensions
    {
        /// <summary>
        /// Writes the language model of <paramref name="pipeline"/> as an ONNX graph for step-by-step generation.
        /// Inputs: <c>token_ids</c> [batch, sequence] (int64, 0-based ids), <c>initial_h</c> (and for LSTM
        /// <c>initial_c</c>) [layers, batch, hidden] (float; zeros at the start of a document). Outputs:
        /// <c>log_probabilities</c> [batch, sequence, V] (position t predicts the token after token t),
        /// <c>next_token_logits</c> and <c>next_token_probabilities</c> [batch, V] after the last token, and
        /// <c>Y_h</c> (and <c>Y_c</c>) [layers, batch, hidden] to feed back as the next call's initial state. To read a
        /// text from the start of a document as the model does, feed its end-of-text id first. The vocabulary (see
        /// <see cref="WriteOnnxVocabulary"/>) is in the model's metadata under <c>mlnetlstm.vocabulary</c>.
        /// Choosing tokens (greedy or sampled) is the caller's: ONNX cannot express it.
        /// </summary>
        /// <param name="pipeline">A fitted or loaded pipeline with a language model, or the language model itself.</param>
        /// <param name="stream">Where the .onnx file goes.</param>
        public static void ExportOnnxGenerator(this ITransformer pipeline, Stream stream)
        {
            if (stream is null)
                throw new ArgumentNullException(nameof(stream));
            var model = pipeline.GetLanguageModel();
            string version = typeof(LanguageModelOnnxExtensions).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0";
            LanguageModelOnnx.WriteGenerator(stream, model.Trained.Weights, VocabularyJsonOf(pipeline, model), version.Split('+')[0]);
        }

        /// <summary>
        /// Writes the language model's vocabulary as UTF-8 JSON: <c>tokens</c> (id = index), <c>end_of_text_id</c>,
        /// <c>unknown_id</c>, <c>separator</c>, and when the pipeline holds the tokenizer its <c>level</c>
        /// (character: Unicode scalar values; word: runs of non-white-space) and <c>case_folding</c>. The ONNX graphs
        /// that take token ids need it to tokenize text and to turn generated ids into text.
        /// </summary>
        /// <param name="pipeline">A fitted or loaded pipeline with a language model, or the language model itself.</param>
        /// <param name="stream">Where the JSON goes.</param>
        public static void WriteOnnxVocabulary(this ITransformer pipeline, Stream stream)
        {
            if (stream is null)
                throw new ArgumentNullException(nameof(stream));
            var bytes = Encoding.UTF8.GetBytes(VocabularyJsonOf(pipeline, pipeline.GetLanguageModel()));
            stream.Write(bytes);
        }

        /// <summary>
        /// The same pipeline with the language model's Generated column left out (no retraining; weights shared):
        /// what <c>mlContext.Model.ConvertToOnnx</c> can export, since ONNX cannot express generation.
        /// </summary>
        /// <returns>A new pipeline; this one is unchanged.</returns>
        public static ITransformer WithoutGeneratedColumn(this ITransformer pipeline)
        {
            var model = pipeline.GetLanguageModel();
            return TransformerChains.Replace(pipeline, model, model.WithoutGeneratedColumn());
        }

        private static string VocabularyJsonOf(ITransformer pipeline, RecurrentLanguageModelTransformer model)
        {
            var vocabulary = model.LanguageModelVocabulary;
            // The tokenizer that made the model's tokens, for the rules that split text (absent when the pipeline starts at tokens).
            var transformers = TransformerChains.Flatten(pipeline).ToList();
            var tokenizer = transformers.OfType<VocabularyTokenizingTransformer>()
                .LastOrDefault(t => t.Vocabulary.Tokens.SequenceEqual(vocabulary.Tokens) && t.Vocabulary.Separator == vocabulary.Separator);
            var bpe = vocabulary.Separator.Length == 0
                ? transformers.OfType<BpeTokenizingTransformer>().LastOrDefault(t => t.Vocabulary.Tokens.SequenceEqual(vocabulary.Tokens))
                : null;
            return VocabularyJson.Write(vocabulary, tokenizer?.Vocabulary, bpe?.Vocabulary);
        }
    }
}
