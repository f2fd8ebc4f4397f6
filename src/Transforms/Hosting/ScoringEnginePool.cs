using System;
using System.Collections.Concurrent;
using System.IO;
using System.Security.Cryptography;
using System.Threading;
using Microsoft.ML;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Thread-safe scoring for web apps and other multi-threaded hosts, over a model object or a model file that it
    /// reloads when the file is replaced. ML.NET's <see cref="PredictionEngine{TSrc, TDst}"/> is not thread-safe (it
    /// reuses buffers), while fitted or loaded transformers are; this pool lends each caller an engine of its own for
    /// the duration of one prediction, creating engines on demand and keeping up to <see cref="MaximumRetained"/> of
    /// them for reuse.
    /// </summary>
    /// <remarks>
    /// <para>
    /// Not Microsoft.Extensions.ML's <c>PredictionEnginePool</c> (a dependency-injection service with named models):
    /// this one has no dependency beyond ML.NET. <see cref="FromFile"/> watches the file, and when it is replaced (best
    /// by an atomic rename, as <see cref="AtomicModelSave.SaveAtomically"/> does) loads the new model, checks it against
    /// <typeparamref name="TInput"/> and <typeparamref name="TOutput"/>, and only then serves it. A prediction that
    /// started on the previous model finishes on it, so no caller sees a failure across a swap; a file that does not
    /// load is rejected and the previous model goes on serving (<see cref="ReloadFailed"/> says why).
    /// </para>
    /// <para>
    /// For work longer than one prediction (streaming a generated continuation with
    /// <see cref="LanguageModelPipelineExtensions.GenerateTokens{TInput}"/>), take <see cref="Model"/> once at the start
    /// and use that object throughout: the request finishes on the model it started with.
    /// </para>
    /// </remarks>
    /// <typeparam name="TInput">The input row class.</typeparam>
    /// <typeparam name="TOutput">The output row class.</typeparam>
    public sealed class ScoringEnginePool<TInput, TOutput> : IDisposable
        where TInput : class
        where TOutput : class, new()
    {
        /// <summary>How long the file must stay unchanged after a change notification before it is read (a writer that is not atomic writes in steps).</summary>
        private static readonly TimeSpan SettleTime = TimeSpan.FromMilliseconds(200);

        private readonly MLContext _ml;
        private readonly bool _ignoreMissingColumns;
        private readonly Action<ITransformer>? _validate;
        private readonly object _reloadGate = new();
        private readonly FileSystemWatcher? _watcher;
        private readonly Timer? _poll;
        private readonly Timer? _settle;
        private volatile Loaded _current;
        private (DateTime WriteTime, long Length) _stamp;
        private volatile bool _disposed;

        /// <summary>Creates a pool over a fitted or loaded model (never reloaded).</summary>
        /// <param name="ml">The context to create engines with.</param>
        /// <param name="model">The model; shared by every engine.</param>
        /// <param name="maximumRetained">How many idle engines to keep; more are created under load and disposed after use. Default: twice the processor count.</param>
        /// <param name="ignoreMissingColumns">
        /// Whether a property of <typeparamref name="TOutput"/> that is not a column of the model's output is left at its
        /// default value (ML.NET's default for a PredictionEngine) instead of failing here. Default false: a renamed or
        /// dropped output column, or a misspelt property, fails when the pool is created rather than scoring defaults.
        /// </param>
        /// <exception cref="ArgumentOutOfRangeException">The model's output does not fit <typeparamref name="TOutput"/> (or its input <typeparamref name="TInput"/>), or <paramref name="maximumRetained"/> is below 1.</exception>
        public ScoringEnginePool(MLContext ml, ITransformer model, int? maximumRetained = null, bool ignoreMissingColumns = false)
            : this(ml, maximumRetained, ignoreMissingColumns, validate: null)
        {
            ArgumentNullException.ThrowIfNull(model);
            _current = Prepare(model, version: 1, sha256: null);
        }

        private ScoringEnginePool(MLContext ml, int? maximumRetained, bool ignoreMissingColumns, Action<ITransformer>? validate)
        {
            _ml = ml ?? throw new ArgumentNullException(nameof(ml));
            _ignoreMissingColumns = ignoreMissingColumns;
            _validate = validate;
            MaximumRetained = maximumRetained ?? 2 * Environment.ProcessorCount;
            if (MaximumRetained < 1)
                throw new ArgumentOutOfRangeException(nameof(maximumRetained), maximumRetained, "maximumRetained must be at least 1.");
            _current = null!;
        }

        private ScoringEnginePool(MLContext ml, string path, bool watchForChanges, TimeSpan pollingInterval, int? maximumRetained, bool ignoreMissingColumns,
            Action<ITransformer>? validate)
            : this(ml, maximumRetained, ignoreMissingColumns, validate)
        {
            ModelPath = path;
            _stamp = Stamp(path);
            byte[] bytes = File.ReadAllBytes(path);
            try
            {
                _current = Prepare(Load(bytes), version: 1, Sha256(bytes));
            }
            catch (Exception e) when (e is not FileNotFoundException and not OutOfMemoryException)
            {
                throw new InvalidDataException($"Model file '{path}' could not be loaded: {ModelReloadEventArgs.Describe(e)}", e);
            }
            if (!watchForChanges)
                return;
            // Change notifications (inotify on Linux) make a swap visible within SettleTime; the poll catches what they
            // miss (file systems without notifications, an exhausted inotify limit).
            _settle = new Timer(_ => ReloadInBackground(), null, Timeout.Infinite, Timeout.Infinite);
            _watcher = new FileSystemWatcher(Path.GetDirectoryName(path)!, Path.GetFileName(path))
            {
                NotifyFilter = NotifyFilters.FileName | NotifyFilters.LastWrite | NotifyFilters.Size | NotifyFilters.CreationTime,
            };
            FileSystemEventHandler changed = (_, _) => _settle.Change(SettleTime, Timeout.InfiniteTimeSpan);
            _watcher.Changed += changed;
            _watcher.Created += changed;
            _watcher.Renamed += (_, e) =>
            {
                if (string.Equals(e.FullPath, path, StringComparison.Ordinal))
                    _settle.Change(SettleTime, Timeout.InfiniteTimeSpan);
            };
            _watcher.EnableRaisingEvents = true;
            _poll = new Timer(_ => PollInBackground(), null, pollingInterval, pollingInterval);
        }

        /// <summary>
        /// Creates a pool over a model file: loads it now, and with <paramref name="watchForChanges"/> loads it again
        /// whenever it is replaced, switching to the new model only once it has loaded and fits the row classes.
        /// </summary>
        /// <param name="ml">The context to load the model and create engines with.</param>
        /// <param name="modelPath">The model zip.</param>
        /// <param name="watchForChanges">Whether to reload when the file changes. Default true.</param>
        /// <param name="pollingInterval">How often to compare the file's time stamp and length with the loaded one, besides change notifications. Default 2 seconds.</param>
        /// <param name="maximumRetained">How many idle engines to keep; default twice the processor count.</param>
        /// <param name="ignoreMissingColumns">As in the constructor: false fails on a property of <typeparamref name="TOutput"/> that the model does not produce.</param>
        /// <param name="validate">
        /// An extra check of every model before it is served, first and reloaded alike (for example
        /// <c>m =&gt; m.GetLanguageModel()</c>); an exception rejects the model.
        /// </param>
        /// <returns>The pool, serving the model of version 1.</returns>
        /// <exception cref="FileNotFoundException">The file does not exist.</exception>
        /// <exception cref="InvalidDataException">The file is not a model that loads and fits <typeparamref name="TOutput"/>; the message says why.</exception>
        public static ScoringEnginePool<TInput, TOutput> FromFile(MLContext ml, string modelPath, bool watchForChanges = true, TimeSpan? pollingInterval = null,
            int? maximumRetained = null, bool ignoreMissingColumns = false, Action<ITransformer>? validate = null)
        {
            ArgumentNullException.ThrowIfNull(ml);
            ArgumentException.ThrowIfNullOrWhiteSpace(modelPath);
            var interval = pollingInterval ?? TimeSpan.FromSeconds(2);
            if (interval <= TimeSpan.Zero)
                throw new ArgumentOutOfRangeException(nameof(pollingInterval), pollingInterval, "pollingInterval must be positive.");
            string full = Path.GetFullPath(modelPath);
            if (!File.Exists(full))
                throw new FileNotFoundException($"Model file '{modelPath}' does not exist. Save one there first (mlContext.Model.SaveAtomically).", full);
            return new ScoringEnginePool<TInput, TOutput>(ml, full, watchForChanges, interval, maximumRetained, ignoreMissingColumns, validate);
        }

        /// <summary>The most idle engines kept for reuse.</summary>
        public int MaximumRetained { get; }

        /// <summary>The model file, for a pool made by <see cref="FromFile"/>; null over a model object.</summary>
        public string? ModelPath { get; }

        /// <summary>The model being served now. Take it once per request for work longer than one prediction.</summary>
        public ITransformer Model => _current.Model;

        /// <summary>The model being served now and its <see cref="ModelVersion"/>, read together (a reload may happen between two reads of the properties).</summary>
        /// <param name="modelVersion">The version of the returned model.</param>
        /// <returns>The model; use this one object for the whole of a request.</returns>
        public ITransformer GetModel(out long modelVersion)
        {
            var loaded = _current;
            modelVersion = loaded.Version;
            return loaded.Model;
        }

        /// <summary>1 for the first model, one more for each reload that switched to a new model.</summary>
        public long ModelVersion => _current.Version;

        /// <summary>The SHA-256 (hexadecimal) of the model file being served; null over a model object.</summary>
        public string? ModelSha256 => _current.Sha256;

        /// <summary>When the model being served was loaded.</summary>
        public DateTimeOffset ModelLoadedAt => _current.LoadedAt;

        /// <summary>The last reload that was rejected since the model being served was loaded, or null.</summary>
        public ModelReloadEventArgs? LastReloadFailure { get; private set; }

        /// <summary>Raised (on a background thread, or in <see cref="Reload"/>'s caller) after a new model was switched to.</summary>
        public event EventHandler<ModelReloadEventArgs>? Reloaded;

        /// <summary>Raised when a changed file was rejected; the previous model goes on serving. Raised once per change, not per poll.</summary>
        public event EventHandler<ModelReloadEventArgs>? ReloadFailed;

        /// <summary>Predicts one row; safe to call from any number of threads at once, also while the model is reloaded.</summary>
        public TOutput Predict(TInput input) => Predict(input, out _);

        /// <summary>Predicts one row, and says which model version predicted it (a reload may happen at any time).</summary>
        /// <param name="input">The row.</param>
        /// <param name="modelVersion">The <see cref="ModelVersion"/> of the model that made the prediction.</param>
        public TOutput Predict(TInput input, out long modelVersion)
        {
            ObjectDisposedException.ThrowIf(_disposed, this);
            var loaded = _current;
            modelVersion = loaded.Version;
            var engine = loaded.Idle.TryTake(out var idle) ? idle : Create(loaded.Model);
            try
            {
                // A new output object per call: callers on other threads may still hold earlier results.
                var output = new TOutput();
                engine.Predict(input, ref output);
                return output;
            }
            finally
            {
                if (_disposed || !ReferenceEquals(loaded, _current) || loaded.Idle.Count >= MaximumRetained)
                    engine.Dispose();
                else
                    loaded.Idle.Add(engine);
            }
        }

        /// <summary>
        /// Reads the model file now and switches to it if its content changed and it loads; the watcher calls the same
        /// code. Concurrent calls run one at a time.
        /// </summary>
        /// <returns>True when a new model is being served, false when the file holds the model already served.</returns>
        /// <exception cref="InvalidOperationException">The pool was created over a model object, so there is no file.</exception>
        /// <exception cref="InvalidDataException">The file could not be read or loaded, or does not fit the row classes; the previous model goes on serving.</exception>
        public bool Reload() => ReloadFile(onlyIfStampChanged: false);

        /// <param name="onlyIfStampChanged">
        /// For the watcher and the poll: skip the file when its time stamp and length are those of the last read, so
        /// that a rejected file is reported once, not at every notification and poll.
        /// </param>
        private bool ReloadFile(bool onlyIfStampChanged)
        {
            if (ModelPath is not string path)
                throw new InvalidOperationException("This pool serves a model object, not a file, so there is nothing to reload. Create it with ScoringEnginePool.FromFile to reload a model file.");
            lock (_reloadGate)
            {
                ObjectDisposedException.ThrowIf(_disposed, this);
                var stamp = Stamp(path);
                if (onlyIfStampChanged && stamp == _stamp)
                    return false;
                string sha256 = "";
                try
                {
                    byte[] bytes = File.ReadAllBytes(path);
                    _stamp = stamp;
                    sha256 = Sha256(bytes);
                    if (sha256 == _current.Sha256)
                        return false;
                    var next = Prepare(Load(bytes), _current.Version + 1, sha256);
                    var previous = _current;
                    _current = next;
                    LastReloadFailure = null;
                    // Engines lent out of the previous model are disposed as their predictions end (see Predict).
                    while (previous.Idle.TryTake(out var engine))
                        engine.Dispose();
                }
                catch (Exception e) when (e is not OutOfMemoryException)
                {
                    _stamp = stamp;
                    var failure = new ModelReloadEventArgs(path, _current.Version, sha256, e);
                    LastReloadFailure = failure;
                    ReloadFailed?.Invoke(this, failure);
                    throw new InvalidDataException($"Model file '{path}' was not loaded, so version {_current.Version} goes on serving: {failure.Reason}", e);
                }
                Reloaded?.Invoke(this, new ModelReloadEventArgs(path, _current.Version, sha256, null));
                return true;
            }
        }

        private void PollInBackground()
        {
            if (_disposed || ModelPath is null)
                return;
            if (Stamp(ModelPath) != _stamp)
                ReloadInBackground();
        }

        private void ReloadInBackground()
        {
            if (_disposed)
                return;
            try
            {
                ReloadFile(onlyIfStampChanged: true);
            }
            catch (Exception e) when (e is InvalidDataException or ObjectDisposedException)
            {
                // Reported through ReloadFailed and LastReloadFailure; the previous model goes on serving.
            }
        }

        private ITransformer Load(byte[] bytes)
        {
            using var stream = new MemoryStream(bytes, writable: false);
            return _ml.Model.Load(stream, out _);
        }

        /// <summary>Checks a model (a first engine fits the row classes, the caller's validation passes) before it is served.</summary>
        private Loaded Prepare(ITransformer model, long version, string? sha256)
        {
            // Creating the first engine checks the model against TInput/TOutput now, not on the first request.
            var first = Create(model);
            try
            {
                _validate?.Invoke(model);
            }
            catch
            {
                first.Dispose();
                throw;
            }
            var loaded = new Loaded(model, version, sha256, DateTimeOffset.UtcNow);
            loaded.Idle.Add(first);
            return loaded;
        }

        private PredictionEngine<TInput, TOutput> Create(ITransformer model) => _ml.Model.CreatePredictionEngine<TInput, TOutput>(model, _ignoreMissingColumns);

        private static (DateTime, long) Stamp(string path)
        {
            var info = new FileInfo(path);
            return info.Exists ? (info.LastWriteTimeUtc, info.Length) : (DateTime.MinValue, -1);
        }

        private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

        /// <summary>Stops watching the file and disposes the idle engines; engines in use are disposed when their prediction ends.</summary>
        public void Dispose()
        {
            _disposed = true;
            _watcher?.Dispose();
            _poll?.Dispose();
            _settle?.Dispose();
            lock (_reloadGate)
            {
                while (_current?.Idle.TryTake(out var engine) == true)
                    engine.Dispose();
            }
        }

        /// <summary>One model being served and its idle engines.</summary>
        private sealed class Loaded
        {
            public Loaded(ITransformer model, long version, string? sha256, DateTimeOffset loadedAt)
            {
                Model = model;
                Version = version;
                Sha256 = sha256;
                LoadedAt = loadedAt;
            }

            public ITransformer Model { get; }

            public long Version { get; }

            public string? Sha256 { get; }

            public DateTimeOffset LoadedAt { get; }

            public ConcurrentBag<PredictionEngine<TInput, TOutput>> Idle { get; } = new();
        }
    }
}
