using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using System.Security.Cryptography;
using System.Text;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// Reads and rewrites the entries of an ML.NET model zip. Each model entry (<c>.../Model.key</c>) starts with
    /// ML.NET's 256-byte <c>ModelHeader</c> (Microsoft.ML.Core/Data/ModelHeader.cs): the component's 8-byte model
    /// signature at 0x40, its format versions (written at 0x48, readable at 0x4C), then the model blob at 0x100
    /// of CbModel (0x18) bytes, followed by the string table, the loader assembly name and an 8-byte tail. From format
    /// 0x00010002 on, an MlnetLstm component's blob ends with the SHA-256 of the bytes before it (its fields), and so
    /// does the network's weights entry.
    /// </summary>
    internal static class ModelZip
    {
        private const int HeaderSize = 0x100;
        private const int ModelSignatureOffset = 0x40;
        private const int ModelVerWrittenOffset = 0x48;
        private const int ModelVerReadableOffset = 0x4C;

        /// <summary>Every entry's name and uncompressed bytes, in the order of the zip.</summary>
        public static IReadOnlyList<(string Name, byte[] Bytes)> ReadEntries(string path)
        {
            using var archive = ZipFile.OpenRead(path);
            return archive.Entries.Select(entry =>
            {
                using var stream = entry.Open();
                using var copy = new MemoryStream();
                stream.CopyTo(copy);
                return (entry.FullName, copy.ToArray());
            }).ToList();
        }

        /// <summary>Writes a zip with the given entries.</summary>
        public static void WriteEntries(string path, IEnumerable<(string Name, byte[] Bytes)> entries)
        {
            using var file = File.Create(path);
            using var archive = new ZipArchive(file, ZipArchiveMode.Create);
            foreach (var (name, bytes) in entries)
            {
                using var stream = archive.CreateEntry(name).Open();
                stream.Write(bytes);
            }
        }

        /// <summary>The 8-character model signature of a model entry, or null when the entry has no model header.</summary>
        public static string? ModelSignature(byte[] entry)
            => entry.Length >= HeaderSize && Encoding.ASCII.GetString(entry, 0, 8) == "ML\0MODEL"
                ? Encoding.ASCII.GetString(entry, ModelSignatureOffset, 8)
                : null;

        /// <summary>The name of the one entry whose model signature is <paramref name="signature"/>.</summary>
        public static string FindEntry(IEnumerable<(string Name, byte[] Bytes)> entries, string signature)
        {
            var names = entries.Where(e => ModelSignature(e.Bytes) == signature).Select(e => e.Name).ToList();
            if (names.Count != 1)
                throw new InvalidOperationException($"Expected one model entry with signature {signature}, found {names.Count}: " +
                    string.Join(", ", entries.Select(e => $"{e.Name}={ModelSignature(e.Bytes) ?? "-"}")));
            return names[0];
        }

        /// <summary>Copies <paramref name="source"/> to <paramref name="target"/>, changing the entry of the given component.</summary>
        public static void Rewrite(string source, string target, string signature, Func<byte[], byte[]> change)
        {
            var entries = ReadEntries(source);
            var name = FindEntry(entries, signature);
            WriteEntries(target, entries.Select(e => e.Name == name ? (e.Name, change(e.Bytes)) : e));
        }

        /// <summary>A copy of a model entry with other format versions in its header.</summary>
        public static byte[] WithVersions(byte[] entry, uint? written, uint? readable)
        {
            var copy = (byte[])entry.Clone();
            if (written is { } w)
                BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(ModelVerWrittenOffset), w);
            if (readable is { } r)
                BinaryPrimitives.WriteUInt32LittleEndian(copy.AsSpan(ModelVerReadableOffset), r);
            return copy;
        }

        /// <summary>The format versions recorded in a model entry's header.</summary>
        public static (uint Written, uint Readable) Versions(byte[] entry)
            => (BinaryPrimitives.ReadUInt32LittleEndian(entry.AsSpan(ModelVerWrittenOffset)),
                BinaryPrimitives.ReadUInt32LittleEndian(entry.AsSpan(ModelVerReadableOffset)));

        /// <summary>The model blob of a model entry: the bytes the component itself wrote.</summary>
        public static byte[] Blob(byte[] entry) => entry.AsSpan(HeaderSize, checked((int)ReadLong(entry, 0x18))).ToArray();

        /// <summary>
        /// A copy of a model entry whose model blob is replaced by <paramref name="blob"/>, with the header's offsets of
        /// everything after the blob moved so that ML.NET's header validation still passes.
        /// </summary>
        public static byte[] WithBlob(byte[] entry, byte[] blob)
        {
            long oldSize = ReadLong(entry, 0x18);
            long delta = blob.Length - oldSize;
            var header = entry.AsSpan(0, HeaderSize).ToArray();
            WriteLong(header, 0x18, blob.Length); // CbModel
            foreach (int offset in new[] { 0x20, 0x30, 0x90 }) // FpStringTable, FpStringChars, FpAssemblyName: 0 when absent.
                if (ReadLong(header, offset) != 0)
                    WriteLong(header, offset, ReadLong(header, offset) + delta);
            WriteLong(header, 0x80, ReadLong(header, 0x80) + delta); // FpTail
            WriteLong(header, 0x88, ReadLong(header, 0x88) + delta); // FpLim
            var rest = entry.AsSpan(checked(HeaderSize + (int)oldSize));
            return header.Concat(blob).Concat(rest.ToArray()).ToArray();
        }

        /// <summary>Bytes of the checksum that ends an MlnetLstm component's blob and its weights entry.</summary>
        public const int ChecksumSize = 32;

        /// <summary>The fields of an MlnetLstm component's model entry: its blob without the checksum that ends it.</summary>
        public static byte[] Fields(byte[] entry) => Blob(entry)[..^ChecksumSize];

        /// <summary>
        /// A copy of an MlnetLstm model entry with other fields and a checksum that matches them: a file that a buggy
        /// writer or an attacker made, which the checksum does not catch, so the component's reader must.
        /// </summary>
        public static byte[] WithSignedFields(byte[] entry, byte[] fields) => WithBlob(entry, Signed(fields));

        /// <summary>An MlnetLstm model entry changed in its fields, with its checksum made to match again (a crafted file).</summary>
        public static byte[] Resigned(byte[] entry) => WithSignedFields(entry, Fields(entry));

        /// <summary>A weights entry changed in its data (or cut), with a checksum of what is left before the last 32 bytes.</summary>
        public static byte[] ResignedWeights(byte[] weights) => Signed(weights[..^ChecksumSize]);

        /// <summary>The data followed by its SHA-256, as MlnetLstm ends a blob or a weights entry.</summary>
        public static byte[] Signed(byte[] data) => data.Concat(SHA256.HashData(data)).ToArray();

        private static long ReadLong(byte[] bytes, int offset) => BinaryPrimitives.ReadInt64LittleEndian(bytes.AsSpan(offset));

        private static void WriteLong(byte[] bytes, int offset, long value) => BinaryPrimitives.WriteInt64LittleEndian(bytes.AsSpan(offset), value);
    }
}
