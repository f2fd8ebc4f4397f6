using System;
using System.Buffers;
using System.IO;
using System.Security.Cryptography;
using System.Text;
using Microsoft.ML;
using Microsoft.ML.Data;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// The checks every MlnetLstm component runs when it reads itself back from an ML.NET model zip, so that a model
    /// from a newer release or a damaged file fails with a message that names the component, the entry and the fix.
    /// The format seen whole (every component's entries and fields, the versions, each loader's checks) is
    /// docs/model-format.md; keep it in step with the binary format comments.
    /// </summary>
    /// <remarks>
    /// From format 0x00010002 on, every component's data (the model blob of its entry) and the network weights entry
    /// end with the SHA-256 of the bytes before it. The zip's own CRC-32 is not checked when .NET (before 11) reads an
    /// entry, so without it a flipped bit on disk or on the wire would load as a model with other weights or other
    /// settings; with it, it fails. Files of 0x00010001 (no checksum) still load.
    /// From 0x00010003 on, components live in MlnetLstm.Transforms under new loader signatures (files of earlier
    /// formats name MlnetLstm.Trainers, which keeps loaders for them), a language model saves its repetition penalty
    /// and a vocabulary its number of reserved tokens; older readers cannot read these, so 0x00010003 is also the
    /// readable version. From 0x00010004 on, a trained network saves the settings of its training run (see
    /// <see cref="TrainingSettingsVersion"/>), which 0x00010003 readers cannot skip. From 0x00010005 on, every epoch of a
    /// training history saves the share of the validation data it scored (<see cref="ValidationFractionVersion"/>).
    /// </remarks>
    internal static class ModelFormat
    {
        /// <summary>The format version of every component from which its data and weights end with a checksum.</summary>
        internal const uint FirstChecksummedVersion = 0x00010002;

        /// <summary>
        /// The format of the managed runtime: components load from MlnetLstm.Transforms under new loader signatures, a
        /// language model saves its repetition penalty, a vocabulary how many of its tokens are reserved, and the
        /// training history a language model's stream validation loss.
        /// </summary>
        internal const uint ManagedRuntimeVersion = 0x00010003;

        /// <summary>The format from which a trained network saves its training settings (<see cref="RecurrentTransformerBase.TrainingSettings"/>).</summary>
        internal const uint TrainingSettingsVersion = 0x00010004;

        /// <summary>The format from which every epoch of a training history saves the share of the validation data its validation loss covers (<see cref="EpochMetrics.ValidationFraction"/>).</summary>
        internal const uint ValidationFractionVersion = 0x00010005;

        /// <summary>The layout of the training history in a component written by format <paramref name="written"/>.</summary>
        internal static EpochMetrics.Layout HistoryLayout(uint written) => new(written >= ManagedRuntimeVersion, written >= ValidationFractionVersion);

        /// <summary>
        /// The version record of an MlnetLstm component. Every component shares one format history (the checksums are
        /// written by this class for all of them), so the version numbers live here once.
        /// </summary>
        internal static VersionInfo Version(string modelSignature, string loaderSignature, Type component) => new(
            modelSignature: modelSignature,
            // 0x00010002: checksums after the data and the weights; 0x00010003: see ManagedRuntimeVersion; 0x00010004: see
            // TrainingSettingsVersion; 0x00010005: see ValidationFractionVersion.
            verWrittenCur: ValidationFractionVersion,
            verReadableCur: ValidationFractionVersion,
            verWeCanReadBack: 0x00010001,
            loaderSignature: loaderSignature,
            loaderAssemblyName: component.Assembly.FullName);

        /// <summary>Bytes of a checksum: SHA-256.</summary>
        internal const int ChecksumSize = 32;

        /// <summary>
        /// Checks that <paramref name="ctx"/> is positioned at a model written by a format this build can read,
        /// then lets ML.NET check the signatures.
        /// </summary>
        /// <exception cref="FormatException">The model was written by a newer format or is not this component's.</exception>
        internal static void CheckAtModel(ModelLoadContext ctx, VersionInfo version, string component)
        {
            if (ctx is null)
                throw new ArgumentNullException(nameof(ctx));
            var header = ctx.Header;
            if (header.ModelVerReadable > version.VerReadableCur)
                throw new FormatException(
                    $"The {component} in model entry '{Describe(ctx)}' was written in format 0x{header.ModelVerWritten:X8}, which needs a reader of format " +
                    $"0x{header.ModelVerReadable:X8} or newer; this build of MlnetLstm reads up to 0x{version.VerReadableCur:X8}. " +
                    "Load the model with the MlnetLstm version that saved it (or newer), or retrain and save it with this one.");
            if (header.ModelVerWritten < version.VerWeCanReadBack)
                throw new FormatException(
                    $"The {component} in model entry '{Describe(ctx)}' was written in format 0x{header.ModelVerWritten:X8}, older than the oldest this build " +
                    $"reads (0x{version.VerWeCanReadBack:X8}). Retrain and save the model with this version of MlnetLstm.");
            try
            {
                ctx.CheckAtModel(version);
            }
            catch (Exception e) when (e is not FormatException)
            {
                throw new FormatException($"Model entry '{Describe(ctx)}' is not a valid {component}: {e.Message}", e);
            }
        }

        /// <summary>
        /// Checks the version (<see cref="CheckAtModel"/>), then reads the component with <paramref name="read"/>,
        /// which gets a description of the entry for its messages. Whatever a damaged entry makes the reader throw
        /// (end of stream, bad string encoding, …) becomes a <see cref="FormatException"/> naming the entry, and so does
        /// a <see cref="FormatException"/> whose message does not already start with the entry's description.
        /// </summary>
        internal static T Load<T>(ModelLoadContext ctx, VersionInfo version, string component, Func<string, T> read)
        {
            CheckAtModel(ctx, version, component);
            string source = $"Model entry '{Describe(ctx)}' ({component})";
            if (HasChecksum(ctx))
                VerifyChecksum(ctx.Reader.BaseStream, ctx.Reader.BaseStream.Position, ModelEnd(ctx), source, "its data");
            T result;
            try
            {
                result = read(source);
            }
            catch (Exception e) when (e is EndOfStreamException or InvalidDataException or DecoderFallbackException or ArgumentException or OverflowException)
            {
                throw new FormatException($"{source} is truncated or corrupt: {e.Message}. Re-save the model, or retrain it.", e);
            }
            catch (FormatException e) when (!e.Message.StartsWith(source, StringComparison.Ordinal))
            {
                // A check shared with other readers (the network architecture, …) does not know the entry: name it.
                throw new FormatException($"{source} is corrupt: {e.Message} Re-save the model, or retrain it.", e);
            }
            long position = ctx.Reader.BaseStream.Position, end = ModelEnd(ctx);
            if (position > end)
                throw new FormatException($"{source} is corrupt: its fields run past the end of its data. Re-save the model, or retrain it.");
            // ML.NET requires the reader to end exactly at the end of the component's data; say why when it does not.
            if (position < end)
                throw new FormatException($"{source} is corrupt: {end - position} bytes of its data follow its last field. Re-save the model, or retrain it.");
            if (HasChecksum(ctx))
                ctx.Reader.BaseStream.Position = end + ChecksumSize;
            return result;
        }

        /// <summary>
        /// The reader position where the component's own fields end: before its checksum, if it has one; ML.NET's
        /// string table and tail follow.
        /// </summary>
        internal static long ModelEnd(ModelLoadContext ctx) => ctx.FpMin + ctx.Header.FpModel + ctx.Header.CbModel - (HasChecksum(ctx) ? ChecksumSize : 0);

        /// <summary>Whether the component being read was written with a checksum after its data and weights.</summary>
        internal static bool HasChecksum(ModelLoadContext ctx) => ctx.Header.ModelVerWritten >= FirstChecksummedVersion;

        /// <summary>Ends a component's data with its checksum; call after the last field.</summary>
        /// <exception cref="NotSupportedException">ML.NET gave a stream that cannot be read back (it never does in 5.0).</exception>
        internal static void WriteChecksum(ModelSaveContext ctx) => WriteChecksum(ctx.Writer, ctx.FpMin + ctx.Header.FpModel);

        /// <summary>Writes the checksum of what <paramref name="writer"/> wrote from stream position <paramref name="start"/> on.</summary>
        /// <exception cref="NotSupportedException">The stream cannot be read back.</exception>
        internal static void WriteChecksum(BinaryWriter writer, long start)
        {
            writer.Flush();
            var stream = writer.BaseStream;
            if (!stream.CanRead || !stream.CanSeek)
                throw new NotSupportedException("MlnetLstm checksums the model data it writes by reading it back, but this model stream cannot be read or seeked.");
            long end = stream.Position;
            stream.Position = start;
            var checksum = Checksum(stream, end - start);
            stream.Position = end;
            writer.Write(checksum);
        }

        /// <summary>
        /// Checks that the bytes from <paramref name="start"/> to <paramref name="end"/> are followed by their
        /// checksum, and leaves the stream at <paramref name="start"/>. This runs before any field is read, so damage
        /// never reaches a reader (nor makes one allocate).
        /// </summary>
        /// <exception cref="FormatException">The data is too short for a checksum, or does not match it; the message names <paramref name="source"/>.</exception>
        internal static void VerifyChecksum(Stream stream, long start, long end, string source, string what)
        {
            if (end < start || stream.Length < end + ChecksumSize)
                throw new FormatException($"{source}: {what} is too short to end with its checksum; it is truncated or corrupt. Re-save the model, or retrain it.");
            stream.Position = start;
            var actual = Checksum(stream, end - start);
            Span<byte> stored = stackalloc byte[ChecksumSize];
            stream.ReadExactly(stored);
            if (!stored.SequenceEqual(actual))
                throw new FormatException($"{source}: {what} does not match its SHA-256 checksum: the file was damaged (or edited) after it was saved. " +
                    "Copy the model file again from its source, or re-save or retrain the model.");
            stream.Position = start;
        }

        /// <summary>The SHA-256 of the next <paramref name="length"/> bytes of <paramref name="stream"/> (model entries, training checkpoints).</summary>
        /// <exception cref="EndOfStreamException">The stream ends first.</exception>
        internal static byte[] Checksum(Stream stream, long length)
        {
            using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
            var buffer = ArrayPool<byte>.Shared.Rent(1 << 16);
            try
            {
                while (length > 0)
                {
                    int read = stream.Read(buffer, 0, (int)Math.Min(buffer.Length, length));
                    if (read == 0)
                        throw new EndOfStreamException();
                    hash.AppendData(buffer, 0, read);
                    length -= read;
                }
            }
            finally
            {
                ArrayPool<byte>.Shared.Return(buffer);
            }
            return hash.GetHashAndReset();
        }

        /// <summary>
        /// Reads <paramref name="count"/> strings of a component's data, never past <paramref name="end"/> (in a model
        /// entry ML.NET's string table follows, which would otherwise decode as more strings). A count the remaining
        /// data cannot hold (each string takes at least 2 bytes) is rejected before anything is allocated.
        /// </summary>
        internal static string[] ReadStrings(System.IO.BinaryReader reader, int count, long end, string source, string what)
        {
            if (count < 0 || end - reader.BaseStream.Position < 2L * count)
                throw new FormatException($"{source}: {count} {what} cannot fit in the rest of the entry; it is truncated or corrupt. Re-save the model, or retrain it.");
            var strings = new string[count];
            for (int i = 0; i < count; i++)
            {
                strings[i] = reader.ReadString();
                if (reader.BaseStream.Position > end)
                    throw new FormatException($"{source}: item {i} of the {count} {what} runs past the end of the entry's data; it is truncated or corrupt. Re-save the model, or retrain it.");
            }
            return strings;
        }

        /// <summary>
        /// Checks the column count that ML.NET's <c>OneToOneTransformerBase</c> reads first, without moving the reader:
        /// the base class allocates an array of that size before it checks anything, so a damaged count (2^30) would
        /// allocate gigabytes. Our one-to-one transformers always have exactly one column.
        /// </summary>
        internal static void CheckColumnCount(ModelLoadContext ctx, string source, int expected)
        {
            var stream = ctx.Reader.BaseStream;
            long position = stream.Position;
            int count = ctx.Reader.ReadInt32();
            stream.Position = position;
            if (count != expected)
                throw new FormatException($"{source}: the data lists {count} columns, but this transform has {expected}; it is corrupt. Re-save the model, or retrain it.");
        }

        /// <summary>Reads a flag byte, which must be 0 (false) or 1 (true): any other value means the data is damaged.</summary>
        internal static bool ReadFlag(System.IO.BinaryReader reader, string source, string what)
        {
            byte value = reader.ReadByte();
            return value switch
            {
                0 => false,
                1 => true,
                _ => throw new FormatException($"{source}: the {what} flag is {value}, neither 0 nor 1; it is corrupt. Re-save the model, or retrain it."),
            };
        }

        /// <summary>The zip folder of the component being read, for messages.</summary>
        internal static string Describe(ModelLoadContext ctx) => string.IsNullOrEmpty(ctx.Directory) ? "(root)" : ctx.Directory;
    }
}
