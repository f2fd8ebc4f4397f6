// MlnetLstm.WebApi: serves a language-model zip over HTTP.
//   POST /generate  streams a continuation as server-sent events (GenerateEndpoint)
//   POST /score     log-likelihood, perplexity, bits per token and per character of a text (ScoreEndpoint)
//   GET  /health    the model being served (HealthEndpoint)
//   GET  /metrics   request counts and latencies, batch sizes, tokens, the model version, in Prometheus' format (ServiceMetrics)
// Settings: the "Model" section (ModelServiceOptions) from appsettings.json, the environment (Model__Path=…) or the
// command line (--Model:Path=…). Replace the model file by an atomic rename to deploy a new model without a restart.
using System;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Options;
using MlnetLstm.Transforms;
using MlnetLstm.WebApi;
using OpenTelemetry.Metrics;

var builder = WebApplication.CreateBuilder(args);
builder.Services.Configure<ModelServiceOptions>(builder.Configuration.GetSection(ModelServiceOptions.Section));
builder.Services.AddSingleton<LanguageModelService>();
// Observability and shutdown (batching, issue 24): metrics exported at /metrics; on SIGTERM open streams get Model:ShutdownSeconds to finish.
builder.Services.AddSingleton<ServiceMetrics>();
builder.Services.AddOpenTelemetry().WithMetrics(metrics => metrics
    .AddAspNetCoreInstrumentation()
    .AddMeter(ServiceMetrics.MeterName, LanguageModelBatcher.MeterName)
    .AddPrometheusExporter());
builder.Services.AddOptions<HostOptions>().Configure<IOptions<ModelServiceOptions>>((host, model) => host.ShutdownTimeout = TimeSpan.FromSeconds(model.Value.ShutdownSeconds));
// Limits against hostile clients (docs/bad-input.md): Kestrel's, from the settings, and the open /generate streams.
builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<ModelServiceOptions>>((kestrel, model) => ServerLimits.Apply(kestrel, model.Value));
builder.Services.AddSingleton<StreamSlots>();
var app = builder.Build();
// Load the model now, so that a missing or bad model fails the start rather than the first request.
app.Services.GetRequiredService<LanguageModelService>();
app.Services.GetRequiredService<ServiceMetrics>();
app.MapPost("/generate", GenerateEndpoint.HandleAsync);
app.MapPost("/score", ScoreEndpoint.HandleAsync);
app.MapGet("/health", HealthEndpoint.Handle);
app.MapPrometheusScrapingEndpoint();
app.Run();
