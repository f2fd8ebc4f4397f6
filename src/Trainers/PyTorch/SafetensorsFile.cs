using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.IO;
using System.Linq;
using System.Runtime.InteropServices;
using System.Text;
using System.Text.Json;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Reads and writes Hugging Face's safetensors format in managed code: a JSON header and raw little-endian
    /// tensors, no code and no pickle. Reading checks the header's length, every entry's type, shape and byte range
    /// against the file before it allocates anything.
    /// </summary>
    internal static class SafetensorsFile
    {
        /// <summary>The largest header read (the format's own reader has the same limit).</summary>
        private const long MaximumHeaderBytes = 100_000_000;

        // *** Binary format *** (safetensors, as written by the safetensors library)
        // u64 little-endian: header length N
        // N bytes: UTF-8 JSON object { "<name>": {"dtype": "F32", "shape": [d0, d1, …], "data_offsets": [begin, end]}, …,
        //          optional "__metadata__": {"<key>": "<text>"} }, padded with spaces to a multiple of 8
        // the tensors' bytes: little-endian, row-major; [begin, end) relative to the first byte after the header,
        // one after the other with no gap (written in the order given)
        public static void Write(string path, IReadOnlyList<StateDictEntry> tensors, IReadOnlyDictionary<string, string>? metadata = null)
        {
            using var buffer = new MemoryStream();
            using (var json = new Utf8JsonWriter(buffer))
            {
                json.WriteStartObject();
                if (metadata is { Count: > 0 })
                {
                    json.WriteStartObject("__metadata__");
                    foreach (var (key, value) in metadata)
                        json.WriteString(key, value);
                    json.WriteEndObject();
                }
                long offset = 0;
                foreach (var tensor in tensors)
                {
                    long bytes = tensor.Values!.LongLength * sizeof(float);
                    json.WriteStartObject(tensor.Key);
                    json.WriteString("dtype", "F32");
                    json.WriteStartArray("shape");
                    foreach (var d in tensor.Shape)
                        json.WriteNumberValue(d);
                    json.WriteEndArray();
                    json.WriteStartArray("data_offsets");
                    json.WriteNumberValue(offset);
                    json.WriteNumberValue(offset + bytes);
                    json.WriteEndArray();
                    json.WriteEndObject();
                    offset += bytes;
                }
                json.WriteEndObject();
            }
            while (buffer.Length % 8 != 0)
                buffer.WriteByte((byte)' ');
            using var file = File.Create(path);
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)buffer.Length);
            file.Write(length);
            buffer.Position = 0;
            buffer.CopyTo(file);
            foreach (var tensor in tensors)
                file.Write(MemoryMarshal.AsBytes(tensor.Values.AsSpan()));
        }

        /// <summary>Reads every tensor, in the order of the header; floating-point ones are converted to float.</summary>
        /// <exception cref="FormatException">The file is not safetensors, is truncated, or an entry is inconsistent; the message names the file and the entry.</exception>
        public static IReadOnlyList<StateDictEntry> Read(string path)
        {
            using var file = File.OpenRead(path);
            long length = file.Length;
            Span<byte> prefix = stackalloc byte[8];
            if (length < 8 || file.Read(prefix) != 8)
                throw new FormatException($"Safetensors file '{path}' is {length} bytes long, too short to hold a header; it is truncated or not a safetensors file.");
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(prefix);
            if (headerLength < 2 || headerLength > MaximumHeaderBytes || (long)headerLength > length - 8)
                throw new FormatException($"Safetensors file '{path}' announces a header of {headerLength:N0} bytes, but the file has {length - 8:N0} after the length " +
                    $"(and a header holds at most {MaximumHeaderBytes:N0}); it is truncated or not a safetensors file.");
            var header = new byte[headerLength];
            file.ReadExactly(header);
            long dataStart = 8 + (long)headerLength, dataLength = length - dataStart;

            JsonDocument document;
            try
            {
                document = JsonDocument.Parse(header.AsMemory().TrimEnd((byte)' '));
            }
            catch (JsonException e)
            {
                throw new FormatException($"Safetensors file '{path}' does not start with a JSON header ({e.Message}); it is not a safetensors file, or it is damaged.", e);
            }
            using (document)
            {
                if (document.RootElement.ValueKind != JsonValueKind.Object)
                    throw new FormatException($"Safetensors file '{path}' has a header that is not a JSON object; it is not a safetensors file.");
                var entries = new List<StateDictEntry>();
                foreach (var property in document.RootElement.EnumerateObject())
                {
                    if (property.Name == "__metadata__")
                        continue;
                    var (dtype, shape, begin, end) = Entry(path, property);
                    int size = ElementSize(dtype);
                    long elements = shape.Aggregate(1L, (a, b) => a * b);
                    if (begin < 0 || end < begin || end > dataLength)
                        throw new FormatException($"Safetensors file '{path}': tensor '{property.Name}' lies at bytes [{begin}, {end}) of a data section of {dataLength:N0} bytes; the file is truncated or damaged.");
                    if (size > 0 && end - begin != elements * size)
                        throw new FormatException($"Safetensors file '{path}': tensor '{property.Name}' of type {dtype} and shape [{string.Join(", ", shape)}] needs {elements * size:N0} bytes, " +
                            $"but its offsets give {end - begin:N0}; the file is damaged.");
                    float[]? values = null;
                    if (IsFloatingPoint(dtype))
                    {
                        var bytes = new byte[end - begin];
                        file.Position = dataStart + begin;
                        file.ReadExactly(bytes);
                        values = ToFloat(bytes, dtype);
                    }
                    entries.Add(new StateDictEntry(property.Name, shape, dtype, values));
                }
                return entries;
            }
        }

        private static (string DType, long[] Shape, long Begin, long End) Entry(string path, JsonProperty property)
        {
            var value = property.Value;
            if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("dtype", out var dtype) && dtype.ValueKind == JsonValueKind.String
                && value.TryGetProperty("shape", out var shape) && shape.ValueKind == JsonValueKind.Array
                && value.TryGetProperty("data_offsets", out var offsets) && offsets.ValueKind == JsonValueKind.Array && offsets.GetArrayLength() == 2
                && shape.EnumerateArray().All(d => d.ValueKind == JsonValueKind.Number && d.TryGetInt64(out long n) && n >= 0 && n <= int.MaxValue)
                && offsets.EnumerateArray().All(o => o.ValueKind == JsonValueKind.Number && o.TryGetInt64(out _)))
            {
                var dims = shape.EnumerateArray().Select(d => d.GetInt64()).ToArray();
                // Checked before anything multiplies them: the product of a few int dimensions can overflow a long.
                double product = dims.Aggregate(1.0, (a, b) => a * b);
                if (product > MlnetLstm.Transforms.RecurrentArchitecture.MaximumParameters)
                    throw new FormatException($"Safetensors file '{path}': tensor '{property.Name}' has shape [{string.Join(", ", dims)}], more elements than any network here has.");
                return (dtype.GetString()!, dims, offsets[0].GetInt64(), offsets[1].GetInt64());
            }
            throw new FormatException($"Safetensors file '{path}': the header entry '{property.Name}' is not {{\"dtype\": …, \"shape\": [...], \"data_offsets\": [begin, end]}}; the file is damaged.");
        }

        private static int ElementSize(string dtype) => dtype switch
        {
            "F64" or "I64" or "U64" => 8,
            "F32" or "I32" or "U32" => 4,
            "F16" or "BF16" or "I16" or "U16" => 2,
            "I8" or "U8" or "BOOL" or "F8_E4M3" or "F8_E5M2" => 1,
            _ => 0,
        };

        private static bool IsFloatingPoint(string dtype) => dtype is "F64" or "F32" or "F16" or "BF16";

        private static float[] ToFloat(byte[] bytes, string dtype)
        {
            switch (dtype)
            {
                case "F32":
                    return MemoryMarshal.Cast<byte, float>(bytes).ToArray();
                case "F64":
                    return MemoryMarshal.Cast<byte, double>(bytes).ToArray().Select(d => (float)d).ToArray();
                case "F16":
                    return MemoryMarshal.Cast<byte, Half>(bytes).ToArray().Select(h => (float)h).ToArray();
                default: // BF16: the upper half of a float32
                    var raw = MemoryMarshal.Cast<byte, ushort>(bytes);
                    var values = new float[raw.Length];
                    for (int i = 0; i < raw.Length; i++)
                        values[i] = BitConverter.Int32BitsToSingle(raw[i] << 16);
                    return values;
            }
        }
    }
}
