using System;
using System.Collections.Generic;
using System.Linq;
using System.Threading;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>Helpers for a fitted or loaded pipeline that contains a recurrent language model.</summary>
    public static class LanguageModelPipelineExtensions
    {
        /// <summary>Finds the language model in a pipeline (a transformer chain, nested chains included).</summary>
        /// <returns>The last language model of the pipeline.</returns>
        /// <exception cref="ArgumentException">The pipeline has no language model.</exception>
        public static RecurrentLanguageModelTransformer GetLanguageModel(this ITransformer pipeline)
            => TransformerChains.Flatten(pipeline).OfType<RecurrentLanguageModelTransformer>().LastOrDefault()
                ?? throw new ArgumentException("The pipeline contains no RecurrentLanguageModelTransformer; load or fit a pipeline that ends with RecurrentLanguageModel.", nameof(pipeline));

        /// <summary>
        /// The same pipeline with the language model's generation settings changed (no retraining; weights shared),
        /// for example <c>model.WithGeneration(g =&gt; g with { Greedy = false, Temperature = 0.8f })</c>.
        /// </summary>
        /// <returns>A new pipeline; this one is unchanged.</returns>
        public static ITransformer WithGeneration(this ITransformer pipeline, Func<GenerationOptions, GenerationOptions> change)
        {
            if (change is null)
                throw new ArgumentNullException(nameof(change));
            var model = pipeline.GetLanguageModel();
            return TransformerChains.Replace(pipeline, model, model.WithGeneration(change(model.Generation)));
        }

        /// <summary>
        /// Streams the continuation of one input row: the row goes through the pipeline's transforms before the
        /// language model (its tokenizer), then the model yields each generated token's text as soon as it is chosen.
        /// Concatenated, the tokens are the Generated column's value for the same row. Stop enumerating, or cancel
        /// <paramref name="cancellationToken"/>, to stop generating: for a web API that streams a reply, pass the
        /// request's cancellation token. Safe to call from many threads on one loaded pipeline.
        /// </summary>
        /// <typeparam name="TInput">The input class, as for a PredictionEngine.</typeparam>
        /// <param name="pipeline">A fitted or loaded pipeline with a language model.</param>
        /// <param name="input">The row whose text to continue.</param>
        /// <param name="generation">Generation settings for this call; null for the model's own.</param>
        /// <param name="cancellationToken">Stops the generation between two tokens (OperationCanceledException).</param>
        /// <returns>The generated tokens' text, in order.</returns>
        public static IEnumerable<string> GenerateTokens<TInput>(this ITransformer pipeline, TInput input, GenerationOptions? generation = null,
            CancellationToken cancellationToken = default)
            where TInput : class
        {
            var ids = ReadTokenIds(pipeline, input, out var model);
            return model.GenerateTokens(ids, generation, cancellationToken);
        }

        /// <summary>
        /// The token ids of one input row: the row goes through the pipeline's transforms before its language model
        /// (<paramref name="model"/>), as a PredictionEngine would send it.
        /// </summary>
        internal static int[] ReadTokenIds<TInput>(ITransformer pipeline, TInput input, out RecurrentLanguageModelTransformer model)
            where TInput : class
        {
            if (input is null)
                throw new ArgumentNullException(nameof(input));
            model = pipeline.GetLanguageModel();
            var language = model;
            var before = TransformerChains.Flatten(pipeline).TakeWhile(t => !ReferenceEquals(t, language)).ToArray();
            IDataView row = DataViewConstructionUtils.CreateFromEnumerable(model.Environment, new[] { input });
            foreach (var transformer in before)
                row = transformer.Transform(row);
            var column = TokenColumn.Bind(row.Schema, model.TokenColumnName);
            int[] ids;
            using (var cursor = row.GetRowCursor(new[] { column.Column }))
            {
                var read = column.MakeReader(cursor);
                if (!cursor.MoveNext())
                    throw new InvalidOperationException("The pipeline's transforms before the language model produced no row for the input.");
                ids = read().ToArray();
            }
            return ids;
        }
    }
}
