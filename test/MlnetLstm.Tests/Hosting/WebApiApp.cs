using System;
using System.Collections.Concurrent;
using System.Collections.Generic;
using System.Linq;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.ML;
using MlnetLstm.Transforms;
using MlnetLstm.WebApi;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The web API (src/Samples/WebApi) over one model file, with fast polling, captured logs and extra settings:
    /// in-process by default (TestServer), or on a real Kestrel socket (<see cref="StartKestrel"/>) for the limits that
    /// only Kestrel applies (body size, timeouts, data rates, connections).
    /// </summary>
    internal sealed class WebApiApp : WebApplicationFactory<LanguageModelService>
    {
        private readonly MLContext _ml;
        private readonly IReadOnlyDictionary<string, string> _settings;

        public WebApiApp(MLContext ml, ITransformer model, string name, IReadOnlyDictionary<string, string>? settings = null)
        {
            _ml = ml;
            _settings = settings ?? new Dictionary<string, string>();
            Path = System.IO.Path.Combine(TestData.TempDirectory(name), "model.zip");
            Save(model);
        }

        public string Path { get; }

        public ConcurrentQueue<(LogLevel Level, string Message)> Logs { get; } = new();

        public void Save(ITransformer model) => _ml.Model.SaveAtomically(model, TestData.Texts(_ml, "a").Schema, Path);

        /// <summary>Starts the app on Kestrel at a free loopback port; returns its address.</summary>
        public Uri StartKestrel()
        {
            UseKestrel(0);
            StartServer();
            return new Uri(Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First());
        }

        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("Model:Path", Path);
            builder.UseSetting("Model:PollingIntervalMilliseconds", "100");
            builder.UseSetting("Model:MaximumNewTokens", "500");
            foreach (var (key, value) in _settings)
                builder.UseSetting(key, value);
            builder.ConfigureLogging(logging => logging.AddProvider(new CapturingLoggerProvider(Logs)));
        }

        private sealed class CapturingLoggerProvider : ILoggerProvider, ILogger
        {
            private readonly ConcurrentQueue<(LogLevel, string)> _logs;

            public CapturingLoggerProvider(ConcurrentQueue<(LogLevel, string)> logs) => _logs = logs;

            public ILogger CreateLogger(string categoryName) => this;

            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
                => _logs.Enqueue((logLevel, formatter(state, exception)));

            public void Dispose()
            {
            }
        }
    }
}
