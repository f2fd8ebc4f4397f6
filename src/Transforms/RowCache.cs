using System;
using Microsoft.ML;

namespace MlnetLstm.Transforms
{
    /// <summary>
    /// Computes a row's result once for all the output getters of one cursor: ML.NET calls each getter separately,
    /// but one network pass produces every output of a row.
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
                if (_row.Position != _position)
                {
                    _value = _compute();
                    _position = _row.Position;
                }
                return _value;
            }
        }
    }
}
