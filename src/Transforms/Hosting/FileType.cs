using System;
using System.IO;
using System.Runtime.InteropServices;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// The type of a directory entry (regular file, device, named pipe, …), which .NET does not expose: on Unix
    /// <c>FileInfo</c> reports a character device or a named pipe as an ordinary empty file, and opening a named pipe
    /// to read it blocks until someone writes to it. A file that is replaced by renaming a new one over it (a saved model,
    /// a checkpoint) is checked with <see cref="WhyNotReplaceable"/> first.
    /// </summary>
    internal static class FileType
    {
        private const int AtCurrentDirectory = -100; // AT_FDCWD
        private const int AtSymlinkNoFollow = 0x100; // AT_SYMLINK_NOFOLLOW: the entry itself, not a link's target.
        private const uint StatxType = 0x1; // STATX_TYPE
        private const int StatxSize = 256; // sizeof(struct statx), the same on every Linux architecture.
        private const int StatxModeOffset = 28; // offsetof(struct statx, stx_mode), a 16-bit field.

        [DllImport("libc", EntryPoint = "statx", SetLastError = true)]
        private static extern int Statx(int directory, [MarshalAs(UnmanagedType.LPUTF8Str)] string path, int flags, uint mask, byte[] buffer);

        /// <summary>
        /// Why the entry at <paramref name="fullPath"/> must not be replaced by renaming a new file over it ("is a
        /// directory", "is a symbolic link (to '…')", "is a named pipe (FIFO)", …), or null when it is a regular file or
        /// missing. A rename replaces a link rather than writing to its target, turns a pipe or a device into a regular
        /// file, and fails on a directory: none is what the caller meant.
        /// </summary>
        public static (Entry Kind, string Problem)? WhyNotReplaceable(string fullPath)
        {
            if (new FileInfo(fullPath).LinkTarget is string target)
                return (Entry.SymbolicLink, $"is a symbolic link (to '{target}'), which a rename would replace rather than write to its target");
            if (Directory.Exists(fullPath))
                return (Entry.Directory, "is a directory");
            return DescribeIfNotRegular(fullPath) is string kind ? (Entry.Other, $"is {kind}, not a regular file") : null;
        }

        /// <summary>The kinds of entry <see cref="WhyNotReplaceable"/> tells apart, for the fix a message suggests.</summary>
        public enum Entry
        {
            Directory,
            SymbolicLink,
            Other,
        }

        /// <summary>
        /// What the entry at <paramref name="path"/> is when it is neither a regular file nor missing ("a character
        /// device", "a named pipe (FIFO)", …); null for a regular file, a missing entry, or where the type cannot be
        /// read (outside Linux, or without statx): callers then rely on what .NET reports.
        /// </summary>
        public static string? DescribeIfNotRegular(string path)
        {
            if (!OperatingSystem.IsLinux())
                return null;
            var buffer = new byte[StatxSize];
            try
            {
                if (Statx(AtCurrentDirectory, path, AtSymlinkNoFollow, StatxType, buffer) != 0)
                    return null;
            }
            catch (Exception e) when (e is DllNotFoundException or EntryPointNotFoundException)
            {
                return null;
            }
            int type = BitConverter.ToUInt16(buffer, StatxModeOffset) & 0xF000; // S_IFMT
            return type switch
            {
                0x8000 => null, // S_IFREG
                0x4000 => "a directory",
                0xA000 => "a symbolic link",
                0x2000 => "a character device",
                0x6000 => "a block device",
                0x1000 => "a named pipe (FIFO)",
                0xC000 => "a socket",
                _ => $"not a regular file (type 0x{type:X4})",
            };
        }
    }
}
