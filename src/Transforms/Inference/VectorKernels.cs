using System;
using System.Numerics;
using System.Numerics.Tensors;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// The numeric kernels of managed scoring: a row-major matrix times vectors (its one hot loop), softmax and log-softmax. Written on
    /// <see cref="Vector{T}"/>, so it runs vectorized on any CPU .NET accelerates (SSE/AVX on x64, NEON on ARM) and
    /// scalar elsewhere; nothing here assumes x64.
    /// </summary>
    internal static class VectorKernels
    {
        /// <summary>y += M·x for M of <paramref name="rows"/> × <paramref name="columns"/>, row-major.</summary>
        public static void MultiplyAdd(ReadOnlySpan<float> matrix, int rows, int columns, ReadOnlySpan<float> x, Span<float> y)
            => MultiplyAdd(matrix, rows, columns, x, 1, y);

        /// <summary>
        /// y_t += M·x_t for <paramref name="count"/> vectors: x is [count × columns] and y [count × rows], row-major.
        /// Four rows of M at a time share each load of x, and each block of four rows is read from memory once for all
        /// the vectors, so M streams through the cache once per call however many vectors there are.
        /// </summary>
        public static void MultiplyAdd(ReadOnlySpan<float> matrix, int rows, int columns, ReadOnlySpan<float> x, int count, Span<float> y)
        {
            if (matrix.Length < (long)rows * columns || x.Length < (long)count * columns || y.Length < (long)count * rows)
                throw new ArgumentException("The matrix, vector and result sizes do not agree.");
            ref float m = ref MemoryMarshal.GetReference(matrix);
            ref float xs = ref MemoryMarshal.GetReference(x);
            ref float ys = ref MemoryMarshal.GetReference(y);
            int width = Vector<float>.Count;
            int vectorEnd = Vector.IsHardwareAccelerated ? columns - columns % width : 0;
            int row = 0;
            for (; row + 4 <= rows; row += 4)
            {
                ref float m0 = ref Unsafe.Add(ref m, (nint)row * columns);
                ref float m1 = ref Unsafe.Add(ref m0, columns);
                ref float m2 = ref Unsafe.Add(ref m1, columns);
                ref float m3 = ref Unsafe.Add(ref m2, columns);
                int t = 0;
                // Two vectors at a time: each load of the four rows serves both (eight sums in registers), which halves
                // the reads of M per vector; every sum is still taken over j in the same order, so the results are those
                // of one vector at a time to the last bit.
                for (; t + 2 <= count; t += 2)
                {
                    ref float v = ref Unsafe.Add(ref xs, (nint)t * columns);
                    ref float w = ref Unsafe.Add(ref v, columns);
                    Vector<float> a0 = Vector<float>.Zero, a1 = a0, a2 = a0, a3 = a0, b0 = a0, b1 = a0, b2 = a0, b3 = a0;
                    int j = 0;
                    for (; j < vectorEnd; j += width)
                    {
                        var xv = Vector.LoadUnsafe(ref v, (nuint)j);
                        var xw = Vector.LoadUnsafe(ref w, (nuint)j);
                        var r0 = Vector.LoadUnsafe(ref m0, (nuint)j);
                        var r1 = Vector.LoadUnsafe(ref m1, (nuint)j);
                        var r2 = Vector.LoadUnsafe(ref m2, (nuint)j);
                        var r3 = Vector.LoadUnsafe(ref m3, (nuint)j);
                        a0 = Vector.FusedMultiplyAdd(r0, xv, a0);
                        a1 = Vector.FusedMultiplyAdd(r1, xv, a1);
                        a2 = Vector.FusedMultiplyAdd(r2, xv, a2);
                        a3 = Vector.FusedMultiplyAdd(r3, xv, a3);
                        b0 = Vector.FusedMultiplyAdd(r0, xw, b0);
                        b1 = Vector.FusedMultiplyAdd(r1, xw, b1);
                        b2 = Vector.FusedMultiplyAdd(r2, xw, b2);
                        b3 = Vector.FusedMultiplyAdd(r3, xw, b3);
                    }
                    float s0 = Vector.Sum(a0), s1 = Vector.Sum(a1), s2 = Vector.Sum(a2), s3 = Vector.Sum(a3);
                    float q0 = Vector.Sum(b0), q1 = Vector.Sum(b1), q2 = Vector.Sum(b2), q3 = Vector.Sum(b3);
                    for (; j < columns; j++)
                    {
                        float xj = Unsafe.Add(ref v, j), wj = Unsafe.Add(ref w, j);
                        s0 += Unsafe.Add(ref m0, j) * xj;
                        s1 += Unsafe.Add(ref m1, j) * xj;
                        s2 += Unsafe.Add(ref m2, j) * xj;
                        s3 += Unsafe.Add(ref m3, j) * xj;
                        q0 += Unsafe.Add(ref m0, j) * wj;
                        q1 += Unsafe.Add(ref m1, j) * wj;
                        q2 += Unsafe.Add(ref m2, j) * wj;
                        q3 += Unsafe.Add(ref m3, j) * wj;
                    }
                    ref float yt = ref Unsafe.Add(ref ys, (nint)t * rows + row);
                    yt += s0;
                    Unsafe.Add(ref yt, 1) += s1;
                    Unsafe.Add(ref yt, 2) += s2;
                    Unsafe.Add(ref yt, 3) += s3;
                    ref float yu = ref Unsafe.Add(ref yt, rows);
                    yu += q0;
                    Unsafe.Add(ref yu, 1) += q1;
                    Unsafe.Add(ref yu, 2) += q2;
                    Unsafe.Add(ref yu, 3) += q3;
                }
                for (; t < count; t++)
                {
                    ref float v = ref Unsafe.Add(ref xs, (nint)t * columns);
                    Vector<float> a0 = Vector<float>.Zero, a1 = a0, a2 = a0, a3 = a0;
                    int j = 0;
                    for (; j < vectorEnd; j += width)
                    {
                        var xv = Vector.LoadUnsafe(ref v, (nuint)j);
                        a0 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref m0, (nuint)j), xv, a0);
                        a1 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref m1, (nuint)j), xv, a1);
                        a2 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref m2, (nuint)j), xv, a2);
                        a3 = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref m3, (nuint)j), xv, a3);
                    }
                    float s0 = Vector.Sum(a0), s1 = Vector.Sum(a1), s2 = Vector.Sum(a2), s3 = Vector.Sum(a3);
                    for (; j < columns; j++)
                    {
                        float xj = Unsafe.Add(ref v, j);
                        s0 += Unsafe.Add(ref m0, j) * xj;
                        s1 += Unsafe.Add(ref m1, j) * xj;
                        s2 += Unsafe.Add(ref m2, j) * xj;
                        s3 += Unsafe.Add(ref m3, j) * xj;
                    }
                    ref float yt = ref Unsafe.Add(ref ys, (nint)t * rows + row);
                    yt += s0;
                    Unsafe.Add(ref yt, 1) += s1;
                    Unsafe.Add(ref yt, 2) += s2;
                    Unsafe.Add(ref yt, 3) += s3;
                }
            }
            for (; row < rows; row++)
            {
                ref float mr = ref Unsafe.Add(ref m, (nint)row * columns);
                for (int t = 0; t < count; t++)
                {
                    ref float v = ref Unsafe.Add(ref xs, (nint)t * columns);
                    var a = Vector<float>.Zero;
                    int j = 0;
                    for (; j < vectorEnd; j += width)
                        a = Vector.FusedMultiplyAdd(Vector.LoadUnsafe(ref mr, (nuint)j), Vector.LoadUnsafe(ref v, (nuint)j), a);
                    float s = Vector.Sum(a);
                    for (; j < columns; j++)
                        s += Unsafe.Add(ref mr, j) * Unsafe.Add(ref v, j);
                    Unsafe.Add(ref ys, (nint)t * rows + row) += s;
                }
            }
        }

        /// <summary>log softmax(<paramref name="logits"/>)[<paramref name="index"/>], with <paramref name="scratch"/> of the logits' length.</summary>
        public static double LogSoftmaxAt(ReadOnlySpan<float> logits, int index, Span<float> scratch)
        {
            float max = TensorPrimitives.Max(logits);
            TensorPrimitives.Subtract(logits, max, scratch);
            TensorPrimitives.Exp(scratch, scratch);
            return logits[index] - max - Math.Log(TensorPrimitives.Sum(scratch));
        }

        /// <summary>softmax(<paramref name="logits"/>) into <paramref name="destination"/>, relative to the largest logit so that no exp overflows.</summary>
        public static void Softmax(ReadOnlySpan<float> logits, Span<float> destination)
        {
            float max = TensorPrimitives.Max(logits);
            TensorPrimitives.Subtract(logits, max, destination);
            TensorPrimitives.Exp(destination, destination);
            TensorPrimitives.Divide(destination, TensorPrimitives.Sum(destination), destination);
        }
    }
}
