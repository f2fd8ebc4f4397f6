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

    /// <summary>One input row of a sequence regressor: a window, step-major (its size comes from a SchemaDefinition).</summary>
    public sealed class WindowRow
    {
        /// <summary>The window's values.</summary>
        public float[] Features { get; set; } = Array.Empty<float>();
    }

    /// <summary>Output of a sequence regressor with a one-step label.</summary>
    public sealed class RegressionOutput
    {
        /// <summary>The predicted next value.</summary>
        public float Score { get; set; }
    }

    /// <summary>Output of a sequence regressor with a multi-step label.</summary>
    public sealed class ForecastOutput
    {
        /// <summary>The predicted next values.</summary>
        public VBuffer<float> Score { get; set; }
    }

    /// <summary>Output of a sequence classifier.</summary>
    public sealed class ClassifierOutput
    {
        /// <summary>Class probabilities.</summary>
        public VBuffer<float> Score { get; set; }

        /// <summary>The most probable class's key.</summary>
        public uint PredictedLabel { get; set; }
    }

    /// <summary>Runs PredictionEngine over text or window rows and formats outputs exactly, in this process or a child one.</summary>
    public static class Runner
    {
        /// <summary>The output classes by the name a test passes on the command line.</summary>
        public static readonly IReadOnlyDictionary<string, Type> OutputKinds = new Dictionary<string, Type>
        {
            ["tokens"] = typeof(TokenOutput),
            ["onehot"] = typeof(OneHotOutput),
            ["lm"] = typeof(LanguageModelOutput),
            ["classifier"] = typeof(ClassifierOutput),
            ["regression"] = typeof(RegressionOutput),
            ["forecast"] = typeof(ForecastOutput),
        };

        /// <summary>The kinds whose input lines are windows (comma-separated floats of the Features column), not texts.</summary>
        public static readonly IReadOnlyCollection<string> WindowKinds = new[] { "regression", "forecast" };

        /// <summary>
        /// Predicts each input line with a PredictionEngine of the given output kind and formats the results. For the
        /// window kinds each line is a window of comma-separated floats, and <paramref name="inputSchema"/> (the model's
        /// input schema) gives the Features column its size.
        /// </summary>
        public static IEnumerable<string> Predict(MLContext ml, ITransformer model, string kind, IEnumerable<string> texts, DataViewSchema? inputSchema = null)
        {
            bool windows = WindowKinds.Contains(kind);
            var method = typeof(Runner).GetMethod(windows ? nameof(PredictWindows) : nameof(PredictTyped), BindingFlags.NonPublic | BindingFlags.Static)!
                .MakeGenericMethod(OutputKinds[kind]);
            return (IEnumerable<string>)method.Invoke(null, windows ? new object?[] { ml, model, texts, inputSchema } : new object[] { ml, model, texts })!;
        }

        /// <summary>A window as one input line: its floats in round-trip form, comma-separated.</summary>
        public static string FormatWindow(IEnumerable<float> window) => string.Join(",", window.Select(v => v.ToString("R", CultureInfo.InvariantCulture)));

        private static IEnumerable<string> PredictTyped<TOut>(MLContext ml, ITransformer model, IEnumerable<string> texts) where TOut : class, new()
        {
            using var engine = ml.Model.CreatePredictionEngine<TextRow, TOut>(model);
            return texts.Select(text => Format(engine.Predict(new TextRow { Text = text }))).ToList();
        }

        private static IEnumerable<string> PredictWindows<TOut>(MLContext ml, ITransformer model, IEnumerable<string> lines, DataViewSchema? inputSchema) where TOut : class, new()
        {
            if (inputSchema?.GetColumnOrNull(nameof(WindowRow.Features)) is not { Type: VectorDataViewType { Size: > 0 } features })
                throw new ArgumentException("Window inputs need the model's input schema with a known-size Features column.", nameof(inputSchema));
            var definition = SchemaDefinition.Create(typeof(WindowRow));
            definition[nameof(WindowRow.Features)].ColumnType = new VectorDataViewType(NumberDataViewType.Single, features.Size);
            using var engine = ml.Model.CreatePredictionEngine<WindowRow, TOut>(model, inputSchemaDefinition: definition);
            return lines.Select(line => Format(engine.Predict(new WindowRow
            {
                Features = line.Split(',').Select(v => float.Parse(v, NumberStyles.Float, CultureInfo.InvariantCulture)).ToArray(),
            }))).ToList();
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
