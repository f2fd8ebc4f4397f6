using Microsoft.AspNetCore.Http;
using MlnetLstm.Transforms;

namespace MlnetLstm.WebApi
{
    /// <summary>GET /health: 200 with the model being served (file, version, SHA-256, load time, vocabulary size) and the last rejected reload, if any.</summary>
    internal static class HealthEndpoint
    {
        public static IResult Handle(LanguageModelService service)
        {
            var pool = service.Pool;
            var model = pool.GetModel(out long version);
            var failure = pool.LastReloadFailure;
            return Results.Json(new
            {
                status = "ok",
                model = new
                {
                    path = pool.ModelPath,
                    version,
                    sha256 = pool.ModelSha256,
                    loadedAt = pool.ModelLoadedAt,
                    vocabularySize = model.GetLanguageModel().Vocabulary.Count,
                },
                lastReloadFailure = failure is null ? null : new { reason = failure.Reason, sha256 = failure.Sha256 },
            }, Json.Options);
        }
    }
}
