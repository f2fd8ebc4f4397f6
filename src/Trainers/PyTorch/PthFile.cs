using System;
using System.Collections;
using System.Collections.Generic;
using System.IO;
using System.IO.Compression;
using System.Linq;
using TorchSharp;
using TorchSharp.PyBridge;
using static TorchSharp.torch;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// Reads and writes the files of PyTorch's <c>torch.save(model.state_dict(), path)</c>: a zip archive whose
    /// data.pkl pickles the dict and whose data/&lt;key&gt; records hold the storages' bytes. Reading scans the pickle
    /// with <see cref="PickleScanner"/> and checks every storage record before PyBridge's unpickler sees the file.
    /// </summary>
    internal static class PthFile
    {
        // *** Binary format *** (PyTorch's zip serialization, as torch.save writes it since PyTorch 1.6)
        // zip archive; every record under one folder <name>/:
        //   <name>/data.pkl: the pickle (protocol 2) of a dict key → torch._utils._rebuild_tensor_v2(persistent id
        //     ('storage', torch.<Type>Storage, '<k>', '<location>', elements), offset, shape, stride, requires_grad, OrderedDict())
        //   <name>/data/<k>: the storage's elements, little-endian
        //   <name>/version (and from PyTorch 2.1 <name>/byteorder, "little")
        public static void Write(string path, IReadOnlyList<StateDictEntry> tensors)
        {
            using var scope = NewDisposeScope();
            // Insertion order is the order of the pickled dict, so load_state_dict sees the parameters as the module lists them.
            var dictionary = new Dictionary<string, Tensor>();
            foreach (var entry in tensors)
                dictionary[entry.Key] = tensor(entry.Values!, entry.Shape);
            using var file = File.Create(path);
            PyTorchPickler.PickleStateDict(file, dictionary, leaveOpen: true);
        }

        /// <summary>Reads every tensor of a state_dict file, in the order of its dict; floating-point ones are converted to float.</summary>
        /// <exception cref="FormatException">The file is not a PyTorch zip file, its pickle is refused or damaged, or a storage record is missing or of the wrong size; the message names the file and the key.</exception>
        public static IReadOnlyList<StateDictEntry> Read(string path)
        {
            using var stream = File.OpenRead(path);
            CheckSignature(stream, path);
            IReadOnlyList<PickledTensor> pickled;
            try
            {
                using var archive = new ZipArchive(stream, ZipArchiveMode.Read, leaveOpen: true);
                pickled = Scan(archive, path);
            }
            catch (InvalidDataException e)
            {
                throw new FormatException($"PyTorch file '{path}' is not a readable zip archive ({e.Message}); it is truncated or damaged.", e);
            }

            stream.Position = 0;
            using var scope = NewDisposeScope();
            Hashtable unpickled;
            try
            {
                unpickled = PyTorchUnpickler.UnpickleStateDict(stream, leaveOpen: true);
            }
            catch (Exception e) when (e is InvalidDataException or EndOfStreamException or IOException)
            {
                throw new FormatException($"PyTorch file '{path}' could not be read to its end ({e.Message}); it is truncated or damaged.", e);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                // The scan let through only what PyBridge reads; anything it still throws comes from the file's contents.
                throw new FormatException($"PyTorch file '{path}' passed the pickle check but PyBridge could not read it ({e.GetType().Name}: {e.Message}); the file is damaged.", e);
            }
            var entries = new List<StateDictEntry>(pickled.Count);
            foreach (var tensor in pickled)
            {
                if (unpickled[tensor.Key] is not Tensor value)
                    throw new FormatException($"PyTorch file '{path}': the tensor '{tensor.Key}' did not unpickle as a tensor; the file is damaged.");
                float[]? values = null;
                if (value.is_floating_point())
                {
                    using var asFloat = value.to(ScalarType.Float32).contiguous();
                    values = asFloat.data<float>().ToArray();
                }
                entries.Add(new StateDictEntry(tensor.Key, value.shape, value.dtype.ToString(), values));
            }
            return entries;
        }

        private static void CheckSignature(Stream stream, string path)
        {
            Span<byte> signature = stackalloc byte[4];
            int read = stream.ReadAtLeast(signature, 4, throwOnEndOfStream: false);
            stream.Position = 0;
            if (read == 4 && signature.SequenceEqual("PK\u0003\u0004"u8))
                return;
            if (read >= 2 && signature[0] == 0x80 && signature[1] <= 5)
                throw new FormatException($"PyTorch file '{path}' is a bare pickle, not the zip archive torch.save has written since PyTorch 1.6 (it was saved with " +
                    "_use_new_zipfile_serialization=False, or by pickle itself). Nothing was unpickled. Re-save it with torch.save(model.state_dict(), path) in a current PyTorch, or as .safetensors.");
            throw new FormatException($"PyTorch file '{path}' is not a PyTorch weights file: it does not start with the zip signature of torch.save's archives. " +
                "Give the .pth of torch.save(model.state_dict(), path) or a .safetensors file.");
        }

        /// <summary>Finds the one data.pkl, scans it, and checks that every tensor's storage record is there and holds exactly its elements.</summary>
        private static IReadOnlyList<PickledTensor> Scan(ZipArchive archive, string path)
        {
            // PyBridge takes the first record whose name ends with "data.pkl": there must be one, and no other it could take.
            var pickles = archive.Entries.Where(e => e.Name.EndsWith("data.pkl", StringComparison.Ordinal)).ToList();
            if (pickles.Count != 1 || pickles[0].Name != "data.pkl")
                throw new FormatException($"PyTorch file '{path}' holds {pickles.Count} data.pkl records; torch.save writes exactly one. It is not a state_dict file of torch.save.");
            var pickle = pickles[0];
            string folder = pickle.FullName[..^"data.pkl".Length];
            string source = $"'{path}' ({pickle.FullName})";
            if (pickle.Length > PickleScanner.MaximumPickleBytes)
                throw new FormatException($"PyTorch file {source} has a pickle of {pickle.Length:N0} bytes; a state_dict's is a few kilobytes, and at most {PickleScanner.MaximumPickleBytes:N0} are read.");
            if (archive.GetEntry(folder + "byteorder") is { } byteOrder)
            {
                using var reader = new StreamReader(byteOrder.Open());
                string order = reader.ReadToEnd().Trim();
                if (order != "little")
                    throw new FormatException($"PyTorch file '{path}' stores its tensors {order}-endian; only little-endian files are read. Re-save it on a little-endian machine.");
            }
            var bytes = new byte[pickle.Length];
            using (var data = pickle.Open())
            {
                int read = data.ReadAtLeast(bytes, bytes.Length, throwOnEndOfStream: false);
                if (read != bytes.Length || data.ReadByte() != -1)
                    throw new FormatException($"PyTorch file {source}: the pickle record does not hold the {pickle.Length:N0} bytes its zip entry announces; the file is damaged.");
            }
            var tensors = PickleScanner.ScanStateDict(bytes, source);
            foreach (var tensor in tensors)
            {
                string record = folder + "data/" + tensor.StorageKey;
                // PyBridge finds a storage as the first record whose name ends with "data/<key>": there must be no other.
                var matches = archive.Entries.Where(e => e.FullName.EndsWith("data/" + tensor.StorageKey, StringComparison.Ordinal)).ToList();
                if (matches.Count != 1 || matches[0].FullName != record)
                    throw new FormatException($"PyTorch file '{path}': the storage of tensor '{tensor.Key}' should be the one record '{record}', but {matches.Count} records end with 'data/{tensor.StorageKey}'; the file is damaged.");
                long size = StorageElementSize(tensor.StorageType) * tensor.StorageElements;
                if (matches[0].Length != size)
                    throw new FormatException($"PyTorch file '{path}': the storage of tensor '{tensor.Key}' ({tensor.StorageElements:N0} × {tensor.StorageType}) needs {size:N0} bytes, " +
                        $"but its record '{record}' holds {matches[0].Length:N0}; the file is truncated or damaged.");
                if (tensor.Elements > MlnetLstm.Transforms.RecurrentArchitecture.MaximumParameters)
                    throw new FormatException($"PyTorch file '{path}': tensor '{tensor.Key}' has shape [{string.Join(", ", tensor.Shape)}], more elements than any network here has.");
                if (!tensor.IsWholeContiguousStorage)
                    throw new FormatException($"PyTorch file '{path}': tensor '{tensor.Key}' (shape [{string.Join(", ", tensor.Shape)}], strides [{string.Join(", ", tensor.Stride)}], " +
                        $"offset {tensor.Offset}) is a view into a storage of {tensor.StorageElements:N0} elements, not a whole contiguous tensor, which this reader does not take " +
                        "(cuDNN's flattened LSTM weights are saved so). Re-save it with torch.save({k: v.contiguous().clone().cpu() for k, v in model.state_dict().items()}, path).");
            }
            return tensors;
        }

        private static int StorageElementSize(string storageType) => storageType switch
        {
            "DoubleStorage" or "LongStorage" => 8,
            "FloatStorage" or "IntStorage" => 4,
            "HalfStorage" or "BFloat16Storage" or "ShortStorage" => 2,
            _ => 1,
        };
    }
}
