using System;
using System.Collections.Generic;
using System.IO;
using System.Linq;

namespace MlnetLstm.Trainers
{
    /// <summary>One tensor of a PyTorch state_dict as read from a file.</summary>
    /// <param name="Key">The state_dict key, e.g. "rnn.weight_ih_l0".</param>
    /// <param name="Shape">The tensor's dimensions.</param>
    /// <param name="DType">The element type as the file names it (F32, Float32, I64, …).</param>
    /// <param name="Values">The elements, row-major, converted to float; null for tensors that are not floating point.</param>
    internal sealed record StateDictEntry(string Key, long[] Shape, string DType, float[]? Values)
    {
        public string ShapeText => $"[{string.Join(", ", Shape)}]";
    }

    /// <summary>A state_dict file of either kind: a torch.save .pth (zip and pickle) or a .safetensors, told apart by their first bytes.</summary>
    internal static class StateDictFile
    {
        /// <summary>Reads every tensor of <paramref name="path"/>, in the file's order.</summary>
        /// <exception cref="FormatException">The file is neither kind, is damaged, or its pickle is refused; the message names the file and what is wrong.</exception>
        public static IReadOnlyList<StateDictEntry> Read(string path)
        {
            var entries = IsSafetensors(path) ? SafetensorsFile.Read(path) : PthFile.Read(path);
            var twice = entries.GroupBy(e => e.Key, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
            if (twice is not null)
                throw new FormatException($"PyTorch file '{path}' lists the key '{twice.Key}' twice; the file is damaged.");
            return entries;
        }

        /// <summary>A safetensors file starts with its header's length (8 bytes) and then the JSON header's '{'; a .pth with a zip signature.</summary>
        private static bool IsSafetensors(string path)
        {
            using var file = File.OpenRead(path);
            Span<byte> start = stackalloc byte[9];
            int read = file.ReadAtLeast(start, start.Length, throwOnEndOfStream: false);
            if (read >= 4 && start[..4].SequenceEqual("PK\u0003\u0004"u8))
                return false;
            return read == 9 && start[8] == (byte)'{' || path.EndsWith(".safetensors", StringComparison.OrdinalIgnoreCase);
        }
    }
}
