using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>How a language-model epoch cuts the token stream into batches (the two iterators of Dive into Deep Learning's RNN chapter, <c>seq_data_iter_sequential</c> and <c>seq_data_iter_random</c>).</summary>
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
