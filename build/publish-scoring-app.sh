#!/usr/bin/env bash
# What a production app that only scores ships: publishes test/ScoringRunner (a console app that references
# MlnetLstm.Transforms and ML.NET, not the trainers) for linux-x64 and linux-arm64, checks that neither folder holds
# a TorchSharp or libtorch file, runs the x64 one on a freshly trained model zip with HOME pointing to an empty
# folder (so nothing can come from ~/.nuget/packages), checks that the process maps no torch library, and measures
# the cold start (process start to the first prediction's exit). Writes docs/deploy.md.
#
#   bash build/publish-scoring-app.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
work="$root/out/publish-check"
rm -rf "$work"
mkdir -p "$work"
bash build/setup.sh --no-corpora
dotnet build test/ModelRunner/MlnetLstm.ModelRunner.csproj -c Release --nologo -v quiet
dotnet test/ModelRunner/bin/Release/net10.0/MlnetLstm.ModelRunner.dll save "$work/model.zip"
printf 'Call me Ishmael. Some years ago\nthe whale\n' >"$work/inputs.txt"

rows=()
for rid in linux-x64 linux-arm64; do
    # Microsoft.ML's package refuses executables for other processor architectures than x64 and x86 by default,
    # although it ships linux-arm64 native libraries; the property turns that check off.
    dotnet publish test/ScoringRunner/MlnetLstm.ScoringRunner.csproj -c Release -r "$rid" -p:EnableMLUnsupportedPlatformTargetCheck=false \
        -o "$work/$rid" --nologo -v quiet
    size=$(du -sb "$work/$rid" | cut -f1)
    torch=$(find "$work/$rid" -iname '*torch*' -printf '%f ' || true)
    [[ -z "$torch" ]] || { echo "[publish] ERROR: $rid holds TorchSharp or libtorch files: $torch" >&2; exit 1; }
    rows+=("| $rid | $(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }') MiB | $(find "$work/$rid" -type f | wc -l) | none |")
done

empty_home=$(mktemp -d)
start=$(date +%s%N)
output=$(cd "$work/linux-x64" && HOME="$empty_home" ./MlnetLstm.ScoringRunner "$work/model.zip" lm "$work/inputs.txt")
cold_ms=$(( ($(date +%s%N) - start) / 1000000 ))
rm -rf "$empty_home"
mapped=$(printf '%s\n' "$output" | tail -n 1)
[[ "$mapped" == "torch libraries mapped: none" ]] || { echo "[publish] ERROR: the scoring process mapped torch libraries: $mapped" >&2; exit 1; }
echo "[publish] linux-x64 app: 2 predictions in $cold_ms ms from process start; $mapped"

{
    echo "# Deploying a scoring-only app"
    echo
    echo "Produced by \`bash build/publish-scoring-app.sh\` on $(date -u +%Y-%m-%d) ($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'); load average $(cut -d' ' -f1-3 /proc/loadavg))."
    echo "The app is test/ScoringRunner: it loads a model zip and predicts with a PredictionEngine, referencing MlnetLstm.Transforms and Microsoft.ML only."
    echo "Framework-dependent \`dotnet publish -r RID\` (the .NET 10 runtime is installed on the host)."
    echo
    echo "| runtime identifier | publish folder | files | TorchSharp / libtorch files |"
    echo "| --- | --- | --- | --- |"
    printf '%s\n' "${rows[@]}"
    echo
    echo "- linux-x64, run with \`HOME\` set to an empty folder on a character LSTM 1×256 zip: the first two predictions (every output column, 100 generated characters each) ended $cold_ms ms after the process started, load, JIT and scoring included."
    echo "- While it scored, the process mapped no TorchSharp or libtorch library (read from \`/proc/self/maps\`)."
    echo "- linux-arm64 is published, not run here (no ARM machine): its folder holds ML.NET's linux-arm64 native libraries and no TorchSharp file."
    echo "  Microsoft.ML 5.0.1 refuses to build executables for processor architectures other than x64 and x86 unless \`EnableMLUnsupportedPlatformTargetCheck=false\` is set, although it ships linux-arm64 natives."
    echo
    echo "Before the managed runtime, the same app published to 486 MB for linux-x64, 461 MB of it \`libtorch_cpu.so\`, and did not run on linux-arm64."
} >docs/deploy.md
cat docs/deploy.md
