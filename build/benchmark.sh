#!/usr/bin/env bash
# Benchmarks (not part of the tests): builds in Release and measures, side by side in one run, MlnetLstm against a
# hand-written TorchSharp loop (and PyTorch when python3 can import torch): training throughput, scoring latency,
# quality at equal time, memory, GFLOP/s and the ML.NET data path. Writes docs/benchmarks.md.
# About 25 minutes on 2 cores (with PyTorch; 15 without); --quick for about 6. Run it on a quiet machine: TorchSharp's
# thread pool slows down by orders of magnitude when other processes compete for the cores (see README).
#   --install-pytorch   first install Debian's python3-torch (from the pinned trixie source of build/setup.sh on Debian 12)
#   --only TEXT         only the throughput configurations whose name contains TEXT, printed, no report
#   --scoring           only the scoring latency (managed engine vs raw TorchSharp), quiet and beside a CPU-bound
#                       process, scoring memory, ONNX Runtime as a contender and concurrent callers with and without
#                       batching: docs/scoring-benchmarks.md, about 8 minutes (--quick about 3)
#   --shared-cpu        only training on a shared CPU (quiet, beside one and two busy processes, beside a second
#                       training; automatic, default and one thread): docs/shared-cpu.md, about 13 minutes
# Other arguments go to the benchmark program (--quick, --output FILE).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
args=()
install_pytorch=0
command=benchmarks
for arg in "$@"; do
    case "$arg" in
        --install-pytorch) install_pytorch=1 ;;
        --scoring) command=scoring ;;
        --shared-cpu) command=shared-cpu ;;
        *) args+=("$arg") ;;
    esac
done
bash build/setup.sh
if (( install_pytorch )) && ! /usr/bin/python3 -c "import torch" 2>/dev/null; then
    release=()
    [[ -f /etc/apt/sources.list.d/mlnetlstm-trixie.sources ]] && release=(-t trixie)
    sudo=()
    (( EUID == 0 )) || sudo=(sudo)
    echo "[benchmark] installing Debian's python3-torch ${release[*]} (PyTorch 2.6, the third contender)"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${release[@]}" python3-torch
fi
dotnet build build/Benchmarks -c Release -v quiet -nologo
echo "[benchmark] load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
dotnet build/Benchmarks/bin/Release/net10.0/MlnetLstm.Benchmarks.dll "$command" "${args[@]}"
