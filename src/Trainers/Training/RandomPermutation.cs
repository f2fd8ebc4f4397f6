using System;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// A seeded pseudo-random permutation of 0 … n − 1 computed one position at a time: a four-round Feistel network
    /// over the smallest power of four that holds n, walking out-of-range values back into range (each walk is a
    /// bijection, so the result is one too, and takes fewer than four rounds of the network on average). An epoch's
    /// shuffled order of n windows so costs no memory, where a shuffled array of them grows with the corpus.
    /// </summary>
    internal readonly struct RandomPermutation
    {
        private readonly long _count;
        private readonly int _halfBits;
        private readonly ulong _mask;
        private readonly ulong _key0, _key1, _key2, _key3;

        /// <summary>A permutation of <paramref name="count"/> positions, its keys drawn from <paramref name="random"/>.</summary>
        public RandomPermutation(long count, Random random)
        {
            if (count < 0)
                throw new ArgumentOutOfRangeException(nameof(count), count, "A permutation has at least 0 positions.");
            _count = count;
            int bits = 2;
            while (bits < 62 && 1L << bits < count)
                bits += 2;
            _halfBits = bits / 2;
            _mask = (1UL << _halfBits) - 1;
            _key0 = (ulong)random.NextInt64();
            _key1 = (ulong)random.NextInt64();
            _key2 = (ulong)random.NextInt64();
            _key3 = (ulong)random.NextInt64();
        }

        /// <summary>The positions permuted.</summary>
        public long Count => _count;

        /// <summary>The value at <paramref name="index"/> (0 ≤ index &lt; Count).</summary>
        public long this[long index]
        {
            get
            {
                if ((ulong)index >= (ulong)_count)
                    throw new ArgumentOutOfRangeException(nameof(index), index, $"A permutation of {_count} positions has indices 0 to {_count - 1}.");
                ulong value = (ulong)index;
                do
                    value = Encrypt(value);
                while (value >= (ulong)_count);
                return (long)value;
            }
        }

        private ulong Encrypt(ulong value)
        {
            ulong left = value >> _halfBits, right = value & _mask;
            Round(ref left, ref right, _key0);
            Round(ref left, ref right, _key1);
            Round(ref left, ref right, _key2);
            Round(ref left, ref right, _key3);
            return (left << _halfBits) | right;
        }

        private void Round(ref ulong left, ref ulong right, ulong key)
        {
            ulong next = left ^ (Mix(right ^ key) & _mask);
            left = right;
            right = next;
        }

        /// <summary>SplitMix64's finalizer: every input bit affects every output bit.</summary>
        private static ulong Mix(ulong z)
        {
            z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
            z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
            return z ^ (z >> 31);
        }
    }
}
