using System;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Reflection;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlnetLstm.ModelRunner
{
    /// <summary>One input row: the text column every MlnetLstm pipeline starts from.</summary>
    public sealed class TextRow
    {
        /// <summary>The text.</summary>
        public string Text { get; set; } = "";
    }

    /// <summary>Output of a tokenizer pipeline.</summary>
    public sealed class TokenOutput
    {
        /// <summary>Token keys.</summary>
        public VBuffer<uint> Tokens { get; set; }
    }

    /// <summary>Output of a tokenizer → one-hot pipeline.</summary>
    public sealed class OneHotOutput
    {
        /// <summary>Token keys.</summary>
        public VBuffer<uint> Tokens { get; set; }

        /// <summary>Sparse one-hot sequence.</summary>
        public VBuffer<float> OneHot { get; set; }
    }

    /// <summary>Output of a tokenizer → RecurrentLanguageModel pipeline (the estimator's default column names).</summary>
    public sealed class LanguageModelOutput
    {
        /// <summary>The generated continuation.</summary>
        public string Generated { get; set; } = "";

        /// <summary>Next-token probabilities after the text, one per vocabulary token.</summary>
        public VBuffer<float> NextTokenProbabilities { get; set; }

        /// <summary>Natural-log likelihood of the text.</summary>
        public double LogLikelihood { get; set; }

        /// <summary>exp(−log-likelihood / tokens).</summary>
        public double Perplexity { get; set; }

        /// <summary>−log₂-likelihood / tokens.</summary>
        public double BitsPerToken { get; set; }
    }

    /// <summary>Runs PredictionEngine over text rows and formats outputs exactly, in this process or a child one.</summary>
    public static class Runner
    {
        /// <summary>The output classes by the name a test passes on the command line.</summary>
        public static readonly IReadOnlyDictionary<string, Type> OutputKinds = new Dictionary<string, Type>
        {
            ["tokens"] = typeof(TokenOutput),
            ["onehot"] = typeof(OneHotOutput),
            ["lm"] = typeof(LanguageModelOutput),
        };

        /// <summary>Predicts each text with a PredictionEngine of the given output kind and formats the results.</summary>
        public static IEnumerable<string> Predict(MLContext ml, ITransformer model, string kind, IEnumerable<string> texts)
        {
            var method = typeof(Runner).GetMethod(nameof(PredictTyped), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(OutputKinds[kind]);
            return (IEnumerable<string>)method.Invoke(null, new object[] { ml, model, texts })!;
        }

        private static IEnumerable<string> PredictTyped<TOut>(MLContext ml, ITransformer model, IEnumerable<string> texts) where TOut : class, new()
        {
            using var engine = ml.Model.CreatePredictionEngine<TextRow, TOut>(model);
            return texts.Select(text => Format(engine.Predict(new TextRow { Text = text }))).ToList();
        }

        /// <summary>Formats every property of an output object; floats and doubles as their exact bits.</summary>
        public static string Format(object output) => string.Join(" | ", output.GetType().GetProperties()
            .OrderBy(p => p.Name, StringComparer.Ordinal)
            .Select(p => $"{p.Name}={FormatValue(p.GetValue(output))}"));

        private static string FormatValue(object? value) => value switch
        {
            null => "null",
            float f => BitConverter.SingleToInt32Bits(f).ToString("X8", CultureInfo.InvariantCulture),
            double d => BitConverter.DoubleToInt64Bits(d).ToString("X16", CultureInfo.InvariantCulture),
            string s => Uri.EscapeDataString(s),
            VBuffer<float> v => $"[{v.Length}:{string.Join(",", v.Items().Select(kv => $"{kv.Key}={FormatValue(kv.Value)}"))}]",
            VBuffer<uint> v => $"[{v.Length}:{string.Join(",", v.DenseValues())}]",
            float[] a => $"[{string.Join(",", a.Select(x => FormatValue(x)))}]",
            _ => Convert.ToString(value, CultureInfo.InvariantCulture) ?? "",
        };
    }
}
