using System;
using System.Buffers.Binary;
using System.Collections.Generic;
using System.Globalization;
using System.Linq;
using System.Text;

namespace MlnetLstm.Trainers
{
    /// <summary>One tensor of a pickled state_dict, as <c>torch._utils._rebuild_tensor_v2</c> would rebuild it.</summary>
    /// <param name="Key">The state_dict key, e.g. "rnn.weight_ih_l0".</param>
    /// <param name="StorageType">The storage class, e.g. "FloatStorage".</param>
    /// <param name="StorageKey">The storage's record in the archive: data/&lt;key&gt;.</param>
    /// <param name="StorageElements">The number of elements the persistent id says the storage holds.</param>
    /// <param name="Offset">The tensor's first element in the storage.</param>
    /// <param name="Shape">The tensor's dimensions.</param>
    /// <param name="Stride">The tensor's strides, in elements.</param>
    internal sealed record PickledTensor(string Key, string StorageType, string StorageKey, long StorageElements, long Offset, long[] Shape, long[] Stride)
    {
        public long Elements => Shape.Aggregate(1L, (a, b) => a * b);

        /// <summary>Whether the tensor is the row-major contiguous run of its storage's first <see cref="Elements"/> elements.</summary>
        public bool IsWholeContiguousStorage
        {
            get
            {
                if (Offset != 0 || StorageElements != Elements)
                    return false;
                long expected = 1;
                for (int i = Shape.Length - 1; i >= 0; i--)
                {
                    if (Shape[i] != 1 && Stride[i] != expected)
                        return false;
                    expected *= Shape[i];
                }
                return true;
            }
        }
    }

    /// <summary>
    /// Reads a pickle (protocols 0 to 5) without running it: an interpreter of the opcodes over symbolic values
    /// (strings, numbers, tuples, dicts, and the few callables below) that accepts only what
    /// <c>torch.save(model.state_dict())</c> writes, the same allowlist as PyTorch's <c>torch.load(weights_only=True)</c>
    /// keeps for tensors: <c>torch._utils._rebuild_tensor_v2</c> (and <c>_rebuild_tensor</c>), the <c>torch.*Storage</c>
    /// classes as storage types of persistent ids, and <c>collections.OrderedDict</c>. Any other GLOBAL or
    /// STACK_GLOBAL target (os.system, builtins.eval, a model class, …), any REDUCE or BUILD of something else, and the
    /// opcodes that instantiate classes (INST, OBJ, NEWOBJ, NEWOBJ_EX), look up extension codes (EXT1/2/4) or take
    /// out-of-band buffers are refused before anything reads the file's tensors. Every length is checked against the
    /// bytes left, so a crafted length allocates nothing.
    /// </summary>
    /// <remarks>
    /// PyBridge's unpickler (Razorvine.Pickle) runs no Python, but it maps any unknown GLOBAL to a placeholder that a
    /// REDUCE without arguments turns into a dictionary, builds tensors of whatever shape the pickle names before
    /// reading their bytes, dispatches constructors through a process-wide registry, and invokes <c>__setstate__</c> by
    /// reflection; this scan makes sure it is only ever handed a plain state_dict of contiguous tensors.
    /// </remarks>
    internal sealed class PickleScanner
    {
        /// <summary>The most bytes of pickle read: a state_dict's pickle is a few kilobytes per hundred tensors.</summary>
        public const int MaximumPickleBytes = 64 << 20;

        private const int MaximumStackDepth = 1 << 16;
        private const int MaximumMemo = 1 << 20;

        /// <summary>Callables a REDUCE may call, and storage classes a persistent id may name.</summary>
        private static readonly HashSet<string> AllowedGlobals = new(StringComparer.Ordinal)
        {
            "torch._utils._rebuild_tensor_v2",
            "torch._utils._rebuild_tensor",
            "collections.OrderedDict",
            "torch.FloatStorage", "torch.DoubleStorage", "torch.HalfStorage", "torch.BFloat16Storage",
            "torch.LongStorage", "torch.IntStorage", "torch.ShortStorage", "torch.CharStorage", "torch.ByteStorage", "torch.BoolStorage",
        };

        private readonly byte[] _data;
        private readonly string _source;
        private int _position;
        private readonly List<object> _stack = new();
        private readonly List<int> _marks = new();
        private readonly Dictionary<long, object> _memo = new();

        private PickleScanner(byte[] data, string source)
        {
            _data = data;
            _source = source;
        }

        // The symbolic values: anything the scan does not need to know is Opaque.
        private sealed record Global(string Module, string Name)
        {
            public string FullName => $"{Module}.{Name}";
        }

        private sealed record Tuple(object[] Items);

        private sealed record Persistent(object Id);

        private sealed record Tensor(PickledTensor Value);

        private sealed class Dict
        {
            public readonly List<(object Key, object Value)> Items = new();

            /// <summary>Made by collections.OrderedDict (which has a state, and a __setstate__ in PyBridge), not by EMPTY_DICT or DICT.</summary>
            public bool Ordered { get; init; }
        }

        private sealed class ListValue
        {
            public readonly List<object> Items = new();
        }

        private sealed record Opaque(string What);

        private static readonly object None = new Opaque("None");

        /// <summary>
        /// Scans the pickle of a state_dict and returns its tensors in the order the pickle lists them.
        /// </summary>
        /// <param name="data">The pickle (the archive's data.pkl).</param>
        /// <param name="source">The file and record, for messages.</param>
        /// <exception cref="FormatException">The pickle holds anything but a dict of tensors, names a callable outside the allowlist, or is damaged; the message names what and where.</exception>
        public static IReadOnlyList<PickledTensor> ScanStateDict(byte[] data, string source) => new PickleScanner(data, source).Run();

        private IReadOnlyList<PickledTensor> Run()
        {
            while (true)
            {
                if (_position >= _data.Length)
                    throw Damaged("it ends before its STOP opcode (the file is truncated)");
                int at = _position;
                byte opcode = _data[_position++];
                switch (opcode)
                {
                    case 0x2E: // STOP
                        return Result(at);
                    case 0x80: // PROTO
                        {
                            int protocol = ReadByte();
                            if (protocol > 5)
                                throw Damaged($"it is pickle protocol {protocol}; protocols 0 to 5 exist");
                            break;
                        }
                    case 0x95: // FRAME
                        ReadBytes(8);
                        break;
                    case 0x28: // MARK
                        if (_marks.Count >= MaximumStackDepth)
                            throw Damaged("its marks nest too deep");
                        _marks.Add(_stack.Count);
                        break;
                    case 0x30: // POP
                        Pop(at);
                        break;
                    case 0x31: // POP_MARK
                        PopMark(at);
                        break;
                    case 0x32: // DUP
                        Push(Peek(at));
                        break;
                    case 0x4E: // NONE
                        Push(None);
                        break;
                    case 0x88: // NEWTRUE
                        Push(true);
                        break;
                    case 0x89: // NEWFALSE
                        Push(false);
                        break;
                    case 0x49: // INT (text; "01"/"00" are True/False in protocol 0)
                        {
                            string line = ReadLine();
                            Push(line switch
                            {
                                "01" => true,
                                "00" => false,
                                _ => long.TryParse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) ? v : new Opaque("int"),
                            });
                            break;
                        }
                    case 0x4C: // LONG (text)
                        {
                            string line = ReadLine().TrimEnd('L');
                            Push(long.TryParse(line, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long v) ? v : new Opaque("int"));
                            break;
                        }
                    case 0x4A: // BININT
                        Push((long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)));
                        break;
                    case 0x4B: // BININT1
                        Push((long)ReadByte());
                        break;
                    case 0x4D: // BININT2
                        Push((long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2)));
                        break;
                    case 0x8A: // LONG1
                        Push(Long(ReadBytes(ReadByte())));
                        break;
                    case 0x8B: // LONG4
                        Push(Long(ReadBytes(ReadLength(4, at))));
                        break;
                    case 0x46: // FLOAT (text)
                        ReadLine();
                        Push(new Opaque("float"));
                        break;
                    case 0x47: // BINFLOAT
                        ReadBytes(8);
                        Push(new Opaque("float"));
                        break;
                    case 0x53: // STRING (text, quoted)
                        Push(Unquote(ReadLine()));
                        break;
                    case 0x54: // BINSTRING
                        Push(Encoding.Latin1.GetString(ReadBytes(ReadLength(4, at))));
                        break;
                    case 0x55: // SHORT_BINSTRING
                        Push(Encoding.Latin1.GetString(ReadBytes(ReadByte())));
                        break;
                    case 0x56: // UNICODE (raw-unicode-escape text)
                        Push(ReadLine());
                        break;
                    case 0x58: // BINUNICODE
                        Push(Utf8(ReadBytes(ReadLength(4, at)), at));
                        break;
                    case 0x8C: // SHORT_BINUNICODE
                        Push(Utf8(ReadBytes(ReadByte()), at));
                        break;
                    case 0x8D: // BINUNICODE8
                        Push(Utf8(ReadBytes(ReadLength(8, at)), at));
                        break;
                    case 0x42: // BINBYTES
                        ReadBytes(ReadLength(4, at));
                        Push(new Opaque("bytes"));
                        break;
                    case 0x43: // SHORT_BINBYTES
                        ReadBytes(ReadByte());
                        Push(new Opaque("bytes"));
                        break;
                    case 0x8E: // BINBYTES8
                        ReadBytes(ReadLength(8, at));
                        Push(new Opaque("bytes"));
                        break;
                    case 0x96: // BYTEARRAY8
                        ReadBytes(ReadLength(8, at));
                        Push(new Opaque("bytearray"));
                        break;
                    case 0x29: // EMPTY_TUPLE
                        Push(new Tuple(Array.Empty<object>()));
                        break;
                    case 0x85: // TUPLE1
                        Push(new Tuple(PopN(1, at)));
                        break;
                    case 0x86: // TUPLE2
                        Push(new Tuple(PopN(2, at)));
                        break;
                    case 0x87: // TUPLE3
                        Push(new Tuple(PopN(3, at)));
                        break;
                    case 0x74: // TUPLE
                        Push(new Tuple(PopMark(at)));
                        break;
                    case 0x5D: // EMPTY_LIST
                        Push(new ListValue());
                        break;
                    case 0x6C: // LIST
                        {
                            var list = new ListValue();
                            list.Items.AddRange(PopMark(at));
                            Push(list);
                            break;
                        }
                    case 0x61: // APPEND
                        {
                            var value = Pop(at);
                            AsList(Peek(at), at).Items.Add(value);
                            break;
                        }
                    case 0x65: // APPENDS
                        {
                            var values = PopMark(at);
                            AsList(Peek(at), at).Items.AddRange(values);
                            break;
                        }
                    case 0x7D: // EMPTY_DICT
                        Push(new Dict());
                        break;
                    case 0x64: // DICT
                        {
                            var items = PopMark(at);
                            if (items.Length % 2 != 0)
                                throw Damaged($"its DICT at byte {at} has an odd number of items");
                            var dict = new Dict();
                            for (int i = 0; i < items.Length; i += 2)
                                dict.Items.Add((items[i], items[i + 1]));
                            Push(dict);
                            break;
                        }
                    case 0x73: // SETITEM
                        {
                            var value = Pop(at);
                            var key = Pop(at);
                            AsDict(Peek(at), at).Items.Add((key, value));
                            break;
                        }
                    case 0x75: // SETITEMS
                        {
                            var items = PopMark(at);
                            if (items.Length % 2 != 0)
                                throw Damaged($"its SETITEMS at byte {at} has an odd number of items");
                            var dict = AsDict(Peek(at), at);
                            for (int i = 0; i < items.Length; i += 2)
                                dict.Items.Add((items[i], items[i + 1]));
                            break;
                        }
                    case 0x8F: // EMPTY_SET
                        Push(new Opaque("set"));
                        break;
                    case 0x90: // ADDITEMS
                        PopMark(at);
                        if (Peek(at) is not Opaque { What: "set" })
                            throw Damaged($"its ADDITEMS at byte {at} adds to something that is not a set");
                        break;
                    case 0x91: // FROZENSET
                        PopMark(at);
                        Push(new Opaque("frozenset"));
                        break;
                    case 0x70: // PUT
                        Memoize(ParseIndex(ReadLine(), at), at);
                        break;
                    case 0x71: // BINPUT
                        Memoize(ReadByte(), at);
                        break;
                    case 0x72: // LONG_BINPUT
                        Memoize(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)), at);
                        break;
                    case 0x94: // MEMOIZE
                        Memoize(_memo.Count, at);
                        break;
                    case 0x67: // GET
                        Push(Recall(ParseIndex(ReadLine(), at), at));
                        break;
                    case 0x68: // BINGET
                        Push(Recall(ReadByte(), at));
                        break;
                    case 0x6A: // LONG_BINGET
                        Push(Recall(BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4)), at));
                        break;
                    case 0x63: // GLOBAL: "module\nname\n"
                        {
                            string module = ReadLine(), name = ReadLine();
                            Push(CheckGlobal(module, name, "GLOBAL", at));
                            break;
                        }
                    case 0x93: // STACK_GLOBAL
                        {
                            var name = Pop(at);
                            var module = Pop(at);
                            if (module is not string m || name is not string n)
                                throw Refused($"its STACK_GLOBAL at byte {at} takes its module and name from values that are not strings");
                            Push(CheckGlobal(m, n, "STACK_GLOBAL", at));
                            break;
                        }
                    case 0x51: // BINPERSID
                        Push(new Persistent(Pop(at)));
                        break;
                    case 0x50: // PERSID (text): torch.save never writes it
                        throw Refused($"its PERSID at byte {at} names a persistent object by text, which torch.save never writes");
                    case 0x52: // REDUCE
                        {
                            var args = Pop(at);
                            var callable = Pop(at);
                            Push(Reduce(callable, args, at));
                            break;
                        }
                    case 0x62: // BUILD
                        {
                            var state = Pop(at);
                            var target = Peek(at);
                            // An OrderedDict's state is its instance dict: state_dict() keeps _metadata (module versions) there.
                            if (target is not Dict { Ordered: true } || state is not (Dict or Opaque { What: "None" }))
                                throw Refused($"its BUILD at byte {at} sets the state of {Describe(target)}; only a state_dict's own OrderedDict may have state");
                            break;
                        }
                    case 0x69: // INST
                    case 0x6F: // OBJ
                    case 0x81: // NEWOBJ
                    case 0x92: // NEWOBJ_EX
                        throw Refused($"its {OpcodeName(opcode)} at byte {at} instantiates a class, which a state_dict of tensors never does");
                    case 0x82: // EXT1
                    case 0x83: // EXT2
                    case 0x84: // EXT4
                        throw Refused($"its {OpcodeName(opcode)} at byte {at} looks a callable up in Python's copyreg extension registry");
                    case 0x97: // NEXT_BUFFER
                    case 0x98: // READONLY_BUFFER
                        throw Refused($"its {OpcodeName(opcode)} at byte {at} refers to out-of-band buffers, which torch.save never writes");
                    default:
                        throw Damaged($"byte {at} holds 0x{opcode:X2}, which is no pickle opcode");
                }
            }
        }

        private IReadOnlyList<PickledTensor> Result(int at)
        {
            if (_stack.Count != 1 || _marks.Count != 0)
                throw Damaged($"its STOP at byte {at} leaves {_stack.Count} values on the stack; a pickle leaves one");
            if (_stack[0] is not Dict dict)
                throw Refused($"it holds {Describe(_stack[0])}, not a state_dict (a dict of tensors). Save the model's weights with torch.save(model.state_dict(), path)");
            var tensors = new List<PickledTensor>(dict.Items.Count);
            var seen = new HashSet<string>(StringComparer.Ordinal);
            foreach (var (key, value) in dict.Items)
            {
                if (key is not string name)
                    throw Refused($"its dict has a key that is {Describe(key)}, not a string; a state_dict's keys are parameter names");
                if (value is not Tensor tensor)
                    throw Refused($"its entry '{name}' is {Describe(value)}, not a tensor. A checkpoint that holds a state_dict among other things must be " +
                        "re-saved as the state_dict alone: torch.save(checkpoint['model'], path), or torch.save(model.state_dict(), path)");
                if (!seen.Add(name))
                    throw Damaged($"its dict lists the key '{name}' twice");
                tensors.Add(tensor.Value with { Key = name });
            }
            return tensors;
        }

        private object CheckGlobal(string module, string name, string opcode, int at)
        {
            var global = new Global(module, name);
            if (!AllowedGlobals.Contains(global.FullName))
            {
                string why = global.FullName switch
                {
                    "torch._utils._rebuild_parameter" or "torch._utils._rebuild_parameter_with_state" =>
                        "which rebuilds nn.Parameter objects: the file holds a whole model or state_dict(keep_vars=True). Save model.state_dict() instead",
                    _ when module == "__main__" || !module.StartsWith("torch", StringComparison.Ordinal) && module != "collections" =>
                        "which is neither a tensor nor a plain container: unpickling it in Python would import and call it, so it could run any code " +
                        "(torch.load(weights_only=True) refuses it too). If the file holds a whole model, save its weights with torch.save(model.state_dict(), path)",
                    _ => "which is not a tensor or a plain container (allowed: torch._utils._rebuild_tensor_v2, torch.*Storage, collections.OrderedDict)",
                };
                throw Refused($"its {opcode} at byte {at} names {global.FullName}, {why}");
            }
            return global;
        }

        private object Reduce(object callable, object args, int at)
        {
            if (callable is not Global global)
                throw Refused($"its REDUCE at byte {at} calls {Describe(callable)}, which is not an allowed function");
            if (args is not Tuple tuple)
                throw Refused($"its REDUCE at byte {at} calls {global.FullName} with {Describe(args)} instead of an argument tuple");
            var a = tuple.Items;
            switch (global.FullName)
            {
                case "collections.OrderedDict":
                    // OrderedDict() or OrderedDict(()) / OrderedDict([]): an empty one, filled by SETITEMS.
                    if (a.Length == 0 || (a.Length == 1 && a[0] is Tuple { Items.Length: 0 } or ListValue { Items.Count: 0 }))
                        return new Dict { Ordered = true };
                    throw Refused($"its REDUCE at byte {at} calls collections.OrderedDict with arguments; torch.save fills it item by item");
                case "torch._utils._rebuild_tensor_v2" when a.Length >= 5:
                case "torch._utils._rebuild_tensor" when a.Length == 4:
                    return new Tensor(RebuildTensor(a, at));
                case "torch._utils._rebuild_tensor_v2":
                case "torch._utils._rebuild_tensor":
                    throw Refused($"its REDUCE at byte {at} calls {global.FullName} with {a.Length} arguments");
                default:
                    // Storage classes are only ever arguments of persistent ids.
                    throw Refused($"its REDUCE at byte {at} calls {global.FullName}, which a state_dict never calls");
            }
        }

        /// <summary>(storage, storage_offset, size, stride[, requires_grad, backward_hooks[, metadata]]).</summary>
        private PickledTensor RebuildTensor(object[] a, int at)
        {
            if (a[0] is not Persistent { Id: Tuple { Items: var id } }
                || id.Length != 5 || id[0] is not "storage" || id[1] is not Global storageType || id[2] is not string storageKey || id[4] is not long storageElements)
                throw Refused($"the tensor rebuilt at byte {at} does not come from a storage record ('storage', torch.*Storage, key, location, size) as torch.save writes it");
            if (!storageType.Name.EndsWith("Storage", StringComparison.Ordinal) || storageType.Module != "torch")
                throw Refused($"the tensor rebuilt at byte {at} names {storageType.FullName} as its storage type");
            if (a[1] is not long offset || a[2] is not Tuple size || a[3] is not Tuple stride
                || size.Items.Any(d => d is not long n || n < 0) || stride.Items.Length != size.Items.Length || stride.Items.Any(s => s is not long))
                throw Refused($"the tensor rebuilt at byte {at} has no integer offset, shape and strides of equal length");
            if (a.Length >= 6 && a[5] is not (Dict or Opaque { What: "None" }))
                throw Refused($"the tensor rebuilt at byte {at} has backward hooks");
            if (storageElements < 0 || offset < 0)
                throw Damaged($"the tensor rebuilt at byte {at} has a negative storage size or offset");
            return new PickledTensor("", storageType.Name, storageKey, storageElements, offset,
                size.Items.Select(d => (long)d).ToArray(), stride.Items.Select(s => (long)s).ToArray());
        }

        private void Push(object value)
        {
            if (_stack.Count >= MaximumStackDepth)
                throw Damaged("its stack grows beyond what a state_dict needs");
            _stack.Add(value);
        }

        private object Pop(int at)
        {
            int floor = _marks.Count > 0 ? _marks[^1] : 0;
            if (_stack.Count <= floor)
                throw Damaged($"its opcode at byte {at} pops an empty stack");
            var value = _stack[^1];
            _stack.RemoveAt(_stack.Count - 1);
            return value;
        }

        private object Peek(int at)
        {
            int floor = _marks.Count > 0 ? _marks[^1] : 0;
            if (_stack.Count <= floor)
                throw Damaged($"its opcode at byte {at} reads an empty stack");
            return _stack[^1];
        }

        private object[] PopN(int count, int at)
        {
            var items = new object[count];
            for (int i = count - 1; i >= 0; i--)
                items[i] = Pop(at);
            return items;
        }

        private object[] PopMark(int at)
        {
            if (_marks.Count == 0)
                throw Damaged($"its opcode at byte {at} needs a MARK that is not there");
            int mark = _marks[^1];
            _marks.RemoveAt(_marks.Count - 1);
            var items = _stack.GetRange(mark, _stack.Count - mark).ToArray();
            _stack.RemoveRange(mark, _stack.Count - mark);
            return items;
        }

        private void Memoize(long index, int at)
        {
            if (_memo.Count >= MaximumMemo && !_memo.ContainsKey(index))
                throw Damaged("its memo grows beyond what a state_dict needs");
            _memo[index] = Peek(at);
        }

        private object Recall(long index, int at)
            => _memo.TryGetValue(index, out var value) ? value : throw Damaged($"its opcode at byte {at} recalls memo entry {index}, which was never stored");

        private ListValue AsList(object value, int at)
            => value as ListValue ?? throw Damaged($"its opcode at byte {at} appends to {Describe(value)}, not a list");

        private Dict AsDict(object value, int at)
            => value as Dict ?? throw Damaged($"its opcode at byte {at} sets an item of {Describe(value)}, not a dict");

        private int ReadByte()
        {
            if (_position >= _data.Length)
                throw Damaged("it ends inside an opcode (the file is truncated)");
            return _data[_position++];
        }

        private ReadOnlySpan<byte> ReadBytes(int count)
        {
            if (count < 0 || count > _data.Length - _position)
                throw Damaged($"an opcode asks for {count:N0} bytes where {_data.Length - _position:N0} are left (the file is truncated or damaged)");
            var span = _data.AsSpan(_position, count);
            _position += count;
            return span;
        }

        /// <summary>A little-endian length of 4 or 8 bytes, checked against the bytes left before anything is allocated.</summary>
        private int ReadLength(int width, int at)
        {
            var bytes = ReadBytes(width);
            ulong length = width == 4 ? BinaryPrimitives.ReadUInt32LittleEndian(bytes) : BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            if (length > (ulong)(_data.Length - _position))
                throw Damaged($"its opcode at byte {at} announces {length:N0} bytes where {_data.Length - _position:N0} are left (the file is truncated or damaged)");
            return (int)length;
        }

        private string ReadLine()
        {
            int end = Array.IndexOf(_data, (byte)'\n', _position);
            if (end < 0)
                throw Damaged("it ends inside a text opcode (the file is truncated)");
            string line = Encoding.UTF8.GetString(_data, _position, end - _position);
            _position = end + 1;
            return line;
        }

        private string Utf8(ReadOnlySpan<byte> bytes, int at)
        {
            try
            {
                return new UTF8Encoding(false, true).GetString(bytes);
            }
            catch (ArgumentException)
            {
                throw Damaged($"its string at byte {at} is not valid UTF-8");
            }
        }

        private static object Long(ReadOnlySpan<byte> bytes)
        {
            if (bytes.Length == 0)
                return 0L;
            if (bytes.Length > 8)
                return new Opaque("int");
            long value = 0;
            for (int i = bytes.Length - 1; i >= 0; i--)
                value = (value << 8) | bytes[i];
            int unused = 64 - 8 * bytes.Length;
            return unused == 0 ? value : (value << unused) >> unused; // sign-extend two's complement
        }

        private static object Unquote(string line)
            => line.Length >= 2 && (line[0] == '\'' || line[0] == '"') && line[^1] == line[0] ? line[1..^1] : new Opaque("string");

        private long ParseIndex(string line, int at)
            => long.TryParse(line, NumberStyles.None, CultureInfo.InvariantCulture, out long index) ? index : throw Damaged($"its memo index at byte {at} is not a number");

        private static string Describe(object value) => value switch
        {
            string s => $"the string '{(s.Length > 40 ? s[..40] + "…" : s)}'",
            long n => $"the integer {n}",
            bool b => b ? "True" : "False",
            Global g => g.FullName,
            Tuple t => $"a tuple of {t.Items.Length}",
            ListValue => "a list",
            Dict => "a dict",
            Tensor => "a tensor",
            Persistent => "a persistent object",
            Opaque o => o.What == "None" ? "None" : $"a {o.What}",
            _ => "an unknown value",
        };

        private static string OpcodeName(byte opcode) => opcode switch
        {
            0x69 => "INST",
            0x6F => "OBJ",
            0x81 => "NEWOBJ",
            0x92 => "NEWOBJ_EX",
            0x82 => "EXT1",
            0x83 => "EXT2",
            0x84 => "EXT4",
            0x97 => "NEXT_BUFFER",
            0x98 => "READONLY_BUFFER",
            _ => $"0x{opcode:X2}",
        };

        private FormatException Refused(string problem)
            => new($"PyTorch file {_source} is refused: {problem}. Only state_dicts of tensors are read (as torch.load(..., weights_only=True) reads them); nothing in the file was run.");

        private FormatException Damaged(string problem)
            => new($"PyTorch file {_source} is not a valid pickle: {problem}.");
    }
}
