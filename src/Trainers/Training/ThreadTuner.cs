using System;
using System.Collections.Generic;
using System.Globalization;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The CPU thread count of a training whose <see cref="RecurrentTrainingOptions.NumberOfThreads"/> is left unset:
    /// TorchSharp's default count or one thread, whichever trains faster now. Beside other CPU-bound processes,
    /// OpenMP's threads wait for one another at every operation, and a preempted one stalls them all: on 2 cores beside
    /// two busy processes, one thread trained 10× faster than two. The tuner measures the training's own batches in
    /// windows of at least <see cref="Window"/>: after a first window (set-up costs, not counted), one at the starting
    /// count, then one at the other; it keeps the faster by <see cref="Margin"/>, and measures the other again after
    /// <see cref="Recheck"/>, or as soon as a window runs at less than half the speed measured at the last decision.
    /// Within the first <see cref="WarmUp"/> a new network is slower whatever the count (its kernels meet new sequence
    /// lengths), so a decision there switches only for <see cref="WarmUpMargin"/> and is measured again when the
    /// warm-up ends. It decides; the callback it is given sets the count.
    /// </summary>
    internal sealed class ThreadTuner
    {
        /// <summary>The shortest measuring window (and at least <see cref="MinimumBatches"/> batches, or one batch when measuring the other count).</summary>
        public static readonly TimeSpan Window = TimeSpan.FromSeconds(0.5);

        /// <summary>How long a new network's speed is still settling.</summary>
        public static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(5);

        /// <summary>How much faster the other count must be to replace the current one within <see cref="WarmUp"/>.</summary>
        public const double WarmUpMargin = 1.5;

        /// <summary>How long a decision stands before the other count is measured again.</summary>
        public static readonly TimeSpan Recheck = TimeSpan.FromSeconds(30);

        /// <summary>The fewest batches in a window.</summary>
        public const int MinimumBatches = 2;

        /// <summary>A window below this share of the speed at the last decision measures the other count at once.</summary>
        public const double Slowdown = 0.5;

        /// <summary>The other count must be this much faster to replace the current one (measurements are noisy).</summary>
        public const double Margin = 1.05;

        /// <summary>Decisions listed in full in <see cref="Summary"/>: the first ones and the latest ones.</summary>
        private const int ListedDecisions = 12;

        private readonly int _default;
        private readonly Action<int> _apply;
        private readonly string _itemName;
        private readonly List<string> _decisions = new();
        private int _decisionCount;
        private TimeSpan _windowStart;
        private long _windowItems;
        private int _windowBatches;
        private double? _currentRate;
        private readonly TimeSpan _started;
        private bool _warmedUp, _probing, _provisional;
        private double _reference;
        private TimeSpan _decidedAt;

        /// <param name="defaultCount">TorchSharp's default count (more than 1).</param>
        /// <param name="start">The count to start at: the default, or 1 where measuring before training found it faster.</param>
        /// <param name="apply">Sets the thread count.</param>
        /// <param name="itemName">What an item is, for the messages ("token").</param>
        /// <param name="now">The training clock now.</param>
        public ThreadTuner(int defaultCount, int start, Action<int> apply, string itemName, TimeSpan now)
        {
            if (defaultCount < 2)
                throw new ArgumentOutOfRangeException(nameof(defaultCount), defaultCount, "A tuner chooses between the default count and 1, so the default must be more than 1.");
            _default = defaultCount;
            _apply = apply;
            _itemName = itemName;
            Current = start;
            _windowStart = _started = now;
            _apply(start);
        }

        /// <summary>The thread count in effect.</summary>
        public int Current { get; private set; }

        /// <summary>The decisions so far, for the log and the saved settings.</summary>
        public string Summary => _decisionCount == 0 ? $"ran at {Current} throughout: training ended before both counts were measured"
            : _decisionCount <= _decisions.Count ? string.Join("; ", _decisions)
            : string.Join("; ", _decisions.GetRange(0, ListedDecisions / 2)) + $"; … {_decisionCount - _decisions.Count} more …; " +
              string.Join("; ", _decisions.GetRange(ListedDecisions / 2, _decisions.Count - ListedDecisions / 2));

        private int Other => Current == 1 ? _default : 1;

        /// <summary>Leaves <paramref name="time"/> that was not training (validation, checkpoints) out of the current window.</summary>
        public void Exclude(TimeSpan time) => _windowStart += time;

        /// <summary>Counts a finished batch of <paramref name="items"/> items; returns a decision's log message when a window ends in one.</summary>
        public string? AfterBatch(long items, TimeSpan now)
        {
            _windowItems += items;
            _windowBatches++;
            var length = now - _windowStart;
            // Measuring the other count costs whatever it is slower by: one batch that outlasts the window is enough
            // (beside busy processes one batch at the wrong count took seconds).
            if (length < Window || _windowBatches < (_probing ? 1 : MinimumBatches))
                return null;
            double rate = _windowItems / length.TotalSeconds;
            _windowStart = now;
            _windowItems = 0;
            _windowBatches = 0;
            return _probing ? Decide(rate, now) : Observe(rate, now);
        }

        /// <summary>A window at the current count: measure the other count when none is known yet, the decision is old, or the speed halved.</summary>
        private string? Observe(double rate, TimeSpan now)
        {
            if (!_warmedUp)
            {
                _warmedUp = true;
                return null;
            }
            _currentRate = rate;
            bool first = _decisionCount == 0, warmUpEnded = _provisional && now - _started >= WarmUp;
            if (!first && !warmUpEnded && now - _decidedAt < Recheck && rate >= Slowdown * _reference)
                return null;
            _probing = true;
            Current = Other;
            _apply(Current);
            return null;
        }

        /// <summary>A window at the other count: keep the faster of the two.</summary>
        private string Decide(double probed, TimeSpan now)
        {
            _probing = false;
            int probedCount = Current, previous = Other;
            double previousRate = _currentRate!.Value;
            _provisional = now - _started < WarmUp;
            bool switched = probed > (_provisional ? WarmUpMargin : Margin) * previousRate;
            if (!switched)
            {
                Current = previous;
                _apply(Current);
            }
            _reference = switched ? probed : previousRate;
            _decidedAt = now;
            string decision = $"at {now.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture)} s {Rate(previous, previousRate)}, {Rate(probedCount, probed)}: " +
                (switched ? $"switched to {Current}" : $"kept {Current}");
            Record(decision);
            return $"Threads {decision}.";
        }

        private string Rate(int threads, double rate)
            => $"{threads} thread{(threads == 1 ? "" : "s")} {rate.ToString("N0", CultureInfo.InvariantCulture)} {_itemName}s/s";

        private void Record(string decision)
        {
            _decisionCount++;
            if (_decisions.Count == ListedDecisions)
                _decisions.RemoveAt(ListedDecisions / 2);
            _decisions.Add(decision);
        }
    }
}
