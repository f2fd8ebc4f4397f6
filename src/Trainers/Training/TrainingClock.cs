using System;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The time since a trainer's Fit began: what <see cref="RecurrentTrainingOptions.TimeBudget"/> limits (reading
    /// the data, measuring, training, validation and checkpoints all count), and what the measurements of speed read.
    /// </summary>
    internal sealed class TrainingClock
    {
        private readonly TimeProvider _time;
        private readonly long _start;

        public TrainingClock(TimeProvider time)
        {
            _time = time;
            _start = time.GetTimestamp();
        }

        public TimeSpan Elapsed => _time.GetElapsedTime(_start);
    }
}
