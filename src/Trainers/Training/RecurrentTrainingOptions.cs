using System;
using System.Collections.Generic;
using Microsoft.ML;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>Options every recurrent trainer shares: the network, the optimisation and the run.</summary>
    public abstract class RecurrentTrainingOptions
    {
        /// <summary>The recurrent cell. Default LSTM.</summary>
        public RecurrentCell Cell { get; set; } = RecurrentCell.Lstm;

        /// <summary>
        /// Hidden units per layer, 1 to 65,536; null for the trainer's default: 32 for the regressor, 64 for the
        /// classifier, and for the language model 256 or 512, chosen at Fit from what the run's budget buys on this
        /// machine: 512 when the budget trains it on at least 4 tokens per parameter, else 256. Under a
        /// <see cref="TimeBudget"/>, Fit measures both sizes' tokens per second on the data, within 3% of the budget
        /// (counted in it; a budget under 10 s is too short to measure and gets 256); with only an epoch limit, the
        /// budget is epochs × tokens. The measurements and the reason go to <c>MLContext.Log</c> and
        /// <see cref="RecurrentTransformerBase.TrainingSettings"/> (docs/recipe.md). An <see cref="InitialModel"/> or a
        /// checkpoint being resumed fixes the size instead. Default null.
        /// </summary>
        public int? HiddenSize { get; set; }

        /// <summary>Recurrent layers (a deep RNN for more than 1). Default 1; 1 to 64.</summary>
        public int Layers { get; set; } = 1;

        /// <summary>Dropout probability on the outputs of every layer but the last, in training only. Default 0; [0, 1).</summary>
        public float Dropout { get; set; }

        /// <summary>Fused TorchSharp kernels or gate-level cells; the parameters and results are the same. Default fused.</summary>
        public RecurrentImplementation Implementation { get; set; } = RecurrentImplementation.Fused;

        /// <summary>
        /// Passes over the training data, at least 1; null for as many as <see cref="TimeBudget"/> allows, or 10 without
        /// a time budget. Default null. Training stops at whichever of the two ends first.
        /// </summary>
        public int? Epochs { get; set; }

        /// <summary>
        /// Wall-clock limit for the whole Fit: reading the data, measuring automatic settings, training, validation and
        /// checkpoints; null for none. Training stops early enough for the last epoch's validation and checkpoint
        /// (keeping back at most a tenth of the budget); a validation that would still overrun scores a prefix of the
        /// validation data, which <see cref="EpochMetrics.ValidationFraction"/> and the log report. Fit returns within
        /// about one batch of the budget. Default null.
        /// </summary>
        public TimeSpan? TimeBudget { get; set; }

        /// <summary>Sequences per mini-batch. Default 32; at least 1.</summary>
        public int BatchSize { get; set; } = 32;

        /// <summary>The optimizer. Default Adam (docs/recipe.md measures it against Dive into Deep Learning's SGD at learning rate 1).</summary>
        public Optimizer Optimizer { get; set; } = Optimizer.Adam;

        /// <summary>Initial learning rate; null for the optimizer's default (SGD 1.0, as in Dive into Deep Learning's RNN chapter; Adam and AdamW 0.002, and 0.005 for the language model: see docs/recipe.md). Must be positive.</summary>
        public double? LearningRate { get; set; }

        /// <summary>How the learning rate changes over the run. Default constant; cosine for the language model.</summary>
        public LearningRateSchedule LearningRateSchedule { get; set; } = LearningRateSchedule.Constant;

        /// <summary>Gradients are clipped to this global norm (θ of <c>grad_clipping</c> in Dive into Deep Learning's RNN chapter); 0 turns clipping off. Default 1.0, as there.</summary>
        public double GradientClippingNorm { get; set; } = 1.0;

        /// <summary>L2 weight decay (decoupled for AdamW). Default 0; not negative.</summary>
        public double WeightDecay { get; set; }

        /// <summary>
        /// Fraction of the training data held out for validation when <see cref="ValidationData"/> is null: the end of the
        /// token stream for a language model, the latest windows for a forecaster, rows spread evenly through the data
        /// for a classifier. Default 0.1; [0, 1).
        /// </summary>
        public double ValidationFraction { get; set; } = 0.1;

        /// <summary>Separate validation data with the same columns (and vocabulary); overrides <see cref="ValidationFraction"/>. Default null.</summary>
        public IDataView? ValidationData { get; set; }

        /// <summary>
        /// Stop when the validation loss has not improved for this many epochs, and keep the weights of the best
        /// epoch; 0 turns early stopping off. Needs validation data (<see cref="ValidationData"/>, or a
        /// <see cref="ValidationFraction"/> that leaves some): without it training writes a warning to
        /// <c>MLContext.Log</c> and runs every epoch. Resumed from a checkpoint written without early stopping, it
        /// counts from the checkpoint's last epoch, whose weights are the only ones the checkpoint holds. Default 0.
        /// </summary>
        public int EarlyStoppingPatience { get; set; }

        /// <summary>
        /// Seed of the initial weights, the batch order and dropout; null draws one from the <c>MLContext</c>'s
        /// random source (so <c>new MLContext(seed: s)</c> makes training reproducible). Same seed, same data and CPU
        /// give identical weights.
        /// </summary>
        public int? Seed { get; set; }

        /// <summary>
        /// Threads TorchSharp uses on the CPU during training; null for automatic: TorchSharp's default (one per core)
        /// or one thread, whichever trains faster, measured on training's own batches at the start and again every
        /// 30 seconds or when the speed halves (beside other busy processes, one thread can be many times faster than
        /// several, which wait for one another). Each decision goes to <c>MLContext.Log</c> and the saved
        /// <see cref="RecurrentTransformerBase.TrainingSettings"/>. Set a count for runs that must be bit-identical:
        /// the thread count can change the rounding of sums. 1 to 256, or to 4 × <see cref="Environment.ProcessorCount"/>
        /// on machines with more than 64 logical processors: more threads only add contention, and an absurd count
        /// aborts the process in the OpenMP runtime. TorchSharp keeps the count per process (and per thread that has
        /// used it), so training puts back the count it found when it ends, and scoring later runs as before.
        /// </summary>
        public int? NumberOfThreads { get; set; }

        /// <summary>The largest <see cref="NumberOfThreads"/>: 256, or 4 × <see cref="Environment.ProcessorCount"/> where that is more.</summary>
        internal static int MaximumNumberOfThreads => Math.Max(256, 4 * Environment.ProcessorCount);

        /// <summary>
        /// A file to which training writes a checkpoint after every epoch (atomically: written to a temporary file of
        /// its own beside it, then renamed; the checkpoint ends with a SHA-256 checksum); null for none. Default null.
        /// Checked before the first batch: its directory must exist and be writable, and an existing file there must
        /// be a checkpoint (training never replaces another file, a directory, a device or a symbolic link). A process
        /// killed while writing a checkpoint can leave a <c>&lt;path&gt;.&lt;random&gt;.tmp</c> beside it, which may be deleted.
        /// </summary>
        public string? CheckpointPath { get; set; }

        /// <summary>
        /// Continue from the checkpoint at <see cref="CheckpointPath"/> when it exists (weights, optimizer state,
        /// history and epoch), instead of starting over. Default false.
        /// </summary>
        public bool ResumeFromCheckpoint { get; set; }

        /// <summary>
        /// A fitted, loaded or imported model (for example from <see cref="PyTorchCatalog.ImportPyTorchLanguageModel"/>)
        /// whose weights the network starts from instead of random ones: fine-tuning. Its network must be the one these
        /// options and the data make (cell, hidden size, layers, input encoding, vocabulary or features, outputs); Fit
        /// checks that before the first batch and names what differs. Its training history is not carried over, and a
        /// checkpoint resumed with <see cref="ResumeFromCheckpoint"/> replaces its weights. Default null.
        /// </summary>
        public RecurrentTransformerBase? InitialModel { get; set; }

        /// <summary>
        /// Called after every epoch with its metrics, besides the messages written to <c>MLContext.Log</c>. Training
        /// runs on a copy of the options taken when Fit starts, so a handler that changes them (or this object changed
        /// from another thread) affects the next Fit, not the one running.
        /// </summary>
        public Action<EpochMetrics>? EpochCompleted { get; set; }

        /// <summary>The clock of <see cref="TimeBudget"/> and of the speed measurements: the system's, or a fake one in tests.</summary>
        internal TimeProvider TimeProvider { get; set; } = TimeProvider.System;

        /// <summary>The hidden size in effect for the regressor and the classifier: <see cref="HiddenSize"/> or 256 (their options set their own defaults).</summary>
        internal int EffectiveHiddenSize => HiddenSize ?? 256;

        /// <summary>The epoch limit in effect: <see cref="Epochs"/>, or none under a time budget, or 10.</summary>
        internal int EffectiveEpochs => Epochs ?? (TimeBudget is null ? 10 : int.MaxValue);

        /// <summary>The learning rate in effect: <see cref="LearningRate"/> or the optimizer's default.</summary>
        internal double EffectiveLearningRate => LearningRate ?? DefaultLearningRate;

        /// <summary>The optimizer's default learning rate for this trainer.</summary>
        private protected virtual double DefaultLearningRate => Optimizer == Optimizer.Sgd ? 1.0 : 0.002;

        /// <summary>
        /// A copy for one Fit to train on. Every option is a value, a string, an immutable object
        /// (<see cref="GenerationOptions"/>, a data view, a fitted model) or a delegate, so a shallow copy is a full one.
        /// </summary>
        internal RecurrentTrainingOptions Copy() => (RecurrentTrainingOptions)MemberwiseClone();

        /// <summary>Adds the settings of a trainer's own options to those <see cref="TrainingSettings"/> resolves for every trainer.</summary>
        internal virtual void AddSettings(IDictionary<string, string> settings)
        {
        }

        /// <summary>Checks every option, throwing an exception that names the option, its value and the valid range.</summary>
        internal virtual void Validate()
        {
            Require(Enum.IsDefined(Cell), nameof(Cell), Cell, "Lstm, Gru, RnnTanh or RnnRelu");
            Require(HiddenSize is null || (HiddenSize >= 1 && HiddenSize <= RecurrentArchitecture.MaximumWidth), nameof(HiddenSize), HiddenSize,
                $"1 to {RecurrentArchitecture.MaximumWidth}, or null for the trainer's default");
            Require(Layers >= 1 && Layers <= RecurrentArchitecture.MaximumLayers, nameof(Layers), Layers, $"1 to {RecurrentArchitecture.MaximumLayers}");
            Require(Dropout >= 0 && Dropout < 1, nameof(Dropout), Dropout, "at least 0 and below 1");
            Require(Enum.IsDefined(Implementation), nameof(Implementation), Implementation, "Fused or GateLevel");
            Require(Epochs is null || Epochs >= 1, nameof(Epochs), Epochs, "at least 1, or null for as many as TimeBudget allows (10 without one)");
            Require(TimeBudget is null || TimeBudget > TimeSpan.Zero, nameof(TimeBudget), TimeBudget, "positive, or null for none");
            Require(BatchSize >= 1, nameof(BatchSize), BatchSize, "at least 1");
            Require(Enum.IsDefined(Optimizer), nameof(Optimizer), Optimizer, "Sgd, Adam or AdamW");
            Require(LearningRate is null || (LearningRate > 0 && double.IsFinite(LearningRate.Value)), nameof(LearningRate), LearningRate, "a positive number, or null for the optimizer's default");
            Require(Enum.IsDefined(LearningRateSchedule), nameof(LearningRateSchedule), LearningRateSchedule, "Constant or Cosine");
            Require(GradientClippingNorm >= 0 && double.IsFinite(GradientClippingNorm), nameof(GradientClippingNorm), GradientClippingNorm, "positive, or 0 to turn clipping off");
            Require(WeightDecay >= 0 && double.IsFinite(WeightDecay), nameof(WeightDecay), WeightDecay, "0 or more");
            Require(ValidationFraction >= 0 && ValidationFraction < 1, nameof(ValidationFraction), ValidationFraction, "at least 0 and below 1");
            Require(EarlyStoppingPatience >= 0, nameof(EarlyStoppingPatience), EarlyStoppingPatience, "0 (off) or more epochs");
            Require(NumberOfThreads is null || (NumberOfThreads >= 1 && NumberOfThreads <= MaximumNumberOfThreads), nameof(NumberOfThreads), NumberOfThreads,
                $"1 to {MaximumNumberOfThreads}, or null for TorchSharp's default");
            Require(CheckpointPath is null || !string.IsNullOrWhiteSpace(CheckpointPath), nameof(CheckpointPath), CheckpointPath is null ? null : $"'{CheckpointPath}'",
                "null for no checkpoints, or the path of a file such as 'training.ckpt'");
            Require(!ResumeFromCheckpoint || !string.IsNullOrEmpty(CheckpointPath), nameof(ResumeFromCheckpoint), ResumeFromCheckpoint, "false unless CheckpointPath names the checkpoint to resume from");
        }

        /// <summary>Throws <see cref="ArgumentOutOfRangeException"/> naming the option unless <paramref name="valid"/>.</summary>
        private protected static void Require(bool valid, string option, object? value, string expected)
        {
            if (!valid)
                throw new ArgumentOutOfRangeException(option, value, $"Option {option} is {value?.ToString() ?? "null"}; it must be {expected}.");
        }
    }
}
