using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>How a language-model epoch cuts the token stream into batches (the seeds' two iterators).</summary>
    public enum BatchSampling
    {
        /// <summary>
        /// Sequential partitioning: the stream (from a random offset) is split into BatchSize contiguous rows, and
        /// consecutive batches continue each row, so the hidden state is carried from batch to batch (detached:
        /// truncated back-propagation through time).
        /// </summary>
        Sequential = 0,

        /// <summary>Random windows of SequenceLength tokens in shuffled order; the state starts from zero for every batch.</summary>
        RandomWindows = 1,
    }
}
