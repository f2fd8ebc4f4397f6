using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// A language model as ONNX: its ML.NET columns inside ConvertToOnnx, and the standalone step-by-step graph
    /// (token ids and recurrent state in, log-probabilities and state out) that generation needs.
    /// </summary>
    internal static class LanguageModelOnnx
    {
        /// <summary>Names of the generator graph's inputs and outputs (README: "Use the model outside .NET").</summary>
        public const string TokenIds = "token_ids", InitialHidden = "initial_h", InitialCell = "initial_c",
            LogProbabilities = "log_probabilities", NextTokenLogits = "next_token_logits", NextTokenProbabilities = "next_token_probabilities",
            FinalHidden = "Y_h", FinalCell = "Y_c";

        /// <summary>The metadata key of the generator graph that holds the vocabulary (<see cref="VocabularyJson"/>).</summary>
        public const string VocabularyMetadataKey = "mlnetlstm.vocabulary";

        /// <summary>
        /// The model's columns inside ConvertToOnnx: the text is read from the start of a document (end-of-text token,
        /// then the ids), as the managed scorer reads it.
        /// </summary>
        public static void Save(MlNetOnnxGraph g, NetworkWeights weights, LanguageModelVocabulary vocabulary, TokenColumn column,
            IReadOnlyList<(LanguageModelColumn Output, string Name)> outputs, string component)
        {
            if (outputs.FirstOrDefault(o => o.Output == LanguageModelColumn.Generated).Name is string generated)
                throw new NotSupportedException(
                    $"The language model's column '{generated}' cannot be exported to ONNX: a continuation is chosen token by token (greedily or by sampling) " +
                    "and its tokens' text joined, which ONNX (opset 12 and before) cannot express. Export the model without it, " +
                    "mlContext.Model.ConvertToOnnx(model.WithoutGeneratedColumn(), data, stream), and generate with the step-by-step graph of " +
                    "model.ExportOnnxGenerator(stream), choosing each token in your own code (README: 'Use the model outside .NET').");
            // Slice with inputs (dropping the position after the last token) needs opset 10.
            g.RequireOpset(10, component);
            int v = vocabulary.Tokens.Length;
            string ids = OnnxTokenInput.Ids(g, column, component);
            string withStart = g.Concat(1, OnnxTokenInput.FilledColumn(g, ids, vocabulary.EndOfText), ids);
            var layers = RecurrentNetworkOnnx.Layers(g, weights, g.Transpose(withStart, 1, 0));
            var head = RecurrentNetworkOnnx.HeadWeights(g, weights);

            string? logLikelihood = null, tokens = null;
            string LogLikelihood()
            {
                if (logLikelihood is not null)
                    return logLikelihood;
                // Position t (after the end-of-text token and t tokens) predicts token t: the first T positions score the text.
                string logits = RecurrentNetworkOnnx.Head(g, head, g.Slice(layers.Sequence, 0, 0, -1));
                string logProbabilities = g.Apply("LogSoftmax", new[] { logits }, n => n.Set("axis", 2L));
                string targets = g.Apply("OneHot", new[] { g.Transpose(ids, 1, 0), g.Constant("vocabulary_size", (long)v), g.Initializer("one_hot_values", new[] { 0f, 1f }, new long[] { 2 }) });
                // The one-hot product picks one value per position exactly; the sum over positions is in double, as the managed scorer's.
                string picked = g.Reduce("ReduceSum", g.Apply("Mul", new[] { logProbabilities, targets }), false, 2);
                string total = g.Reduce("ReduceSum", g.Cast(picked, OnnxElementType.Double), false, 0);
                return logLikelihood = g.Unsqueeze(total, 1);
            }
            string Tokens() => tokens ??= g.Cast(g.Apply("Gather", new[] { g.Apply("Shape", new[] { ids }), g.Constant("time_axis", 1L) }, n => n.Set("axis", 0L)), OnnxElementType.Double);
            string NegativeMean() => g.Apply("Div", new[] { g.Apply("Neg", new[] { LogLikelihood() }), Tokens() });

            foreach (var (output, name) in outputs)
            {
                switch (output)
                {
                    case LanguageModelColumn.NextTokenProbabilities:
                        string last = RecurrentNetworkOnnx.Head(g, head, g.Squeeze(layers.FinalHidden[^1], 0));
                        g.Apply("Softmax", new[] { last }, n => n.Set("axis", 1L), g.AddColumn(name, new VectorDataViewType(NumberDataViewType.Single, v)));
                        break;
                    case LanguageModelColumn.LogLikelihood:
                        g.Apply("Identity", new[] { LogLikelihood() }, output: g.AddColumn(name, NumberDataViewType.Double));
                        break;
                    case LanguageModelColumn.Perplexity:
                        g.Apply("Exp", new[] { NegativeMean() }, output: g.AddColumn(name, NumberDataViewType.Double));
                        break;
                    case LanguageModelColumn.BitsPerToken:
                        g.Apply("Div", new[] { NegativeMean(), g.Initializer("ln2", new[] { Math.Log(2) }, new long[] { 1 }) }, output: g.AddColumn(name, NumberDataViewType.Double));
                        break;
                }
            }
        }

        /// <summary>
        /// Writes the step-by-step graph: token_ids [batch, sequence] (int64), initial_h (and for LSTM initial_c)
        /// [layers, batch, H] (zeros at the start of a document) → log_probabilities [batch, sequence, V] (position t
        /// predicts the token after token t), next_token_logits and next_token_probabilities [batch, V] (after the
        /// last token), Y_h (and Y_c) [layers, batch, H] to feed back as the next call's initial state.
        /// </summary>
        public static void WriteGenerator(Stream stream, NetworkWeights weights, string vocabularyJson, string producerVersion)
        {
            var a = weights.Architecture;
            var g = new OnnxModelWriter("mlnetlstm_language_model");
            int layers = a.Layers, h = a.HiddenSize, v = a.OutputSize;
            bool lstm = a.Cell == RecurrentCell.Lstm;
            string ids = g.AddInput(TokenIds, OnnxElementType.Int64, "batch", "sequence");
            string initialH = g.AddInput(InitialHidden, OnnxElementType.Float, (long)layers, "batch", (long)h);
            string? initialC = null;
            if (lstm)
            {
                initialC = g.AddInput(InitialCell, OnnxElementType.Float, (long)layers, "batch", (long)h);
            }
            // The outputs' public names, claimed before any internal variable is named.
            string logProbabilitiesOutput = g.AddOutput(LogProbabilities, OnnxElementType.Float, "batch", "sequence", (long)v);
            string logitsOutput = g.AddOutput(NextTokenLogits, OnnxElementType.Float, "batch", (long)v);
            string probabilitiesOutput = g.AddOutput(NextTokenProbabilities, OnnxElementType.Float, "batch", (long)v);
            string hiddenOutput = g.AddOutput(FinalHidden, OnnxElementType.Float, (long)layers, "batch", (long)h);
            string? cellOutput = lstm ? g.AddOutput(FinalCell, OnnxElementType.Float, (long)layers, "batch", (long)h) : null;

            var network = RecurrentNetworkOnnx.Layers(g, weights, g.Transpose(ids, 1, 0), SplitLayers(g, initialH, layers),
                initialC is null ? null : SplitLayers(g, initialC, layers));
            var head = RecurrentNetworkOnnx.HeadWeights(g, weights);
            string logits = RecurrentNetworkOnnx.Head(g, head, network.Sequence);
            string logProbabilities = g.Apply("LogSoftmax", new[] { logits }, n => n.Set("axis", 2L));
            g.Apply("Transpose", new[] { logProbabilities }, n => n.Set("perm", new long[] { 1, 0, 2 }), logProbabilitiesOutput);
            RecurrentNetworkOnnx.Head(g, head, g.Squeeze(network.FinalHidden[^1], 0), logitsOutput);
            g.Apply("Softmax", new[] { logitsOutput }, n => n.Set("axis", 1L), probabilitiesOutput);
            Join(g, network.FinalHidden, hiddenOutput);
            if (network.FinalCell is { } cells)
                Join(g, cells, cellOutput!);
            g.AddMetadata(VocabularyMetadataKey, vocabularyJson);
            g.Write(stream, producerVersion);
        }

        /// <summary>Each layer's slice [1, batch, H] of a state input [layers, batch, H].</summary>
        private static IReadOnlyList<string> SplitLayers(OnnxGraph g, string state, int layers)
        {
            if (layers == 1)
                return new[] { state };
            var parts = Enumerable.Range(0, layers).Select(l => g.Variable($"{state}_layer{l}")).ToArray();
            g.Node("Split", new[] { state }, parts).Set("axis", 0L);
            return parts;
        }

        private static void Join(OnnxGraph g, IReadOnlyList<string> layers, string output)
        {
            if (layers.Count == 1)
                g.Apply("Identity", new[] { layers[0] }, output: output);
            else
                g.Apply("Concat", layers.ToArray(), n => n.Set("axis", 0L), output);
        }
    }
}
