using System.Collections.Generic;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

namespace Microsoft.ML
{
    /// <summary>
    /// Brings recurrent models from PyTorch into ML.NET, and takes them back: entry points on
    /// <see cref="MLContext.Model"/>. An imported model is an ordinary fitted transformer (with an empty training
    /// history): it scores, saves into a model zip and loads like one trained here, and can be the
    /// <see cref="RecurrentTrainingOptions.InitialModel"/> of a training run.
    /// </summary>
    public static class PyTorchCatalog
    {
        /// <summary>
        /// Builds a language model from PyTorch weights (by default with the parameter names of d2l's <c>RNNModel</c> (Dive into Deep Learning, section 8.6)) and its vocabulary, with a
        /// tokenizer in front: the chain reads a text column, as a pipeline trained here does.
        /// </summary>
        /// <param name="catalog">The model operations catalog.</param>
        /// <param name="options">The weights file, the vocabulary, the network and the output columns.</param>
        /// <returns>The tokenizer and the language model.</returns>
        /// <exception cref="System.FormatException">The file is unreadable, refused (a pickle holding anything but tensors), or its keys or shapes are not the network's.</exception>
        public static TransformerChain<RecurrentLanguageModelTransformer> ImportPyTorchLanguageModel(this ModelOperationsCatalog catalog, PyTorchLanguageModelImportOptions options)
            => PyTorchImporter.LanguageModel(((IInternalCatalog)catalog).Environment, options ?? throw new System.ArgumentNullException(nameof(options)));

        /// <summary>Builds a sequence classifier from PyTorch weights, its vocabulary and its classes, with a tokenizer in front.</summary>
        /// <param name="catalog">The model operations catalog.</param>
        /// <param name="options">The weights file, the vocabulary, the classes, the network and the output columns.</param>
        /// <returns>The tokenizer and the classifier.</returns>
        /// <exception cref="System.FormatException">The file is unreadable, refused, or its keys or shapes are not the network's.</exception>
        public static TransformerChain<RecurrentClassificationTransformer> ImportPyTorchClassifier(this ModelOperationsCatalog catalog, PyTorchClassifierImportOptions options)
            => PyTorchImporter.Classifier(((IInternalCatalog)catalog).Environment, options ?? throw new System.ArgumentNullException(nameof(options)));

        /// <summary>Builds a sequence regressor (forecaster) from PyTorch weights and the window it reads.</summary>
        /// <param name="catalog">The model operations catalog.</param>
        /// <param name="options">The weights file, the window, the network, the scaling and the output column.</param>
        /// <returns>The regressor.</returns>
        /// <exception cref="System.FormatException">The file is unreadable, refused, or its keys or shapes are not the network's.</exception>
        public static RecurrentRegressionTransformer ImportPyTorchRegressor(this ModelOperationsCatalog catalog, PyTorchRegressorImportOptions options)
            => PyTorchImporter.Regressor(((IInternalCatalog)catalog).Environment, options ?? throw new System.ArgumentNullException(nameof(options)));

        /// <summary>
        /// Writes the weights of a fitted (or loaded, or imported) recurrent model for PyTorch: <c>&lt;path&gt;.safetensors</c>
        /// and <c>&lt;path&gt;.pth</c>, by default under the rnn/linear names of Dive into Deep Learning's <c>RNNModel</c>
        /// (d2l, section 8.6), so that its <c>load_state_dict</c> takes them, and <c>&lt;path&gt;.json</c> with the architecture and the vocabulary
        /// (classes, scaling). build/pytorch-score.py loads them and scores a text.
        /// </summary>
        /// <param name="catalog">The model operations catalog.</param>
        /// <param name="model">A recurrent model, or a pipeline holding one (its tokenizer's case folding goes into the JSON).</param>
        /// <param name="path">The files' path without extension, e.g. "out/moby"; its directory must exist. Existing files are replaced.</param>
        /// <param name="options">Names and formats; null for the defaults.</param>
        /// <returns>The paths written.</returns>
        public static IReadOnlyList<string> ExportToPyTorch(this ModelOperationsCatalog catalog, ITransformer model, string path, PyTorchExportOptions? options = null)
            => PyTorchExporter.Export(model, path, options ?? new PyTorchExportOptions());
    }
}
