namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The opcodes of pickle protocols 0 to 5, named and numbered as in Python's <c>pickle.py</c> and
    /// <c>pickletools.py</c>, so that <see cref="PickleScanner"/> reads like the spec and its messages name an opcode
    /// by its spec name (the enum's own <see cref="System.Enum.ToString()"/>). Grouped as pickletools groups them; a
    /// member's summary gives its argument (read after the opcode byte) and its effect on the stack.
    /// </summary>
    internal enum PickleOpcode : byte
    {
        // *** Integers ***

        /// <summary>Decimal text and a newline: push an int ("01" and "00" are True and False in protocol 0).</summary>
        INT = (byte)'I',

        /// <summary>A 4-byte signed little-endian int: push it.</summary>
        BININT = (byte)'J',

        /// <summary>A 1-byte unsigned int: push it.</summary>
        BININT1 = (byte)'K',

        /// <summary>A 2-byte unsigned little-endian int: push it.</summary>
        BININT2 = (byte)'M',

        /// <summary>Decimal text, an optional L and a newline: push a long.</summary>
        LONG = (byte)'L',

        /// <summary>A 1-byte length and that many bytes of little-endian two's complement: push a long.</summary>
        LONG1 = 0x8A,

        /// <summary>A 4-byte length and that many bytes of little-endian two's complement: push a long.</summary>
        LONG4 = 0x8B,

        // *** Strings: bytes decoded as Latin-1 (protocols 0 to 2 write Python 2 str this way) ***

        /// <summary>A quoted, escaped string literal and a newline: push it.</summary>
        STRING = (byte)'S',

        /// <summary>A 4-byte length and that many bytes: push them as a string.</summary>
        BINSTRING = (byte)'T',

        /// <summary>A 1-byte length and that many bytes: push them as a string.</summary>
        SHORT_BINSTRING = (byte)'U',

        // *** Bytes ***

        /// <summary>A 4-byte length and that many bytes: push a bytes object.</summary>
        BINBYTES = (byte)'B',

        /// <summary>A 1-byte length and that many bytes: push a bytes object.</summary>
        SHORT_BINBYTES = (byte)'C',

        /// <summary>An 8-byte length and that many bytes: push a bytes object.</summary>
        BINBYTES8 = 0x8E,

        /// <summary>An 8-byte length and that many bytes: push a bytearray.</summary>
        BYTEARRAY8 = 0x96,

        /// <summary>No argument: push the next out-of-band buffer.</summary>
        NEXT_BUFFER = 0x97,

        /// <summary>No argument: make the buffer on top of the stack read-only.</summary>
        READONLY_BUFFER = 0x98,

        // *** Unicode strings ***

        /// <summary>Raw-unicode-escape text and a newline: push it.</summary>
        UNICODE = (byte)'V',

        /// <summary>A 1-byte length and that many bytes of UTF-8: push the string.</summary>
        SHORT_BINUNICODE = 0x8C,

        /// <summary>A 4-byte length and that many bytes of UTF-8: push the string.</summary>
        BINUNICODE = (byte)'X',

        /// <summary>An 8-byte length and that many bytes of UTF-8: push the string.</summary>
        BINUNICODE8 = 0x8D,

        // *** Floats ***

        /// <summary>Decimal text and a newline: push a float.</summary>
        FLOAT = (byte)'F',

        /// <summary>An 8-byte big-endian IEEE double: push a float.</summary>
        BINFLOAT = (byte)'G',

        // *** Constants ***

        /// <summary>Push None.</summary>
        NONE = (byte)'N',

        /// <summary>Push True.</summary>
        NEWTRUE = 0x88,

        /// <summary>Push False.</summary>
        NEWFALSE = 0x89,

        // *** Lists ***

        /// <summary>Push an empty list.</summary>
        EMPTY_LIST = (byte)']',

        /// <summary>Pop a value and append it to the list now on top.</summary>
        APPEND = (byte)'a',

        /// <summary>Pop the values down to the topmost mark and append them to the list below the mark.</summary>
        APPENDS = (byte)'e',

        /// <summary>Pop the values down to the topmost mark and push them as a list.</summary>
        LIST = (byte)'l',

        // *** Tuples ***

        /// <summary>Push an empty tuple.</summary>
        EMPTY_TUPLE = (byte)')',

        /// <summary>Pop the values down to the topmost mark and push them as a tuple.</summary>
        TUPLE = (byte)'t',

        /// <summary>Pop one value and push it as a 1-tuple.</summary>
        TUPLE1 = 0x85,

        /// <summary>Pop two values and push them as a 2-tuple.</summary>
        TUPLE2 = 0x86,

        /// <summary>Pop three values and push them as a 3-tuple.</summary>
        TUPLE3 = 0x87,

        // *** Dicts ***

        /// <summary>Push an empty dict.</summary>
        EMPTY_DICT = (byte)'}',

        /// <summary>Pop key, value, key, value, … down to the topmost mark and push them as a dict.</summary>
        DICT = (byte)'d',

        /// <summary>Pop a value and a key and set that item of the dict now on top.</summary>
        SETITEM = (byte)'s',

        /// <summary>Pop key, value, key, value, … down to the topmost mark and set those items of the dict below the mark.</summary>
        SETITEMS = (byte)'u',

        // *** Sets ***

        /// <summary>Push an empty set.</summary>
        EMPTY_SET = 0x8F,

        /// <summary>Pop the values down to the topmost mark and add them to the set below the mark.</summary>
        ADDITEMS = 0x90,

        /// <summary>Pop the values down to the topmost mark and push them as a frozenset.</summary>
        FROZENSET = 0x91,

        // *** The stack ***

        /// <summary>Drop the top of the stack.</summary>
        POP = (byte)'0',

        /// <summary>Push the top of the stack again.</summary>
        DUP = (byte)'2',

        /// <summary>Push a mark: the opcodes that take "the values down to the topmost mark" stop there.</summary>
        MARK = (byte)'(',

        /// <summary>Drop the values down to the topmost mark, and the mark.</summary>
        POP_MARK = (byte)'1',

        // *** The memo ***

        /// <summary>Decimal text and a newline: push the memo entry of that index.</summary>
        GET = (byte)'g',

        /// <summary>A 1-byte index: push that memo entry.</summary>
        BINGET = (byte)'h',

        /// <summary>A 4-byte little-endian index: push that memo entry.</summary>
        LONG_BINGET = (byte)'j',

        /// <summary>Decimal text and a newline: store the top of the stack as the memo entry of that index.</summary>
        PUT = (byte)'p',

        /// <summary>A 1-byte index: store the top of the stack as that memo entry.</summary>
        BINPUT = (byte)'q',

        /// <summary>A 4-byte little-endian index: store the top of the stack as that memo entry.</summary>
        LONG_BINPUT = (byte)'r',

        /// <summary>Store the top of the stack as the next memo entry (the index is the memo's size).</summary>
        MEMOIZE = 0x94,

        // *** The extension registry (copyreg) ***

        /// <summary>A 1-byte code: push the callable registered under it.</summary>
        EXT1 = 0x82,

        /// <summary>A 2-byte code: push the callable registered under it.</summary>
        EXT2 = 0x83,

        /// <summary>A 4-byte code: push the callable registered under it.</summary>
        EXT4 = 0x84,

        // *** Callables and objects ***

        /// <summary>A module and a name, each text and a newline: push that module's attribute (importing the module).</summary>
        GLOBAL = (byte)'c',

        /// <summary>Pop a name and a module (strings) and push that module's attribute (importing the module).</summary>
        STACK_GLOBAL = 0x93,

        /// <summary>Pop an argument tuple and a callable, call it, and push the result.</summary>
        REDUCE = (byte)'R',

        /// <summary>Pop a state and apply it to the object now on top (its __setstate__, or an update of its __dict__).</summary>
        BUILD = (byte)'b',

        /// <summary>A module and a class name, each text and a newline: pop the values down to the topmost mark and push an instance made of them.</summary>
        INST = (byte)'i',

        /// <summary>Pop the values down to the topmost mark, the first a class, and push an instance made of the others.</summary>
        OBJ = (byte)'o',

        /// <summary>Pop an argument tuple and a class and push cls.__new__(cls, *args).</summary>
        NEWOBJ = 0x81,

        /// <summary>Pop keyword arguments, an argument tuple and a class and push cls.__new__(cls, *args, **kwargs).</summary>
        NEWOBJ_EX = 0x92,

        // *** Machine control ***

        /// <summary>A 1-byte protocol version, at the start of protocol 2 and later pickles.</summary>
        PROTO = 0x80,

        /// <summary>End the pickle: its value is the one left on the stack.</summary>
        STOP = (byte)'.',

        // *** Framing (protocol 4) ***

        /// <summary>An 8-byte little-endian length: the next that many bytes are a frame of whole opcodes, which only helps a reader buffer.</summary>
        FRAME = 0x95,

        // *** Persistent ids ***

        /// <summary>Text and a newline: push the object the unpickler's persistent_load returns for that id.</summary>
        PERSID = (byte)'P',

        /// <summary>Pop an id and push the object the unpickler's persistent_load returns for it.</summary>
        BINPERSID = (byte)'Q',
    }
}
