using System.Collections.Generic;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Fitted ML.NET pipelines as this library reads and rewrites them: a transformer chain (nested chains included)
    /// seen as the flat sequence of its transformers, and the same pipeline with one transformer replaced.
    /// </summary>
    internal static class TransformerChains
    {
        /// <summary>The transformers of <paramref name="pipeline"/> in order, nested chains opened; a lone transformer is its own sequence.</summary>
        public static IEnumerable<ITransformer> Flatten(ITransformer pipeline) => pipeline is IEnumerable<ITransformer> chain
            ? chain.SelectMany(Flatten)
            : new[] { pipeline };

        /// <summary>
        /// The same pipeline with <paramref name="original"/> (found by reference) replaced by <paramref name="replacement"/>:
        /// a flat chain, or <paramref name="replacement"/> itself when the pipeline is <paramref name="original"/> alone.
        /// </summary>
        public static ITransformer Replace(ITransformer pipeline, ITransformer original, ITransformer replacement)
            => ReferenceEquals(pipeline, original)
                ? replacement
                : new TransformerChain<ITransformer>(Flatten(pipeline).Select(t => ReferenceEquals(t, original) ? replacement : t).ToArray());
    }
}
