#!/usr/bin/env bash
# Load test of the web API (src/Samples/WebApi), on loopback only, bounded in clients and time: trains a character
# LSTM on Moby-Dick for a minute (the main job's sample), then for each server mode (without and with batching) and
# each client count runs the service on it and N clients for M seconds against /score (100 characters) and /generate
# (50 streamed tokens); halfway through every run it renames a second model over the served file. Reports, side by
# side, requests/s, tokens/s, p50/p95/p99 latency, failed requests, the server's RSS drift and the swap, with the
# machine (CPU model, vector ISA, cores, load average), and writes docs/load-test.md. Run it when the machine is quiet
# (see /proc/loadavg): it takes about (modes × client counts) × (seconds + 5) seconds after the training.
#
#   bash build/loadtest.sh [--clients "1 4 16 64"] [--modes "unbatched batched"] [--seconds M per run (60)]
#                          [--rate R requests/s per client (25; 0 = as fast as answers come)] [--hidden H (256)]
#                          [--minutes T of training (1)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
client_counts="1 4 16 64" modes="unbatched batched" seconds=60 rate=25 hidden=256 minutes=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --clients) client_counts=$2; shift 2 ;;
        --modes) modes=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --rate) rate=$2; shift 2 ;;
        --hidden) hidden=$2; shift 2 ;;
        --minutes) minutes=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "[loadtest] unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
# The server's batching setting per mode: 1 is the service without batching (each request on its own thread).
batch_size() {
    case "$1" in
        unbatched) echo 1 ;;
        batched) echo 16 ;;
        *) echo "[loadtest] unknown mode '$1': the modes are unbatched and batched" >&2; exit 2 ;;
    esac
}
for mode in $modes; do batch_size "$mode" >/dev/null; done
bash build/setup.sh
work="$root/out/loadtest"
rm -rf "$work"
mkdir -p "$work"
for project in src/Samples/Console src/Samples/WebApi build/LoadTest; do
    dotnet build "$project" -c Release --nologo -v quiet
done

echo "[loadtest] training the model (LSTM 1x$hidden, $minutes min)"
dotnet src/Samples/Console/bin/Release/net10.0/MlnetLstm.Samples.dll --hidden "$hidden" --minutes "$minutes" --output "$work/train" >"$work/train.log" 2>&1
cp "$work/train/moby-dick-lstm.zip" "$work/original.zip"
dotnet build/LoadTest/bin/Release/net10.0/MlnetLstm.LoadTest.dll derive "$work/original.zip" "$work/replacement.zip"

summary="$work/summary.md"
: >"$summary"
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
server=
trap '[[ -n "$server" ]] && kill "$server" 2>/dev/null || true' EXIT
for mode in $modes; do
    for clients in $client_counts; do
        run="$work/$mode-$clients"
        mkdir -p "$run"
        cp "$work/original.zip" "$work/model.zip"
        port=$(( 20000 + RANDOM % 20000 ))
        echo "[loadtest] $mode: starting the service on 127.0.0.1:$port"
        dotnet src/Samples/WebApi/bin/Release/net10.0/MlnetLstm.WebApi.dll --urls "http://127.0.0.1:$port" --contentRoot "$root/src/Samples/WebApi/bin/Release/net10.0" \
            --Model:Path="$work/model.zip" --Model:PollingIntervalMilliseconds=1000 --Model:MaximumBatchSize="$(batch_size "$mode")" \
            --Logging:LogLevel:Default=Warning --Logging:LogLevel:MlnetLstm=Information >"$run/server.log" 2>&1 &
        server=$!
        for _ in $(seq 1 60); do
            curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
            kill -0 "$server" 2>/dev/null || { cat "$run/server.log" >&2; echo "[loadtest] the service did not start" >&2; exit 1; }
            sleep 0.5
        done
        echo "[loadtest] $mode: $clients clients for $seconds s"
        dotnet build/LoadTest/bin/Release/net10.0/MlnetLstm.LoadTest.dll run "http://127.0.0.1:$port" "$server" "$work/model.zip" "$work/replacement.zip" \
            .cache/corpora/moby-dick.txt "$clients" "$seconds" "$rate" "$mode" "$summary" | tee "$run/report.md"
        kill "$server"
        wait "$server" 2>/dev/null || true
        server=
    done
done
trap - EXIT
load_after=$(cut -d' ' -f1-3 /proc/loadavg)
flags=$(grep -m1 '^flags' /proc/cpuinfo || true)
if [[ "$flags" == *avx512f* ]]; then isa="AVX-512"; elif [[ "$flags" == *avx2* ]]; then isa="AVX2 (no AVX-512)"; else isa="no AVX2"; fi

{
    echo "# Load test of the web API"
    echo
    echo "Produced by \`bash build/loadtest.sh --clients \"$client_counts\" --modes \"$modes\" --seconds $seconds --rate $rate --hidden $hidden --minutes $minutes\` on $(date -u +%Y-%m-%d)" \
         "($(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $isa, $(nproc) cores, load average $load_before before and $load_after after," \
         ".NET $(dotnet --list-runtimes | awk '/Microsoft.NETCore.App/ { v = $2 } END { print v }'))."
    echo "The service (src/Samples/WebApi, Release, framework-dependent) serves a character LSTM 1×$hidden trained for $minutes minute(s) on Moby-Dick" \
         "($(grep -o 'Final validation: [^;]*' "$work/train.log" | sed 's/Final validation: //')); the load generator (build/LoadTest) runs on the same cores, over loopback HTTP/1.1."
    echo "*unbatched* is the service with Model:MaximumBatchSize=1 (each request on its own thread, the engine pool's PredictionEngines for /score);" \
         "*batched* steps concurrent requests together (Model:MaximumBatchSize=16, LanguageModelBatcher). Each client sends at most $rate requests/s, 4 of 5 /score on 100 characters, 1 of 5 /generate of 50 streamed tokens after a 20-character prefix."
    echo "Halfway through every run the model file is replaced by an atomic rename (the same network saved with another repetition penalty: another file, loaded, checked and served by the hot reload)."
    echo
    echo "| mode | clients | requests/s | failed | /score p50 / p95 / p99 ms | /generate p50 / p95 / p99 ms | first token p50 ms | scored tokens/s | generated tokens/s | RSS drift | swap seen after |"
    echo "| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |"
    cat "$summary"
    for mode in $modes; do
        for clients in $client_counts; do
            echo
            echo "## $mode, $clients clients"
            echo
            cat "$work/$mode-$clients/report.md"
            echo
            echo "The service's log of the swap:"
            echo
            echo '```'
            grep -A1 "replaced\|rejected" "$work/$mode-$clients/server.log" | sed 's/^ *//' | head -n 6
            echo '```'
        done
    done
} >docs/load-test.md
echo "[loadtest] wrote docs/load-test.md"
