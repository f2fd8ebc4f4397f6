using System;
using static TorchSharp.torch;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Sets TorchSharp's CPU thread count for one training and puts back the count it found when the training ends
    /// (however it ends), so scoring later in the process runs as before. The count is OpenMP's: kept per thread
    /// once a thread has used TorchSharp, and taken from a process-wide value by threads that have not; setting it
    /// sets both for the calling thread. Trainings that overlap (on other threads) restore the count found by the
    /// first of them, the process's count before any of them: a later one would find the first one's setting.
    /// </summary>
    internal sealed class ThreadCount : IDisposable
    {
        private static readonly object Gate = new();
        private static int _active, _found;
        private bool _disposed;

        private ThreadCount()
        {
        }

        /// <summary>Sets <paramref name="count"/> until the result is disposed.</summary>
        public static ThreadCount Use(int count)
        {
            lock (Gate)
            {
                if (_active++ == 0)
                    _found = get_num_threads();
                set_num_threads(count);
            }
            return new ThreadCount();
        }

        public void Dispose()
        {
            lock (Gate)
            {
                if (_disposed)
                    return;
                _disposed = true;
                _active--;
                set_num_threads(_found);
            }
        }
    }
}
