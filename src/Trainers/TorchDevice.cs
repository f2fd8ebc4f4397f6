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
                $"MLContext.GpuDeviceId is {gpu} but CUDA is not available. Build with -p:TorchSharpBackend=cuda on a machine with an NVIDIA GPU, " +
                "or set MLContext.FallbackToCpu = true, or leave GpuDeviceId null to train on the CPU.");
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
                throw new InvalidOperationException(
                    "TorchSharp's native library could not be loaded. TorchSharp 0.107 needs libstdc++ with GLIBCXX_3.4.32 (GCC 13 or newer); " +
                    "on Debian 12 run build/setup.sh, which installs it. `ldd` on libLibTorchSharp.so shows the missing symbol. Original error: " + e.Message, e);
            }
        }
    }
}
