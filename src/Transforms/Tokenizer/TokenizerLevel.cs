namespace MlnetLstm.Transforms
{
    /// <summary>What one token of a <see cref="Vocabulary"/> is.</summary>
    public enum TokenizerLevel
    {
        /// <summary>One Unicode scalar value (a <see cref="System.Text.Rune"/>): an emoji or a rare CJK ideograph is one token.</summary>
        Character = 0,

        /// <summary>A run of non-white-space characters; decoding joins tokens with one space.</summary>
        Word = 1,
    }
}
