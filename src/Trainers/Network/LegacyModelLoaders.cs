using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Runtime;
using MlnetLstm.Trainers;
using MlnetLstm.Transforms;

[assembly: LoadableClass(typeof(RecurrentLanguageModelTransformer), typeof(LegacyModelLoaders.LanguageModel), null, typeof(SignatureLoadModel),
    RecurrentLanguageModelTransformer.UserName, LegacyModelLoaders.LanguageModel.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(LegacyModelLoaders.LanguageModel), null, typeof(SignatureLoadRowMapper),
    RecurrentLanguageModelTransformer.UserName, LegacyModelLoaders.LanguageModel.LoaderSignature)]
[assembly: LoadableClass(typeof(RecurrentRegressionTransformer), typeof(LegacyModelLoaders.Regressor), null, typeof(SignatureLoadModel),
    RecurrentRegressionTransformer.UserName, LegacyModelLoaders.Regressor.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(LegacyModelLoaders.Regressor), null, typeof(SignatureLoadRowMapper),
    RecurrentRegressionTransformer.UserName, LegacyModelLoaders.Regressor.LoaderSignature)]
[assembly: LoadableClass(typeof(RecurrentClassificationTransformer), typeof(LegacyModelLoaders.Classifier), null, typeof(SignatureLoadModel),
    RecurrentClassificationTransformer.UserName, LegacyModelLoaders.Classifier.LoaderSignature)]
[assembly: LoadableClass(typeof(IRowMapper), typeof(LegacyModelLoaders.Classifier), null, typeof(SignatureLoadRowMapper),
    RecurrentClassificationTransformer.UserName, LegacyModelLoaders.Classifier.LoaderSignature)]

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Loaders for model zips written before format 0x00010003, when the fitted transformers lived in this assembly:
    /// such a zip names MlnetLstm.Trainers as the loader assembly of its recurrent component, under the loader
    /// signatures of that time. They read it with today's transformers (in MlnetLstm.Transforms); saving the loaded
    /// model again writes today's format, which needs only MlnetLstm.Transforms to load.
    /// </summary>
    internal static class LegacyModelLoaders
    {
        internal static class LanguageModel
        {
            internal const string LoaderSignature = "MlnetLstmRecurrentLM";

            private static RecurrentLanguageModelTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
                => RecurrentLanguageModelTransformer.Load(env, ctx, RecurrentLanguageModelTransformer.GetVersionInfo(LoaderSignature));

            private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
                => Create(env, ctx).CreateRowMapper(inputSchema);
        }

        internal static class Regressor
        {
            internal const string LoaderSignature = "MlnetLstmRecurrentRegr";

            private static RecurrentRegressionTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
                => RecurrentRegressionTransformer.Load(env, ctx, RecurrentRegressionTransformer.GetVersionInfo(LoaderSignature));

            private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
                => Create(env, ctx).CreateRowMapper(inputSchema);
        }

        internal static class Classifier
        {
            internal const string LoaderSignature = "MlnetLstmRecurrentClass";

            private static RecurrentClassificationTransformer Create(IHostEnvironment env, ModelLoadContext ctx)
                => RecurrentClassificationTransformer.Load(env, ctx, RecurrentClassificationTransformer.GetVersionInfo(LoaderSignature));

            private static IRowMapper Create(IHostEnvironment env, ModelLoadContext ctx, DataViewSchema inputSchema)
                => Create(env, ctx).CreateRowMapper(inputSchema);
        }
    }
}
