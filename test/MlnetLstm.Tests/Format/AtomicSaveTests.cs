using System;
using System.IO;
using System.Linq;
using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Transforms;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// <c>mlContext.Model.SaveAtomically</c>: the file at the path is the previous model until the new one is complete,
    /// a failed save leaves it byte for byte and no temporary file behind, and the result loads as a model.
    /// </summary>
    [TestClass]
    public sealed class AtomicSaveTests
    {
        private string _directory = "";

        [TestInitialize]
        public void CreateDirectory() => _directory = TestData.TempDirectory();

        [TestCleanup]
        public void DeleteDirectory()
        {
            if (Directory.Exists(_directory))
                Directory.Delete(_directory, recursive: true);
        }

        private static readonly string[] Texts = { "the whale", "the sea", "a ship at night" };

        private static ITransformer Tokenizer(MLContext ml, params string[] texts)
            => ml.Transforms.Text.TokenizeWithCharacterVocabulary("Tokens", "Text").Fit(TestData.Texts(ml, texts));

        private static uint[][] Tokens(ITransformer model, MLContext ml) => TestData.Keys(model.Transform(TestData.Texts(ml, Texts))).ToArray();

        /// <summary>A transformer whose save fails after the one before it in a chain has been written: a save that breaks half-way.</summary>
        private sealed class FailingToSave : ITransformer
        {
            public bool IsRowToRowMapper => true;

            public DataViewSchema GetOutputSchema(DataViewSchema inputSchema) => inputSchema;

            public IRowToRowMapper GetRowToRowMapper(DataViewSchema inputSchema) => throw new NotSupportedException();

            public IDataView Transform(IDataView input) => input;

            void ICanSaveModel.Save(ModelSaveContext ctx) => throw new IOException("Simulated failure: the disk is full.");
        }

        private string[] Temporaries() => Directory.GetFiles(_directory, "*.tmp");

        [TestMethod]
        public void SavedModelLoadsBackAndReplacesThePreviousOne()
        {
            var ml = new MLContext(seed: 1);
            string path = Path.Combine(_directory, "model.zip");
            var schema = TestData.Texts(ml, "a").Schema;

            var first = Tokenizer(ml, "abc");
            ml.Model.SaveAtomically(first, schema, path);
            var loaded = ml.Model.Load(path, out var loadedSchema);
            Assert.AreEqual("Text", loadedSchema.Single().Name, "the input schema is saved with the model");
            CollectionAssert.AreEqual(Tokens(first, ml).SelectMany(t => t).ToArray(), Tokens(loaded, ml).SelectMany(t => t).ToArray());

            // Over an existing model: the new one replaces it.
            var second = Tokenizer(ml, Texts);
            ml.Model.SaveAtomically(second, schema, path);
            var reloaded = ml.Model.Load(path, out _);
            CollectionAssert.AreEqual(Tokens(second, ml).SelectMany(t => t).ToArray(), Tokens(reloaded, ml).SelectMany(t => t).ToArray());
            CollectionAssert.AreNotEqual(Tokens(first, ml).SelectMany(t => t).ToArray(), Tokens(reloaded, ml).SelectMany(t => t).ToArray(), "the two models differ");
            CollectionAssert.AreEqual(new[] { path }, Directory.GetFiles(_directory), "nothing but the model is left");
        }

        /// <summary>
        /// A save that fails half-way: SaveAtomically leaves the previous model byte for byte and no temporary file;
        /// ml.Model.Save, on the same failure, has already destroyed it (which is why SaveAtomically exists).
        /// </summary>
        [TestMethod]
        public void FailedSaveLeavesThePreviousModelIntactAndNoTemporaryFile()
        {
            var ml = new MLContext(seed: 1);
            string path = Path.Combine(_directory, "model.zip");
            var schema = TestData.Texts(ml, "a").Schema;
            var good = Tokenizer(ml, Texts);
            ml.Model.Save(good, schema, path);
            var before = File.ReadAllBytes(path);
            var broken = new TransformerChain<ITransformer>(Tokenizer(ml, "xyz"), new FailingToSave());

            var e = Assert.ThrowsExactly<IOException>(() => ml.Model.SaveAtomically(broken, schema, path));
            Assert.AreEqual("Simulated failure: the disk is full.", e.Message);
            CollectionAssert.AreEqual(before, File.ReadAllBytes(path), "the previous model must be left byte for byte");
            Assert.IsEmpty(Temporaries(), "the temporary file is deleted");
            CollectionAssert.AreEqual(Tokens(good, ml).SelectMany(t => t).ToArray(), Tokens(ml.Model.Load(path, out _), ml).SelectMany(t => t).ToArray(), "and it still loads");

            string plain = Path.Combine(_directory, "plain.zip");
            File.Copy(path, plain);
            Assert.ThrowsExactly<IOException>(() => ml.Model.Save(broken, schema, plain));
            CollectionAssert.AreNotEqual(before, File.ReadAllBytes(plain), "the failure happens during the save: Model.Save has overwritten the previous model");
        }

        [TestMethod]
        public void MissingDirectoryFailsAndCreatesNothing()
        {
            var ml = new MLContext(seed: 1);
            string missing = Path.Combine(_directory, "not-created");
            string path = Path.Combine(missing, "model.zip");
            var e = Assert.ThrowsExactly<DirectoryNotFoundException>(() => ml.Model.SaveAtomically(Tokenizer(ml, Texts), null, path));
            Assert.Contains($"Cannot save the model to '{path}': directory '{missing}' does not exist. Create it first.", e.Message);
            Assert.IsFalse(Directory.Exists(missing));
            Assert.IsEmpty(Directory.GetFileSystemEntries(_directory));
        }

        /// <summary>
        /// A symbolic link is refused, not replaced by a regular file (a rename replaces the link, and the model it
        /// points to would stay the old one); the link and its target are left as they were.
        /// </summary>
        [TestMethod]
        public void SymbolicLinkIsRefusedAndItsTargetLeftAlone()
        {
            var ml = new MLContext(seed: 1);
            string target = Path.Combine(_directory, "v1.zip");
            ml.Model.SaveAtomically(Tokenizer(ml, "abc"), null, target);
            var before = File.ReadAllBytes(target);
            string link = Path.Combine(_directory, "current.zip");
            File.CreateSymbolicLink(link, target);

            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Model.SaveAtomically(Tokenizer(ml, Texts), null, link));
            Assert.AreEqual("path", e.ParamName);
            Assert.Contains($"The model path '{link}' is a symbolic link (to '{target}')", e.Message);
            Assert.Contains("Save to the link's target itself, or save to a new file and point the link at it.", e.Message);
            Assert.AreEqual(target, new FileInfo(link).LinkTarget, "the link must still be the link");
            CollectionAssert.AreEqual(before, File.ReadAllBytes(target));
            Assert.IsEmpty(Temporaries());
        }

        /// <summary>A named pipe and a character device are refused and stay what they were (a rename would turn either into a regular file).</summary>
        [TestMethod]
        [DataRow("fifo", "is a named pipe (FIFO), not a regular file")]
        [DataRow("character special file", "is a character device, not a regular file")]
        public void SpecialFileIsRefusedAndLeftAlone(string kind, string problem)
        {
            var ml = new MLContext(seed: 1);
            string path = kind == "fifo" ? SpecialFiles.NamedPipe(Path.Combine(_directory, "model.zip")) : SpecialFiles.NullDevice(_directory);
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Model.SaveAtomically(Tokenizer(ml, Texts), null, path));
            Assert.AreEqual("path", e.ParamName);
            Assert.Contains($"The model path '{path}' {problem}; SaveAtomically renames the new model over it.", e.Message);
            Assert.AreEqual(kind, SpecialFiles.Kind(path), "the entry must still be what it was");
            Assert.IsEmpty(Temporaries());
        }

        [TestMethod]
        public void PathThatIsADirectoryIsRefused()
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Model.SaveAtomically(Tokenizer(ml, Texts), null, _directory));
            Assert.AreEqual("path", e.ParamName);
            Assert.Contains($"The model path '{_directory}' is a directory", e.Message);
            Assert.IsEmpty(Directory.GetFileSystemEntries(_directory));
        }

        [TestMethod]
        [DataRow("")]
        [DataRow("  ")]
        public void EmptyPathIsRefused(string path)
        {
            var ml = new MLContext(seed: 1);
            var e = Assert.ThrowsExactly<ArgumentException>(() => ml.Model.SaveAtomically(Tokenizer(ml, Texts), null, path));
            Assert.AreEqual("path", e.ParamName);
            Assert.Contains("The model path is empty", e.Message);
        }
    }
}
