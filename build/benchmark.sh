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
#   --streaming         only the streamed token source: the language model on a generated 1 GB text under a 300 s
#                       budget for its whole Fit, the cache written included (peak resident set, token cache on disk,
#                       time to the first batch, tokens/s), and
#                       Moby-Dick throughput with this build and with the build before the streamed source
#                       (MLNETLSTM_STREAMING_BASELINE, default 3147730, built in a temporary worktree), alternating
#                       3 rounds of 60 s each: its section of docs/benchmarks.md, about 17 minutes.
#                       --megabytes N, --seconds S (the generated run), --rounds R, --moby-seconds S change them.
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
        --streaming) command=streaming ;;
        *) args+=("$arg") ;;
    esac
done
# Options the script itself reads for --streaming (the others go to the program).
rounds=3
moby_seconds=60
if [[ $command == streaming ]]; then
    rest=()
    for ((i = 0; i < ${#args[@]}; i++)); do
        case "${args[i]}" in
            --rounds) rounds=${args[i + 1]}; i=$((i + 1)) ;;
            --moby-seconds) moby_seconds=${args[i + 1]}; i=$((i + 1)) ;;
            *) rest+=("${args[i]}") ;;
        esac
    done
    args=("${rest[@]+"${rest[@]}"}")
fi
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
program=build/Benchmarks/bin/Release/net10.0/MlnetLstm.Benchmarks.dll
if [[ $command == streaming ]]; then
    # The build before the streamed token source, in a temporary worktree, with this build's measurement
    # (StreamingBenchmark.cs and what it uses, public API only) behind a Program of that one mode: the other benchmarks
    # use API the baseline does not have. The two measure Moby-Dick alternately, one process per round.
    baseline=${MLNETLSTM_STREAMING_BASELINE:-3147730}
    work=$(mktemp -d)
    trap 'git -C "$root" worktree remove --force "$work/baseline" 2>/dev/null || true; rm -rf "$work"' EXIT
    git -C "$root" worktree add --detach "$work/baseline" "$baseline" >/dev/null
    ln -s "$root/.cache" "$work/baseline/.cache"
    rm "$work/baseline/build/Benchmarks/"*.cs
    cp build/Benchmarks/{StreamingBenchmark,Corpora,Machine}.cs "$work/baseline/build/Benchmarks/"
    cat > "$work/baseline/build/Benchmarks/Program.cs" <<'PROGRAM'
// streaming-moby-dick --seconds S --result FILE: one Moby-Dick throughput measurement, appended to FILE.
using System;
using System.Globalization;
using System.IO;
using MlnetLstm.Benchmarks;

var result = StreamingBenchmark.MobyDick(TimeSpan.FromSeconds(double.Parse(args[Array.IndexOf(args, "--seconds") + 1], CultureInfo.InvariantCulture)));
Console.WriteLine($"Moby-Dick: {result.TokensPerSecond:F0} tokens/s over {result.Epochs} epochs, peak resident {result.PeakMiB:F0} MiB");
File.AppendAllText(args[Array.IndexOf(args, "--result") + 1], FormattableString.Invariant($"{result.TokensPerSecond} {result.PeakMiB} {result.Epochs}\n"));
PROGRAM
    dotnet build "$work/baseline/build/Benchmarks" -c Release -v quiet -nologo
    for ((round = 1; round <= rounds; round++)); do
        echo "[benchmark] Moby-Dick round $round of $rounds: in memory (build $baseline), then streamed (this build)"
        (cd "$work/baseline" && dotnet "$program" streaming-moby-dick --seconds "$moby_seconds" --result "$work/baseline.txt")
        dotnet "$program" streaming-moby-dick --seconds "$moby_seconds" --result "$work/current.txt"
    done
    dotnet "$program" streaming --baseline "$work/baseline.txt" --current "$work/current.txt" "${args[@]+"${args[@]}"}"
    exit 0
fi
dotnet "$program" "$command" "${args[@]}"
