using System;
using System.Collections.Generic;
using System.IO;
using System.Runtime.InteropServices;
using Microsoft.ML;
using Microsoft.ML.Runtime;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The token stream of a token column, written once per Fit to a temporary file (2 bytes per token, 4 for a
    /// vocabulary over 65,536 tokens) and read back a window at a time, so that training holds the windows it reads,
    /// not the corpus: what ML.NET's own caching does for trainers that pass over the data several times. Rows are
    /// joined by the end-of-text token (one after every row). The file is made in the environment's temporary folder
    /// (<c>MLContext.TempFilePath</c>) and opened delete-on-close; on Unix it is unlinked as soon as it is open (it
    /// lives on while open), so not even a killed process leaves it behind, and on Windows it goes when the cache is
    /// disposed. It is read with
    /// positioned reads rather than mapped: the pages of a mapping count in the process's resident set, so a mapped
    /// 1 GB cache would show as 1 GB resident after an epoch, although the kernel could drop it.
    /// </summary>
    internal sealed class TokenCache : IDisposable
    {
        private const int BufferBytes = 1 << 20;
        private readonly FileStream _file;
        private readonly int _width;
        private byte[] _scratch = Array.Empty<byte>();

        private TokenCache(FileStream file, int width, long length)
        {
            _file = file;
            _width = width;
            Length = length;
        }

        /// <summary>Tokens in the cache, end-of-text tokens included.</summary>
        public long Length { get; }

        /// <summary>Bytes the cache takes on disk.</summary>
        public long Bytes => Length * _width;

        /// <summary>The whole cache as a stream of tokens.</summary>
        public TokenStream Stream => new(this, 0, Length);

        /// <summary>The folder of ML.NET's temporary files, <c>MLContext.TempFilePath</c> (the system's temporary folder unless set).</summary>
        public static string Folder(IHostEnvironment environment)
            => (environment as IHostEnvironmentInternal)?.TempFilePath is { Length: > 0 } folder ? folder : Path.GetTempPath();

        /// <summary>
        /// Writes the token ids of <paramref name="column"/> in every row of <paramref name="data"/>, each row followed by
        /// <paramref name="endOfText"/>, to a new file in <paramref name="folder"/>. <paramref name="what"/> names the
        /// data in messages ("training data"). A folder that cannot take the file, or a disk that fills up, is an
        /// <see cref="IOException"/> that names the folder and how to give it room.
        /// </summary>
        public static TokenCache Write(IDataView data, TokenColumn column, int endOfText, string folder, string what)
        {
            int width = column.Tokens.Length <= 1 << 16 ? 2 : 4;
            string path = Path.Combine(folder, $"mlnetlstm-tokens-{Guid.NewGuid():N}.cache");
            FileStream file;
            try
            {
                file = new FileStream(path, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None, 1, FileOptions.DeleteOnClose);
                // Unix keeps an unlinked file for as long as it is open: unlinked now, a killed process leaves nothing behind.
                if (!OperatingSystem.IsWindows())
                    File.Delete(path);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new IOException($"Cannot create the token cache of the {what} in '{folder}' ({e.Message}). Training writes the tokens there once per Fit " +
                    $"({width} bytes per token); set MLContext.TempFilePath to a folder that exists and can be written to.", e);
            }

            long length = 0;
            try
            {
                var buffer = new byte[BufferBytes];
                int used = 0;
                void Append(int id)
                {
                    if (used == buffer.Length)
                    {
                        file.Write(buffer, 0, used);
                        used = 0;
                    }
                    if (width == 2)
                        MemoryMarshal.Write(buffer.AsSpan(used), (ushort)id);
                    else
                        MemoryMarshal.Write(buffer.AsSpan(used), id);
                    used += width;
                }
                using (var cursor = data.GetRowCursor(new[] { column.Column }))
                {
                    var read = column.MakeReader(cursor);
                    while (cursor.MoveNext())
                    {
                        var ids = read();
                        for (int i = 0; i < ids.Count; i++)
                            Append(ids[i]);
                        Append(endOfText);
                        length += ids.Count + 1;
                    }
                }
                file.Write(buffer, 0, used);
                file.Flush();
            }
            catch (IOException e)
            {
                file.Dispose();
                throw new IOException($"Writing the token cache of the {what} to '{folder}' failed after {length:N0} tokens ({length * width:N0} bytes): {e.Message} " +
                    $"The cache takes {width} bytes per token of the corpus for the length of Fit. Free space there, or set MLContext.TempFilePath to a folder on a disk with room.", e);
            }
            catch
            {
                file.Dispose();
                throw;
            }
            return new TokenCache(file, width, length);
        }

        /// <summary>Copies the tokens from <paramref name="position"/> on into <paramref name="destination"/> (not thread-safe: one scratch buffer).</summary>
        internal void Read(long position, Span<long> destination)
        {
            int bytes = destination.Length * _width;
            if (_scratch.Length < bytes)
                _scratch = new byte[Math.Max(bytes, 4096)];
            var span = _scratch.AsSpan(0, bytes);
            for (int done = 0; done < bytes;)
            {
                int read = RandomAccess.Read(_file.SafeFileHandle, span[done..], position * _width + done);
                if (read == 0)
                    throw new EndOfStreamException($"The token cache '{_file.Name}' ended at byte {position * _width + done}, before the {Length:N0} tokens written to it: was it changed while training ran?");
                done += read;
            }
            if (_width == 2)
            {
                var ids = MemoryMarshal.Cast<byte, ushort>(span);
                for (int i = 0; i < ids.Length; i++)
                    destination[i] = ids[i];
            }
            else
            {
                var ids = MemoryMarshal.Cast<byte, int>(span);
                for (int i = 0; i < ids.Length; i++)
                    destination[i] = ids[i];
            }
        }

        /// <summary>Closes the file, which deletes it.</summary>
        public void Dispose() => _file.Dispose();
    }

    /// <summary>A contiguous part of a <see cref="TokenCache"/>: the training or the validation tokens.</summary>
    internal readonly struct TokenStream
    {
        private const int ScanWindow = 1024;
        private readonly TokenCache _cache;
        private readonly long _start;

        internal TokenStream(TokenCache cache, long start, long length)
        {
            _cache = cache;
            _start = start;
            Length = length;
        }

        /// <summary>Tokens in the stream.</summary>
        public long Length { get; }

        /// <summary>The tokens from <paramref name="start"/> on, <paramref name="length"/> of them.</summary>
        public TokenStream Slice(long start, long length)
        {
            if (start < 0 || length < 0 || start + length > Length)
                throw new ArgumentOutOfRangeException(nameof(start), $"Tokens {start} to {start + length} are outside a stream of {Length}.");
            return new TokenStream(_cache, _start + start, length);
        }

        /// <summary>Copies the tokens from <paramref name="position"/> on into <paramref name="destination"/>.</summary>
        public void Read(long position, Span<long> destination)
        {
            if (position < 0 || position + destination.Length > Length)
                throw new ArgumentOutOfRangeException(nameof(position), $"Tokens {position} to {position + destination.Length} are outside a stream of {Length}.");
            _cache.Read(_start + position, destination);
        }

        /// <summary>The position of the first <paramref name="token"/> at or after <paramref name="from"/>, or <see cref="Length"/> when there is none.</summary>
        public long IndexOf(long token, long from)
        {
            Span<long> window = stackalloc long[ScanWindow];
            for (long at = from; at < Length; at += ScanWindow)
            {
                var part = window[..(int)Math.Min(ScanWindow, Length - at)];
                Read(at, part);
                int found = part.IndexOf(token);
                if (found >= 0)
                    return at + found;
            }
            return Length;
        }
    }
}
