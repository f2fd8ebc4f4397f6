#!/usr/bin/env bash
# Optional, not part of the tests: checks the ONNX files that `bash build/run-sample.sh onnx` wrote (out/<stem>*.onnx)
# from Python with Debian's onnxruntime: onnx's full checker on the generator graph, same greedy continuation and
# perplexity as the C# sample. Installs python3-onnxruntime and python3-onnx when missing: Debian 12 has none, so it comes from Debian 13 (trixie), whose apt source
# build/setup.sh adds for TorchSharp (pinned low, so only what is asked for with -t trixie comes from it).
# Usage: bash build/check-onnx-python.sh [out/moby-dick-lstm]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
stem=${1:-out/moby-dick-lstm}
for file in "$stem.onnx" "$stem-generator.onnx" "$stem-onnx-check.json"; do
  [[ -f $file ]] || { echo "error: $file is missing; run bash build/run-sample.sh onnx first." >&2; exit 1; }
done
python=/usr/bin/python3
if ! "$python" -c "import onnxruntime, onnx, numpy" 2>/dev/null; then
  release=()
  apt-cache policy python3-onnxruntime | grep -q trixie && release=(-t trixie)
  echo "installing python3-onnxruntime python3-onnx ${release[*]}"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${release[@]}" --no-install-recommends python3-onnxruntime python3-onnx python3-numpy >/dev/null ||
    { echo "error: apt-get install python3-onnxruntime failed; Debian 12 has no such package (run build/setup.sh, which adds trixie)." >&2; exit 1; }
fi
# Debian's onnxruntime 1.21 prints a harmless "Schema error: Trying to register schema …" per operator at import.
"$python" build/check-onnx.py "$stem" 2> >(grep -v '^Schema error: Trying to register schema' >&2)
