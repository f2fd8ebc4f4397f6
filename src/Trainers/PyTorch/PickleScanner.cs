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

        /// <summary>pickle.HIGHEST_PROTOCOL: a PROTO above it is damage, not a format this scan could know.</summary>
        private const int HighestProtocol = 5;

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
            public Dict(params (object Key, object Value)[] items) => Items = new(items);

            public readonly List<(object Key, object Value)> Items;

            /// <summary>Made by collections.OrderedDict (which has a state, and a __setstate__ in PyBridge), not by EMPTY_DICT or DICT.</summary>
            public bool Ordered { get; init; }
        }

        private sealed class ListValue
        {
            public ListValue(params object[] items) => Items = new(items);

            public readonly List<object> Items;
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

        /// <summary>The unpickler's loop: one opcode after another until STOP, whose value must be a state_dict.</summary>
        private IReadOnlyList<PickledTensor> Run()
        {
            while (true)
            {
                if (_position >= _data.Length)
                    throw Damaged("it ends before its STOP opcode (the file is truncated)");
                int at = _position;
                var opcode = (PickleOpcode)_data[_position++];
                if (opcode == PickleOpcode.STOP)
                    return Result(at);
                if (Execute(opcode, at) is { } value)
                    Push(value);
            }
        }

        /// <summary>
        /// Runs one opcode other than STOP, as pickle.py's unpickler would but over symbolic values, and returns the value
        /// it pushes, or null if it pushes none. Each arm reads the opcode's argument and calls its handler (opcodes with
        /// the same argument layout share one); the opcodes a state_dict never needs, and bytes that are no opcode, throw.
        /// </summary>
        private object? Execute(PickleOpcode opcode, int at) => opcode switch
        {
            PickleOpcode.INT => ReadText() switch { "01" => true, "00" => false, var digits => Integer(digits) },
            PickleOpcode.BININT => (long)BinaryPrimitives.ReadInt32LittleEndian(ReadBytes(4)),
            PickleOpcode.BININT1 => (long)ReadByte(),
            PickleOpcode.BININT2 => (long)BinaryPrimitives.ReadUInt16LittleEndian(ReadBytes(2)),
            PickleOpcode.LONG => Integer(ReadText().TrimEnd('L')),
            PickleOpcode.LONG1 => Long(ReadCounted(1, at)),
            PickleOpcode.LONG4 => Long(ReadCounted(4, at)),

            PickleOpcode.STRING => Unquote(ReadText()),
            PickleOpcode.BINSTRING => Encoding.Latin1.GetString(ReadCounted(4, at)),
            PickleOpcode.SHORT_BINSTRING => Encoding.Latin1.GetString(ReadCounted(1, at)),

            PickleOpcode.BINBYTES => Skipped(ReadCounted(4, at), "bytes"),
            PickleOpcode.SHORT_BINBYTES => Skipped(ReadCounted(1, at), "bytes"),
            PickleOpcode.BINBYTES8 => Skipped(ReadCounted(8, at), "bytes"),
            PickleOpcode.BYTEARRAY8 => Skipped(ReadCounted(8, at), "bytearray"),
            PickleOpcode.NEXT_BUFFER or PickleOpcode.READONLY_BUFFER
                => throw Refused($"its {opcode} at byte {at} refers to out-of-band buffers, which torch.save never writes"),

            PickleOpcode.UNICODE => ReadText(),
            PickleOpcode.SHORT_BINUNICODE => Utf8(ReadCounted(1, at), at),
            PickleOpcode.BINUNICODE => Utf8(ReadCounted(4, at), at),
            PickleOpcode.BINUNICODE8 => Utf8(ReadCounted(8, at), at),

            PickleOpcode.FLOAT => Skipped(ReadLine(), "float"),
            PickleOpcode.BINFLOAT => Skipped(ReadBytes(8), "float"),

            PickleOpcode.NONE => None,
            PickleOpcode.NEWTRUE => true,
            PickleOpcode.NEWFALSE => false,

            PickleOpcode.EMPTY_LIST => new ListValue(),
            PickleOpcode.APPEND => Append(PopN(1, at), at),
            PickleOpcode.APPENDS => Append(PopMark(at), at),
            PickleOpcode.LIST => new ListValue(PopMark(at)),

            PickleOpcode.EMPTY_TUPLE => new Tuple(Array.Empty<object>()),
            PickleOpcode.TUPLE => new Tuple(PopMark(at)),
            PickleOpcode.TUPLE1 => new Tuple(PopN(1, at)),
            PickleOpcode.TUPLE2 => new Tuple(PopN(2, at)),
            PickleOpcode.TUPLE3 => new Tuple(PopN(3, at)),

            PickleOpcode.EMPTY_DICT => new Dict(),
            PickleOpcode.DICT => new Dict(Pairs(PopMark(at), opcode, at)),
            PickleOpcode.SETITEM => SetItems(PopN(2, at), opcode, at),
            PickleOpcode.SETITEMS => SetItems(PopMark(at), opcode, at),

            PickleOpcode.EMPTY_SET => new Opaque("set"),
            PickleOpcode.ADDITEMS => AddItems(PopMark(at), at),
            PickleOpcode.FROZENSET => FrozenSet(PopMark(at)),

            PickleOpcode.POP => Discard(Pop(at)),
            PickleOpcode.DUP => Peek(at),
            PickleOpcode.MARK => Mark(),
            PickleOpcode.POP_MARK => Discard(PopMark(at)),

            PickleOpcode.GET => Recall(ParseIndex(ReadText(), at), at),
            PickleOpcode.BINGET => Recall(ReadByte(), at),
            PickleOpcode.LONG_BINGET => Recall(ReadUInt32(), at),
            PickleOpcode.PUT => Memoize(ParseIndex(ReadText(), at), at),
            PickleOpcode.BINPUT => Memoize(ReadByte(), at),
            PickleOpcode.LONG_BINPUT => Memoize(ReadUInt32(), at),
            PickleOpcode.MEMOIZE => Memoize(_memo.Count, at),

            PickleOpcode.EXT1 or PickleOpcode.EXT2 or PickleOpcode.EXT4
                => throw Refused($"its {opcode} at byte {at} looks a callable up in Python's copyreg extension registry"),

            // GLOBAL's argument is the module's line, then the name's (C# evaluates arguments left to right).
            PickleOpcode.GLOBAL => CheckGlobal(ReadText(), ReadText(), opcode, at),
            PickleOpcode.STACK_GLOBAL => StackGlobal(at),
            PickleOpcode.REDUCE => Reduce(at),
            PickleOpcode.BUILD => Build(at),
            PickleOpcode.INST or PickleOpcode.OBJ or PickleOpcode.NEWOBJ or PickleOpcode.NEWOBJ_EX
                => throw Refused($"its {opcode} at byte {at} instantiates a class, which a state_dict of tensors never does"),

            PickleOpcode.PROTO => Proto(),
            PickleOpcode.FRAME => Frame(),

            PickleOpcode.PERSID => throw Refused($"its PERSID at byte {at} names a persistent object by text, which torch.save never writes"),
            PickleOpcode.BINPERSID => new Persistent(Pop(at)),

            _ => throw Damaged($"byte {at} holds 0x{(byte)opcode:X2}, which is no pickle opcode"),
        };

        // *** The handlers: each returns what its opcode pushes, null if it pushes nothing ***

        /// <summary>PROTO: protocols above <see cref="HighestProtocol"/> do not exist (yet), so such a file is damaged.</summary>
        private object? Proto()
        {
            int protocol = ReadByte();
            if (protocol > HighestProtocol)
                throw Damaged($"it is pickle protocol {protocol}; protocols 0 to {HighestProtocol} exist");
            return null;
        }

        /// <summary>FRAME: its length only helps a reader buffer; the opcodes inside are read as they come.</summary>
        private object? Frame()
        {
            ReadBytes(8);
            return null;
        }

        /// <summary>MARK, whose nesting is bounded like the stack's depth.</summary>
        private object? Mark()
        {
            if (_marks.Count >= MaximumStackDepth)
                throw Damaged("its marks nest too deep");
            _marks.Add(_stack.Count);
            return null;
        }

        /// <summary>POP and POP_MARK: the values the arm popped are dropped, and nothing is pushed.</summary>
        private static object? Discard(object popped) => null;

        /// <summary>The value of an opcode whose argument the arm reads past without decoding it: a float, bytes or a bytearray.</summary>
        private static object Skipped(ReadOnlySpan<byte> argument, string what) => new Opaque(what);

        /// <summary>APPEND and APPENDS: add the popped values to the list below them.</summary>
        private object? Append(object[] values, int at)
        {
            AsList(Peek(at), at).Items.AddRange(values);
            return null;
        }

        /// <summary>SETITEM and SETITEMS: add the popped key-value pairs to the dict below them.</summary>
        private object? SetItems(object[] items, PickleOpcode opcode, int at)
        {
            var pairs = Pairs(items, opcode, at);
            AsDict(Peek(at), at).Items.AddRange(pairs);
            return null;
        }

        /// <summary>The items of DICT, SETITEM or SETITEMS (key, value, key, value, …) as pairs.</summary>
        private (object Key, object Value)[] Pairs(object[] items, PickleOpcode opcode, int at)
        {
            if (items.Length % 2 != 0)
                throw Damaged($"its {opcode} at byte {at} has an odd number of items");
            var pairs = new (object Key, object Value)[items.Length / 2];
            for (int i = 0; i < pairs.Length; i++)
                pairs[i] = (items[2 * i], items[2 * i + 1]);
            return pairs;
        }

        /// <summary>ADDITEMS: the items the arm popped do not matter to the scan, but they may only be added to a set.</summary>
        private object? AddItems(object[] items, int at)
        {
            if (Peek(at) is not Opaque { What: "set" })
                throw Damaged($"its ADDITEMS at byte {at} adds to something that is not a set");
            return null;
        }

        /// <summary>FROZENSET: the items the arm popped do not matter to the scan.</summary>
        private static object FrozenSet(object[] items) => new Opaque("frozenset");

        /// <summary>STACK_GLOBAL: like GLOBAL, with the module and name popped, and refused unless both are strings.</summary>
        private object StackGlobal(int at)
        {
            var name = Pop(at);
            var module = Pop(at);
            if (module is not string m || name is not string n)
                throw Refused($"its STACK_GLOBAL at byte {at} takes its module and name from values that are not strings");
            return CheckGlobal(m, n, PickleOpcode.STACK_GLOBAL, at);
        }

        /// <summary>BUILD: an OrderedDict's state is its instance dict, where state_dict() keeps _metadata (module versions).</summary>
        private object? Build(int at)
        {
            var state = Pop(at);
            var target = Peek(at);
            if (target is not Dict { Ordered: true } || state is not (Dict or Opaque { What: "None" }))
                throw Refused($"its BUILD at byte {at} sets the state of {Describe(target)}; only a state_dict's own OrderedDict may have state");
            return null;
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

        private object CheckGlobal(string module, string name, PickleOpcode opcode, int at)
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

        /// <summary>REDUCE: only the allowlist's callables, with the arguments torch.save gives them.</summary>
        private object Reduce(int at)
        {
            var args = Pop(at);
            var callable = Pop(at);
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

        /// <summary>PUT, BINPUT, LONG_BINPUT and MEMOIZE, with the memo's size bounded.</summary>
        private object? Memoize(long index, int at)
        {
            if (_memo.Count >= MaximumMemo && !_memo.ContainsKey(index))
                throw Damaged("its memo grows beyond what a state_dict needs");
            _memo[index] = Peek(at);
            return null;
        }

        /// <summary>GET, BINGET and LONG_BINGET.</summary>
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

        private uint ReadUInt32() => BinaryPrimitives.ReadUInt32LittleEndian(ReadBytes(4));

        /// <summary>
        /// The bytes after a little-endian length of <paramref name="width"/> bytes: 1, 4 or 8 (pickletools' string1,
        /// string4, bytes8, … arguments). A 4- or 8-byte length is checked against the bytes left before anything is allocated.
        /// </summary>
        private ReadOnlySpan<byte> ReadCounted(int width, int at)
        {
            if (width == 1)
                return ReadBytes(ReadByte());
            ulong length = width == 4 ? ReadUInt32() : BinaryPrimitives.ReadUInt64LittleEndian(ReadBytes(8));
            if (length > (ulong)(_data.Length - _position))
                throw Damaged($"its opcode at byte {at} announces {length:N0} bytes where {_data.Length - _position:N0} are left (the file is truncated or damaged)");
            return ReadBytes((int)length);
        }

        /// <summary>The argument of a text opcode: the bytes up to the next newline, which is consumed too.</summary>
        private ReadOnlySpan<byte> ReadLine()
        {
            int end = Array.IndexOf(_data, (byte)'\n', _position);
            if (end < 0)
                throw Damaged("it ends inside a text opcode (the file is truncated)");
            var line = _data.AsSpan(_position, end - _position);
            _position = end + 1;
            return line;
        }

        private string ReadText() => Encoding.UTF8.GetString(ReadLine());

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

        /// <summary>The decimal integer of INT or LONG, or an opaque int if it is no 64-bit integer.</summary>
        private static object Integer(string digits)
            => long.TryParse(digits, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long value) ? value : new Opaque("int");

        /// <summary>The little-endian two's complement integer of LONG1 or LONG4, or an opaque int if it is wider than 64 bits.</summary>
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

        private FormatException Refused(string problem)
            => new($"PyTorch file {_source} is refused: {problem}. Only state_dicts of tensors are read (as torch.load(..., weights_only=True) reads them); nothing in the file was run.");

        private FormatException Damaged(string problem)
            => new($"PyTorch file {_source} is not a valid pickle: {problem}.");
    }
}
