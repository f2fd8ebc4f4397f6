using System;
using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlnetLstm.Trainers
{
    /// <summary>Helpers for a fitted or loaded pipeline that contains a recurrent language model.</summary>
    public static class LanguageModelPipelineExtensions
    {
        /// <summary>Finds the language model in a pipeline (a transformer chain, nested chains included).</summary>
        /// <exception cref="ArgumentException">The pipeline has no language model.</exception>
        public static RecurrentLanguageModelTransformer GetLanguageModel(this ITransformer pipeline)
            => Flatten(pipeline).OfType<RecurrentLanguageModelTransformer>().LastOrDefault()
                ?? throw new ArgumentException("The pipeline contains no RecurrentLanguageModelTransformer; load or fit a pipeline that ends with RecurrentLanguageModel.", nameof(pipeline));

        /// <summary>
        /// The same pipeline with the language model's generation settings changed (no retraining; weights shared),
        /// for example <c>model.WithGeneration(g =&gt; g with { Greedy = false, Temperature = 0.8f })</c>.
        /// </summary>
        public static ITransformer WithGeneration(this ITransformer pipeline, Func<GenerationOptions, GenerationOptions> change)
        {
            if (change is null)
                throw new ArgumentNullException(nameof(change));
            var model = pipeline.GetLanguageModel();
            var replaced = model.WithGeneration(change(model.Generation));
            return new TransformerChain<ITransformer>(Flatten(pipeline).Select(t => ReferenceEquals(t, model) ? replaced : t).ToArray());
        }

        private static IEnumerable<ITransformer> Flatten(ITransformer transformer) => transformer is IEnumerable<ITransformer> chain
            ? chain.SelectMany(Flatten)
            : new[] { transformer };
    }
}
