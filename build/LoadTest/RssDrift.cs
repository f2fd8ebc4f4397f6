using System;
using System.Collections.Generic;
using System.Linq;

namespace MlnetLstm.LoadTest
{
    /// <summary>
    /// The server's resident-set drift over one run: the mean RSS over an early window (after a warm-up as long as
    /// the window) against the mean over the last window. The windows are a third of the run, at most a minute, so a
    /// run of any length the load test accepts (10 s or more, sampled every second) has samples in both: at 180 s the
    /// second and the last minute, at 90 s the second and the last 30 s.
    /// </summary>
    /// <param name="EarlyFrom">Start of the early window, seconds into the run.</param>
    /// <param name="Width">The windows' width in seconds.</param>
    /// <param name="Early">Mean RSS over the early window, bytes.</param>
    /// <param name="LateFrom">Start of the last window.</param>
    /// <param name="Late">Mean RSS over the last window, bytes.</param>
    internal sealed record RssDrift(double EarlyFrom, double Width, double Early, double LateFrom, double Late)
    {
        /// <summary>(late − early) / early, in percent.</summary>
        public double Percent => (Late - Early) / Early * 100;

        /// <summary>Measures the drift of <paramref name="samples"/> (second into the run, RSS bytes) over a run of <paramref name="seconds"/>.</summary>
        /// <exception cref="ArgumentException">A window holds no sample (the run was shorter than it said, or the sampling stopped): the message says which.</exception>
        public static RssDrift Measure(IReadOnlyCollection<(double Second, long Bytes)> samples, double seconds)
        {
            double width = Math.Min(60, seconds / 3), lateFrom = seconds - width;
            double Mean(double from, double to, string name)
            {
                var inside = samples.Where(s => s.Second >= from && s.Second < to).ToList();
                if (inside.Count == 0)
                    throw new ArgumentException($"No RSS sample in the {name} window ({from:F0} to {to:F0} s) of a {seconds:F0} s run ({samples.Count} samples from " +
                        $"{(samples.Count == 0 ? 0 : samples.Min(s => s.Second)):F0} to {(samples.Count == 0 ? 0 : samples.Max(s => s.Second)):F0} s).", nameof(samples));
                return inside.Average(s => (double)s.Bytes);
            }
            return new RssDrift(width, width, Mean(width, 2 * width, "early"), lateFrom, Mean(lateFrom, seconds + 1, "last"));
        }
    }
}
