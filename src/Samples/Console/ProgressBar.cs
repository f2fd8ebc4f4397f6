using System;
using System.Diagnostics;
using System.Threading;

namespace MlnetLstm.Samples
{
    /// <summary>
    /// A one-line progress bar against the training time budget, redrawn every second on a terminal; when the output
    /// is redirected to a file, a plain line every 10%.
    /// </summary>
    /// <remarks>
    /// Not Spectre.Console's Progress: its live display owns the console while it runs, so the per-epoch lines that
    /// training writes from MLContext.Log cannot go above it, and with output redirected (CI logs, tee) it shows
    /// nothing until the end, where this writes a line every 10% of the budget.
    /// </remarks>
    internal sealed class ProgressBar : IDisposable
    {
        private static readonly object Gate = new();
        private static bool _drawn;
        private readonly Timer _timer;
        private readonly Stopwatch _clock = Stopwatch.StartNew();
        private readonly TimeSpan _budget;

        public ProgressBar(TimeSpan budget)
        {
            _budget = budget;
            _timer = new Timer(_ => Draw(), null, TimeSpan.Zero, TimeSpan.FromSeconds(1));
        }

        private int _lastTenth = -1;

        private void Draw()
        {
            double fraction = Math.Min(1, _clock.Elapsed / _budget);
            int filled = (int)(fraction * 40);
            string bar = $"[{new string('#', filled)}{new string('.', 40 - filled)}] {fraction:P0} of the {_budget.TotalMinutes:G3}-minute training budget";
            lock (Gate)
            {
                if (!Console.IsOutputRedirected)
                {
                    Console.Write("\r" + bar + " ");
                    _drawn = true;
                }
                else if ((int)(fraction * 10) > _lastTenth)
                {
                    _lastTenth = (int)(fraction * 10);
                    Console.WriteLine(bar);
                }
            }
        }

        /// <summary>Prints the training messages MlnetLstm writes to <c>MLContext.Log</c> (per-epoch metrics), above the bar.</summary>
        public static void ShowTrainingLog(Microsoft.ML.MLContext ml) => ml.Log += (_, e) =>
        {
            if (e.Kind is Microsoft.ML.Runtime.ChannelMessageKind.Info or Microsoft.ML.Runtime.ChannelMessageKind.Warning
                && e.Source.StartsWith("Recurrent", StringComparison.Ordinal))
                Clear(e.RawMessage);
        };

        /// <summary>Writes a message on its own line, above the bar.</summary>
        public static void Clear(string message)
        {
            lock (Gate)
            {
                Console.WriteLine((_drawn ? "\r" + new string(' ', 79) + "\r" : "") + message);
                _drawn = false;
            }
        }

        public void Dispose()
        {
            _timer.Dispose();
            Clear("");
        }
    }
}
