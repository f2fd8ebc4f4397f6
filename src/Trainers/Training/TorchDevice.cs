using System;
using Microsoft.ML.Runtime;
using TorchSharp;
using static TorchSharp.torch;

using MlnetLstm.Transforms;

namespace MlnetLstm.Trainers
{
    /// <summary>
    /// The one place that chooses where tensors live, as Microsoft.ML.TorchSharp does: CUDA device
    /// <c>MLContext.GpuDeviceId</c> when it is set and CUDA is available, the CPU when it is not set, and when it is set
    /// but CUDA is missing, the CPU if <c>MLContext.FallbackToCpu</c>, else an error. It also turns TorchSharp's
    /// native-library load failure into a message that says how to fix it.
    /// </summary>
    internal static class TorchDevice
    {
        public static Device Choose(IHostEnvironment env, IChannel? channel = null)
        {
            EnsureNativeLibrary();
            var settings = env as IHostEnvironmentInternal;
            if (settings?.GpuDeviceId is not int gpu)
                return CPU;
            if (cuda.is_available())
                return new Device(DeviceType.CUDA, gpu);
            if (settings.FallbackToCpu)
            {
                channel?.Warning($"MLContext.GpuDeviceId is {gpu} but CUDA is not available (TorchSharp backend without CUDA, or no GPU); using the CPU because FallbackToCpu is set.");
                return CPU;
            }
            throw new InvalidOperationException(
                $"MLContext.GpuDeviceId is {gpu} but CUDA is not available. Reference a CUDA libtorch backend (the package libtorch-cuda-12.8-linux-x64 " +
                "instead of TorchSharp-cpu) on a machine with an NVIDIA GPU and its driver, or set MLContext.FallbackToCpu = true, or leave GpuDeviceId null to train on the CPU.");
        }

        /// <summary>Loads TorchSharp's native library, explaining the usual cause when that fails.</summary>
        public static void EnsureNativeLibrary()
        {
            try
            {
                InitializeDeviceType(DeviceType.CPU);
            }
            catch (Exception e) when (e is not OutOfMemoryException)
            {
                throw new InvalidOperationException(NativeLoadFailure(e), e);
            }
        }

        /// <summary>
        /// What to install when libtorch does not load, for whoever references the package (no repository script: an
        /// app that installed MlnetLstm.Trainers from NuGet has none). The two usual causes: the app references no
        /// libtorch backend (the package depends on the managed TorchSharp only), or the system's libstdc++ is older
        /// than the one libtorch 2.10 was built with.
        /// </summary>
        internal static string NativeLoadFailure(Exception e)
        {
            bool glibcxx = e.ToString().Contains("GLIBCXX", StringComparison.Ordinal);
            string cause = glibcxx
                ? "The system's libstdc++ is too old: TorchSharp 0.107's libtorch needs GLIBCXX_3.4.32, the libstdc++ of GCC 13 or newer. " +
                  "Install libstdc++6 from GCC 13 or newer (Debian 13 and Ubuntu 24.04 ship it; on Debian 12, apt-get install -t trixie libstdc++6 from a Debian 13 source), then run again."
                : "Either the app references no libtorch backend (MlnetLstm.Trainers depends on the managed TorchSharp package only): add the package " +
                  "TorchSharp-cpu for the CPU (or libtorch-cpu-linux-x64 for Linux only), or libtorch-cuda-12.8-linux-x64 for CUDA; " +
                  "or the system's libstdc++ is older than GCC 13's (GLIBCXX_3.4.32, which libtorch 2.10 needs): install libstdc++6 from GCC 13 or newer. " +
                  "`ldd` on libLibTorchSharp.so in the app's folder shows a missing library or symbol.";
            // TorchSharp's own message is inside its type initializer's exception, and runs on with a probing trace.
            var innermost = e;
            while (innermost.InnerException is { } inner)
                innermost = inner;
            string original = innermost.Message.Split('\n', 2)[0].Trim();
            return $"TorchSharp's native library could not be loaded. {cause} Original error: {original}";
        }
    }
}
