using System.Threading;
using Microsoft.Extensions.Options;

namespace MlnetLstm.WebApi
{
    /// <summary>
    /// Counts the /generate streams open at once, up to Model:MaximumConcurrentStreams: a stream past it gets a 503
    /// at once instead of a share of the CPU, so that hundreds of open streams cannot starve /score and /health, nor
    /// grow the thread pool. A stream gives its slot back when it ends, however it ends (done, client gone, error).
    /// </summary>
    public sealed class StreamSlots
    {
        private int _open;

        /// <summary>Creates the counter with the service's limit.</summary>
        public StreamSlots(IOptions<ModelServiceOptions> options) => Maximum = options.Value.MaximumConcurrentStreams;

        /// <summary>The most streams open at once.</summary>
        public int Maximum { get; }

        /// <summary>The streams open now.</summary>
        public int Open => Volatile.Read(ref _open);

        /// <summary>Takes a slot; false, taking nothing, when all <see cref="Maximum"/> are taken.</summary>
        public bool TryEnter()
        {
            if (Interlocked.Increment(ref _open) <= Maximum)
                return true;
            Interlocked.Decrement(ref _open);
            return false;
        }

        /// <summary>Gives back a slot taken by <see cref="TryEnter"/>.</summary>
        public void Exit() => Interlocked.Decrement(ref _open);
    }
}
