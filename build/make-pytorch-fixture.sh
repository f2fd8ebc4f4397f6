#!/usr/bin/env bash
# Makes the PyTorch fixture of the tests (test/Fixtures/PyTorch) with real PyTorch, and checks that PyTorch takes
# MlnetLstm's export back. Not part of the test command: the tests read the committed files without PyTorch.
#   1. installs Debian's python3-torch and python3-safetensors where python3 cannot import them (on Debian 12 from the
#      pinned trixie source of build/setup.sh, as build/benchmark.sh --install-pytorch does);
#   2. build/make-pytorch-fixture.py trains the seeds' RNNModel (a character LSTM 1x64, and a GRU 2x16) on the start of
#      .cache/corpora/moby-dick.txt and writes the .pth, .safetensors, vocabulary and PyTorch's log-probabilities;
#   3. (unless --no-export-check) runs PyTorchExportTests.ExportOfTheImportedFixture, which imports the fixture and
#      exports it with ml.Model.ExportToPyTorch, and scores every expected text with build/pytorch-score.py on the
#      exported .pth (torch.load(weights_only=True), load_state_dict) and .safetensors, against PyTorch's own numbers.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
out=test/Fixtures/PyTorch
check_export=1
for arg in "$@"; do
    case "$arg" in
        --no-export-check) check_export=0 ;;
        --out=*) out=${arg#--out=} ;;
        -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
        *) echo "unknown argument $arg (see --help)" >&2; exit 2 ;;
    esac
done
bash build/setup.sh
python=/usr/bin/python3
if ! "$python" -c "import torch, safetensors" 2>/dev/null; then
    release=()
    [[ -f /etc/apt/sources.list.d/mlnetlstm-trixie.sources ]] && release=(-t trixie)
    sudo=()
    (( EUID == 0 )) || sudo=(sudo)
    echo "[fixture] installing Debian's python3-torch and python3-safetensors ${release[*]}"
    DEBIAN_FRONTEND=noninteractive "${sudo[@]}" apt-get install -y --no-install-recommends "${release[@]}" python3-torch python3-safetensors
fi
echo "[fixture] $("$python" -c 'import torch; print("PyTorch", torch.__version__)')"
"$python" build/make-pytorch-fixture.py --corpus .cache/corpora/moby-dick.txt --out "$out"
ls -l "$out"

if (( check_export )); then
    export_dir=$(mktemp -d)
    trap 'rm -rf "$export_dir"' EXIT
    echo "[fixture] exporting the imported fixture with MlnetLstm into $export_dir"
    dotnet build test/MlnetLstm.Tests/MlnetLstm.Tests.csproj -c Release -v quiet -nologo
    MLNETLSTM_PYTORCH_EXPORT_DIR="$export_dir" dotnet test test/MlnetLstm.Tests/MlnetLstm.Tests.csproj -c Release --no-build \
        --filter "FullyQualifiedName~PyTorchExportTests.ExportOfTheImportedFixture" >"$export_dir/test.log" || { cat "$export_dir/test.log"; exit 1; }
    for model in moby-lstm-1x64 moby-gru-2x16; do
        [[ -f "$export_dir/$model.pth" ]] || { echo "[fixture] the test wrote no $export_dir/$model.pth" >&2; exit 1; }
        "$python" - "$export_dir/$model" "$out/$model" <<'PY'
import importlib.util, json, sys
spec = importlib.util.spec_from_file_location("pytorch_score", "build/pytorch-score.py")
score = importlib.util.module_from_spec(spec); spec.loader.exec_module(score)
base, original = sys.argv[1], sys.argv[2]
manifest = json.load(open(base + ".json", encoding="utf-8"))
expected = json.load(open(original + ".expected.json", encoding="utf-8"))["texts"]
reference = score.build(manifest)
score.into_model(reference, manifest, score.load_weights(original, False))
for safetensors in (False, True):
    model = score.build(manifest)
    score.into_model(model, manifest, score.load_weights(base, safetensors))
    worst = 0.0
    for item in expected:
        ids = score.token_ids(item["text"], manifest["vocabulary"])
        assert ids == item["ids"], f"the exported vocabulary tokenizes {item['text']!r} differently"
        lps = score.log_probabilities(model, manifest, ids)
        assert lps == score.log_probabilities(reference, manifest, ids), f"the export scores {item['text']!r} otherwise than the original"
        worst = max([worst] + [abs(a - b) for a, b in zip(lps, item["log_probabilities"])])
    kind = ".safetensors" if safetensors else ".pth (torch.load weights_only=True)"
    print(f"[fixture] {base.rsplit('/', 1)[-1]}{kind}: loaded by load_state_dict, scores bit for bit as the original "
          f"(max |delta| {worst:.2g} to the 9 digits of the expected file)")
PY
    done
    "$python" build/pytorch-score.py "$export_dir/moby-lstm-1x64" --text "Call me Ishmael."
fi
