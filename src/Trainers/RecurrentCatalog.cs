using Microsoft.ML.Data;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace Microsoft.ML
{
    /// <summary>Entry points of the MlnetLstm recurrent trainers on <see cref="MLContext"/> catalogs.</summary>
    public static class RecurrentCatalog
    {
        /// <summary>
        /// Trains a recurrent language model on a token column (from TokenizeWithCharacterVocabulary, or its one-hot sequence):
        /// the fitted model generates continuations, gives next-token probabilities and scores text.
        /// </summary>
        /// <param name="catalog">The text transforms catalog.</param>
        /// <param name="tokenColumnName">The token column.</param>
        /// <param name="cell">LSTM, GRU or RNN.</param>
        /// <param name="hiddenSize">Hidden units per layer.</param>
        /// <param name="layers">Recurrent layers.</param>
        /// <param name="epochs">Passes over the data.</param>
        /// <param name="sequenceLength">Time steps per batch (truncated back-propagation through time).</param>
        /// <param name="batchSize">Sequences per batch.</param>
        /// <returns>The language model trainer; its <c>Fit</c> returns a <see cref="MlnetLstm.Transforms.RecurrentLanguageModelTransformer"/>.</returns>
        /// <remarks>
        /// <format type="text/markdown"><![CDATA[
        /// | Estimator characteristics | |
        /// | -- | -- |
        /// | Does this estimator need to look at the data to train its parameters? | Yes |
        /// | Input column data type | Vector of keys (from TokenizeWithCharacterVocabulary or TokenizeWithWordVocabulary), or a one-hot sequence of Single |
        /// | Output column data type | Generated: text; NextTokenProbabilities: vector of Single; LogLikelihood, Perplexity, BitsPerToken: Double |
        /// | Exportable to ONNX | Yes, but for the Generated column (ExportOnnxGenerator for step-by-step generation) |
        /// | Needs at training / at scoring | TorchSharp with a libtorch backend / MlnetLstm.Transforms only |
        /// ]]></format>
        /// </remarks>
        public static RecurrentLanguageModelTrainer RecurrentLanguageModel(this TransformsCatalog.TextTransforms catalog,
            string tokenColumnName = "Tokens", RecurrentCell cell = RecurrentCell.Lstm, int hiddenSize = 256, int layers = 1,
            int epochs = 10, int sequenceLength = 32, int batchSize = 32)
            => catalog.RecurrentLanguageModel(new RecurrentLanguageModelTrainer.Options
            {
                TokenColumnName = tokenColumnName,
                Cell = cell,
                HiddenSize = hiddenSize,
                Layers = layers,
                Epochs = epochs,
                SequenceLength = sequenceLength,
                BatchSize = batchSize,
            });

        /// <summary>Trains a recurrent language model with every option of <see cref="RecurrentLanguageModelTrainer.Options"/>.</summary>
        /// <param name="catalog">The text transforms catalog.</param>
        /// <param name="options">The trainer options.</param>
        /// <returns>The language model trainer; its <c>Fit</c> returns a <see cref="MlnetLstm.Transforms.RecurrentLanguageModelTransformer"/>.</returns>
        /// <remarks>
        /// <format type="text/markdown"><![CDATA[
        /// | Estimator characteristics | |
        /// | -- | -- |
        /// | Does this estimator need to look at the data to train its parameters? | Yes |
        /// | Input column data type | Vector of keys (from TokenizeWithCharacterVocabulary or TokenizeWithWordVocabulary), or a one-hot sequence of Single |
        /// | Output column data type | Generated: text; NextTokenProbabilities: vector of Single; LogLikelihood, Perplexity, BitsPerToken: Double |
        /// | Exportable to ONNX | Yes, but for the Generated column (ExportOnnxGenerator for step-by-step generation) |
        /// | Needs at training / at scoring | TorchSharp with a libtorch backend / MlnetLstm.Transforms only |
        /// ]]></format>
        /// </remarks>
        public static RecurrentLanguageModelTrainer RecurrentLanguageModel(this TransformsCatalog.TextTransforms catalog, RecurrentLanguageModelTrainer.Options options)
            => new(catalog.GetEnvironment(), options);

        /// <summary>
        /// Trains a recurrent sequence regressor (forecaster): a window of past values → the next value(s). Make
        /// windows from a series with <see cref="SequenceWindows.FromSeries(DataOperationsCatalog, System.Collections.Generic.IReadOnlyList{float}, int, int)"/>.
        /// </summary>
        /// <param name="catalog">The regression trainers catalog.</param>
        /// <param name="labelColumnName">The label column (Single, or a vector for several steps ahead).</param>
        /// <param name="featureColumnName">The window column (a known-size vector of Single).</param>
        /// <param name="cell">LSTM, GRU or RNN.</param>
        /// <param name="hiddenSize">Hidden units per layer.</param>
        /// <param name="epochs">Passes over the data.</param>
        /// <returns>The trainer; its <c>Fit</c> returns the fitted recurrent transformer.</returns>
        /// <remarks>
        /// <format type="text/markdown"><![CDATA[
        /// | Estimator characteristics | |
        /// | -- | -- |
        /// | Machine learning task | Regression |
        /// | Is normalization required? | No: features and labels are standardized with statistics learned at Fit and saved with the model |
        /// | Input column data type | Known-size vector of Single (a window, step-major) |
        /// | Output column data type | Score: Single, or a vector of Single for several steps ahead |
        /// | Exportable to ONNX | Yes |
        /// | Needs at training / at scoring | TorchSharp with a libtorch backend / MlnetLstm.Transforms only |
        /// ]]></format>
        /// </remarks>
        public static RecurrentRegressionTrainer Recurrent(this RegressionCatalog.RegressionTrainers catalog, string labelColumnName = "Label",
            string featureColumnName = "Features", RecurrentCell cell = RecurrentCell.Lstm, int hiddenSize = 32, int epochs = 100)
            => catalog.Recurrent(new RecurrentRegressionTrainer.Options
            {
                LabelColumnName = labelColumnName,
                FeatureColumnName = featureColumnName,
                Cell = cell,
                HiddenSize = hiddenSize,
                Epochs = epochs,
            });

        /// <summary>Trains a recurrent sequence regressor with every option of <see cref="RecurrentRegressionTrainer.Options"/>.</summary>
        /// <param name="catalog">The regression trainers catalog.</param>
        /// <param name="options">The trainer options.</param>
        /// <returns>The trainer; its <c>Fit</c> returns the fitted recurrent transformer.</returns>
        /// <remarks>
        /// <format type="text/markdown"><![CDATA[
        /// | Estimator characteristics | |
        /// | -- | -- |
        /// | Machine learning task | Regression |
        /// | Is normalization required? | No: features and labels are standardized with statistics learned at Fit and saved with the model |
        /// | Input column data type | Known-size vector of Single (a window, step-major) |
        /// | Output column data type | Score: Single, or a vector of Single for several steps ahead |
        /// | Exportable to ONNX | Yes |
        /// | Needs at training / at scoring | TorchSharp with a libtorch backend / MlnetLstm.Transforms only |
        /// ]]></format>
        /// </remarks>
        public static RecurrentRegressionTrainer Recurrent(this RegressionCatalog.RegressionTrainers catalog, RecurrentRegressionTrainer.Options options)
            => new(catalog.GetEnvironment(), options);

        /// <summary>
        /// Trains a recurrent sequence classifier on a token column and a key-typed label; its Score and PredictedLabel
        /// columns work with <c>mlContext.MulticlassClassification.Evaluate</c>.
        /// </summary>
        /// <param name="catalog">The multiclass classification trainers catalog.</param>
        /// <param name="labelColumnName">The key-typed label column.</param>
        /// <param name="tokenColumnName">The token column.</param>
        /// <param name="cell">LSTM, GRU or RNN.</param>
        /// <param name="bidirectional">Whether the layers also read the sequence backwards.</param>
        /// <param name="hiddenSize">Hidden units per layer.</param>
        /// <param name="epochs">Passes over the data.</param>
        /// <returns>The trainer; its <c>Fit</c> returns the fitted recurrent transformer.</returns>
        /// <remarks>
        /// <format type="text/markdown"><![CDATA[
        /// | Estimator characteristics | |
        /// | -- | -- |
        /// | Machine learning task | Multiclass classification |
        /// | Input column data type | Vector of keys (from TokenizeWithCharacterVocabulary or TokenizeWithWordVocabulary); label: a UInt32 key |
        /// | Output column data type | Score: vector of Single (class probabilities); PredictedLabel: key of the label's type |
        /// | Exportable to ONNX | Yes |
        /// | Needs at training / at scoring | TorchSharp with a libtorch backend / MlnetLstm.Transforms only |
        /// ]]></format>
        /// </remarks>
        public static RecurrentClassificationTrainer Recurrent(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, string labelColumnName = "Label",
            string tokenColumnName = "Tokens", RecurrentCell cell = RecurrentCell.Lstm, bool bidirectional = false, int hiddenSize = 64, int epochs = 10)
            => catalog.Recurrent(new RecurrentClassificationTrainer.Options
            {
                LabelColumnName = labelColumnName,
                TokenColumnName = tokenColumnName,
                Cell = cell,
                Bidirectional = bidirectional,
                HiddenSize = hiddenSize,
                Epochs = epochs,
            });

        /// <summary>Trains a recurrent sequence classifier with every option of <see cref="RecurrentClassificationTrainer.Options"/>.</summary>
        /// <param name="catalog">The multiclass classification trainers catalog.</param>
        /// <param name="options">The trainer options.</param>
        /// <returns>The trainer; its <c>Fit</c> returns the fitted recurrent transformer.</returns>
        /// <remarks>
        /// <format type="text/markdown"><![CDATA[
        /// | Estimator characteristics | |
        /// | -- | -- |
        /// | Machine learning task | Multiclass classification |
        /// | Input column data type | Vector of keys (from TokenizeWithCharacterVocabulary or TokenizeWithWordVocabulary); label: a UInt32 key |
        /// | Output column data type | Score: vector of Single (class probabilities); PredictedLabel: key of the label's type |
        /// | Exportable to ONNX | Yes |
        /// | Needs at training / at scoring | TorchSharp with a libtorch backend / MlnetLstm.Transforms only |
        /// ]]></format>
        /// </remarks>
        public static RecurrentClassificationTrainer Recurrent(this MulticlassClassificationCatalog.MulticlassClassificationTrainers catalog, RecurrentClassificationTrainer.Options options)
            => new(catalog.GetEnvironment(), options);
    }
}
