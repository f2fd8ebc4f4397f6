using System;
using Microsoft.ML;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Computes a row's result once for all the getters of one cursor that need it: ML.NET calls each getter
    /// separately (and a value may be asked for more than once, by the output and by a transform that reads it), but
    /// one pass produces every output of a row. A row at a negative position is not a row of the data, so it is
    /// computed at every call.
    /// </summary>
    internal sealed class RowCache<T>
    {
        private readonly DataViewRow _row;
        private readonly Func<T> _compute;
        private long _position = -1;
        private T _value = default!;

        public RowCache(DataViewRow row, Func<T> compute)
        {
            _row = row;
            _compute = compute;
        }

        public T Value
        {
            get
            {
                if (_row.Position != _position || _row.Position < 0)
                {
                    _value = _compute();
                    _position = _row.Position;
                }
                return _value;
            }
        }
    }
}
