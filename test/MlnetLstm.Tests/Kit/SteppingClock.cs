using System;
using System.Threading;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// A fake clock for the trainers' time budget and speed measurements: every reading moves it on by
    /// <see cref="Step"/> (or by what <see cref="StepFor"/> says), so a test controls how long training "takes"
    /// without depending on how fast the machine is.
    /// </summary>
    internal sealed class SteppingClock : TimeProvider
    {
        private long _ticks;

        public SteppingClock(TimeSpan step) => Step = step;

        /// <summary>How far every reading moves the clock on.</summary>
        public TimeSpan Step { get; }

        /// <summary>When set, how far a reading moves the clock on instead of <see cref="Step"/> (for example by the thread count in effect).</summary>
        public Func<TimeSpan>? StepFor { get; init; }

        public override long TimestampFrequency => TimeSpan.TicksPerSecond;

        public override long GetTimestamp() => Interlocked.Add(ref _ticks, (StepFor?.Invoke() ?? Step).Ticks);
    }
}
