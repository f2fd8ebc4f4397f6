using System;
using System.Buffers.Binary;
using System.IO;
using System.Text;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// The part of the protocol buffers wire format an ONNX model file needs: varints, fixed 32-bit floats, and
    /// length-delimited strings, bytes and nested messages. Writing ONNX by hand keeps MlnetLstm.Transforms free of a
    /// protobuf library; the message layouts are onnx.proto's (see <see cref="OnnxModelWriter"/>).
    /// </summary>
    internal sealed class ProtobufWriter
    {
        private const int Varint = 0;
        private const int LengthDelimited = 2;
        private const int Fixed32 = 5;

        private readonly MemoryStream _buffer = new();

        /// <summary>The bytes written so far.</summary>
        public ReadOnlySpan<byte> Written => _buffer.GetBuffer().AsSpan(0, (int)_buffer.Length);

        /// <summary>An integer field (int32, int64 or enum).</summary>
        public void Int(int field, long value)
        {
            Tag(field, Varint);
            WriteVarint((ulong)value);
        }

        /// <summary>A float field.</summary>
        public void Float(int field, float value)
        {
            Tag(field, Fixed32);
            Span<byte> bytes = stackalloc byte[4];
            BinaryPrimitives.WriteSingleLittleEndian(bytes, value);
            _buffer.Write(bytes);
        }

        /// <summary>A string field (UTF-8).</summary>
        public void String(int field, string value) => Bytes(field, Encoding.UTF8.GetBytes(value));

        /// <summary>A bytes field.</summary>
        public void Bytes(int field, ReadOnlySpan<byte> value)
        {
            Tag(field, LengthDelimited);
            WriteVarint((ulong)value.Length);
            _buffer.Write(value);
        }

        /// <summary>A nested message field, written by <paramref name="body"/>.</summary>
        public void Message(int field, Action<ProtobufWriter> body)
        {
            var nested = new ProtobufWriter();
            body(nested);
            Bytes(field, nested.Written);
        }

        /// <summary>Copies everything written to <paramref name="stream"/>.</summary>
        public void WriteTo(Stream stream) => stream.Write(Written);

        private void Tag(int field, int wireType) => WriteVarint((ulong)((field << 3) | wireType));

        private void WriteVarint(ulong value)
        {
            while (value >= 0x80)
            {
                _buffer.WriteByte((byte)(value | 0x80));
                value >>= 7;
            }
            _buffer.WriteByte((byte)value);
        }
    }
}
