using System;

namespace MlnetLstm.Tests
{
    // The input and output rows that several tests share. The text-only input (TextRow), the one-value regressor
    // output (RegressionOutput) and the VBuffer outputs that the child processes format are in test/ModelRunner/Runner.cs;
    // these are the labeled inputs and the array-typed outputs. A test whose point is a row's shape (a wrong column
    // type, a missing column, a single output column) keeps its own row class.

    /// <summary>A text and its language: the labeled input of the classifier tests.</summary>
    public sealed class TextWithLanguage
    {
        public string Text { get; set; } = "";

        public string Language { get; set; } = "";
    }

    /// <summary>A text and its class.</summary>
    public sealed class TextWithClass
    {
        public string Text { get; set; } = "";

        public string Class { get; set; } = "";
    }

    /// <summary>A text and its label, in the trainers' default label column.</summary>
    public sealed class TextWithLabel
    {
        public string Text { get; set; } = "";

        public string Label { get; set; } = "";
    }

    /// <summary>Output of a sequence classifier, its probabilities as an array.</summary>
    public sealed class ClassifierScores
    {
        public float[] Score { get; set; } = Array.Empty<float>();

        public uint PredictedLabel { get; set; }
    }

    /// <summary>The next-token probabilities after a text and its log-likelihood.</summary>
    public sealed class NextTokenScores
    {
        public float[] NextTokenProbabilities { get; set; } = Array.Empty<float>();

        public double LogLikelihood { get; set; }
    }

    /// <summary><see cref="NextTokenScores"/> and the generated continuation (which needs a non-empty text).</summary>
    public sealed class GeneratedAndNextTokenScores
    {
        public string Generated { get; set; } = "";

        public float[] NextTokenProbabilities { get; set; } = Array.Empty<float>();

        public double LogLikelihood { get; set; }
    }

    /// <summary>Every score column of a language model, without the generated continuation.</summary>
    public sealed class ScoredText
    {
        public float[] NextTokenProbabilities { get; set; } = Array.Empty<float>();

        public double LogLikelihood { get; set; }

        public double Perplexity { get; set; }

        public double BitsPerToken { get; set; }
    }

    /// <summary>Every output column of a language model (the estimator's default names), the probabilities as an array.</summary>
    public sealed class ScoredAndGeneratedText
    {
        public string Generated { get; set; } = "";

        public float[] NextTokenProbabilities { get; set; } = Array.Empty<float>();

        public double LogLikelihood { get; set; }

        public double Perplexity { get; set; }

        public double BitsPerToken { get; set; }
    }
}
