using System;
using System.IO;
using System.Security.Cryptography;
using MlnetLstm.Transforms;

namespace Microsoft.ML
{
    /// <summary>
    /// Saving a model so that the file at the path is always a complete model: the previous one until the new one is
    /// completely on disk, then the new one. <c>mlContext.Model.Save(model, schema, path)</c> truncates the file
    /// first, so a process killed (or a save that fails) while writing leaves a partial zip, and the previous model is
    /// gone.
    /// </summary>
    public static class AtomicModelSave
    {
        /// <summary>
        /// Saves <paramref name="model"/> with its input schema to <paramref name="path"/> atomically: writes it to a
        /// temporary file of its own in the same directory (<c>&lt;path&gt;.&lt;random&gt;.tmp</c>), flushes it to disk,
        /// then renames it over <paramref name="path"/>. If the save fails, the temporary file is deleted and a file
        /// already at <paramref name="path"/> is left as it was; a process killed during the save leaves that file
        /// intact too (and, at worst, the temporary file, which may be deleted). Load the result with
        /// <c>mlContext.Model.Load</c> as usual.
        /// </summary>
        /// <remarks>
        /// The rename is atomic on a local file system (the temporary file is on the same one). A symbolic link at the
        /// path is refused rather than followed: save to its target, or to a new file and re-point the link (which is
        /// how a deployment that serves "current.zip" through a link swaps models). The new file gets the
        /// permissions new files get in that directory, not those of the file it replaces. Concurrent saves to one path
        /// do not interfere: each writes its own temporary file, and the last rename wins.
        /// </remarks>
        /// <param name="catalog">The model operations catalog, <c>mlContext.Model</c>.</param>
        /// <param name="model">The fitted model to save.</param>
        /// <param name="inputSchema">The schema of the model's input, saved with it (null saves none, as in <c>Save</c>).</param>
        /// <param name="path">The model file to write (or replace).</param>
        /// <exception cref="ArgumentNullException"><paramref name="catalog"/>, <paramref name="model"/> or <paramref name="path"/> is null.</exception>
        /// <exception cref="ArgumentException"><paramref name="path"/> is empty or whitespace, or names something other than a regular file: a directory, a symbolic link (a rename would replace the link, not its target), a named pipe, a device or a socket.</exception>
        /// <exception cref="DirectoryNotFoundException">The directory of <paramref name="path"/> does not exist.</exception>
        public static void SaveAtomically(this ModelOperationsCatalog catalog, ITransformer model, DataViewSchema? inputSchema, string path)
        {
            ArgumentNullException.ThrowIfNull(catalog);
            ArgumentNullException.ThrowIfNull(model);
            ArgumentNullException.ThrowIfNull(path);
            if (string.IsNullOrWhiteSpace(path))
                throw new ArgumentException("The model path is empty. Give the path of the model file to write.", nameof(path));
            string full = Path.GetFullPath(path);
            CheckReplaceable(path, full);
            string directory = Path.GetDirectoryName(full)!;
            if (!Directory.Exists(directory))
                throw new DirectoryNotFoundException($"Cannot save the model to '{path}': directory '{directory}' does not exist. Create it first.");

            // Same directory, so the rename stays on one file system and is atomic; a name of its own, so concurrent saves never share it.
            string temporary = $"{full}.{RandomNumberGenerator.GetHexString(16, lowercase: true)}.tmp";
            try
            {
                // Read and write, as File.Create gives Model.Save(path): MlnetLstm's checksums read back what they wrote.
                using (var stream = new FileStream(temporary, FileMode.CreateNew, FileAccess.ReadWrite, FileShare.None))
                {
                    catalog.Save(model, inputSchema, stream);
                    stream.Flush(flushToDisk: true);
                }
                // The entry at the path may have changed while the model was written: still never replace one of another kind.
                CheckReplaceable(path, full);
                File.Move(temporary, full, overwrite: true);
            }
            catch
            {
                try
                {
                    File.Delete(temporary);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                    // Best effort: the save's own failure is the one to report.
                }
                throw;
            }
        }

        /// <summary>Refuses a path whose entry a rename must not replace: a directory, a symbolic link, a named pipe, a device or a socket.</summary>
        private static void CheckReplaceable(string path, string full)
        {
            if (FileType.WhyNotReplaceable(full) is not var (kind, problem))
                return;
            string fix = kind switch
            {
                FileType.Entry.Directory => "Give the path of a file, such as a 'model.zip' inside it.",
                FileType.Entry.SymbolicLink => "Save to the link's target itself, or save to a new file and point the link at it.",
                _ => "Give the path of a regular file, or of a new one.",
            };
            throw new ArgumentException($"The model path '{path}' {problem}; SaveAtomically renames the new model over it. {fix}", nameof(path));
        }
    }
}
