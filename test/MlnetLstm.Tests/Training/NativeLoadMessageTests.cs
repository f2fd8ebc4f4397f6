using System;
using System.IO;
using Microsoft.VisualStudio.TestTools.UnitTesting;
using MlnetLstm.Trainers;

namespace MlnetLstm.Tests
{
    /// <summary>
    /// The error a package user sees when libtorch does not load says what to install, naming packages and the system
    /// library, never a script of this repository (which a NuGet user does not have).
    /// </summary>
    [TestClass]
    public sealed class NativeLoadMessageTests
    {
        [TestMethod]
        public void MissingBackendNamesTheBackendPackagesToAdd()
        {
            string message = TorchDevice.NativeLoadFailure(new DllNotFoundException("Unable to load shared library 'LibTorchSharp' or one of its dependencies."));
            Assert.Contains("TorchSharp-cpu", message);
            Assert.Contains("libtorch-cuda-12.8-linux-x64", message);
            Assert.Contains("GCC 13", message);
            Assert.Contains("Unable to load shared library 'LibTorchSharp'", message);
            Assert.DoesNotContain("setup.sh", message);
        }

        [TestMethod]
        public void OldLibstdcxxNamesTheLibraryToInstall()
        {
            var inner = new DllNotFoundException("/lib/x86_64-linux-gnu/libstdc++.so.6: version `GLIBCXX_3.4.32' not found (required by libtorch_cpu.so)");
            string message = TorchDevice.NativeLoadFailure(new TypeInitializationException("TorchSharp.torch", inner));
            Assert.Contains("libstdc++6 from GCC 13 or newer", message);
            Assert.DoesNotContain("setup.sh", message);
            Assert.DoesNotContain("TorchSharp-cpu", message);
        }
    }
}
