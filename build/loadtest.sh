#!/usr/bin/env bash
# Load test of the web API (src/Samples/WebApi), on loopback only, bounded in clients and time: trains a character
# LSTM on Moby-Dick for a minute (the main job's sample), starts the service on it, and runs N clients for M seconds
# against /score (100 characters) and /generate (50 streamed tokens); halfway it renames a second model over the
# served file. Reports requests/s, p50/p95/p99 latency, failed requests, the server's RSS and the load average, and
# writes docs/load-test.md. Run it when the machine is quiet (see /proc/loadavg).
#
#   bash build/loadtest.sh [--clients N (16)] [--seconds M (180)] [--rate R requests/s per client (25; 0 = as fast as answers come)]
#                          [--hidden H (256)] [--minutes T of training (1)]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root"
clients=16 seconds=180 rate=25 hidden=256 minutes=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --clients) clients=$2; shift 2 ;;
        --seconds) seconds=$2; shift 2 ;;
        --rate) rate=$2; shift 2 ;;
        --hidden) hidden=$2; shift 2 ;;
        --minutes) minutes=$2; shift 2 ;;
        -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "$0"; exit 0 ;;
        *) echo "[loadtest] unknown option '$1' (see --help)" >&2; exit 2 ;;
    esac
done
bash build/setup.sh
work="$root/out/loadtest"
rm -rf "$work"
mkdir -p "$work"
for project in src/Samples/Console src/Samples/WebApi build/LoadTest; do
    dotnet build "$project" -c Release --nologo -v quiet
done

echo "[loadtest] training the model (LSTM 1x$hidden, $minutes min)"
dotnet src/Samples/Console/bin/Release/net10.0/MlnetLstm.Samples.dll --hidden "$hidden" --minutes "$minutes" --output "$work/train" >"$work/train.log" 2>&1
cp "$work/train/moby-dick-lstm.zip" "$work/model.zip"
dotnet build/LoadTest/bin/Release/net10.0/MlnetLstm.LoadTest.dll derive "$work/model.zip" "$work/replacement.zip"

port=$(( 20000 + RANDOM % 20000 ))
echo "[loadtest] starting the service on 127.0.0.1:$port"
dotnet src/Samples/WebApi/bin/Release/net10.0/MlnetLstm.WebApi.dll --urls "http://127.0.0.1:$port" --contentRoot "$root/src/Samples/WebApi/bin/Release/net10.0" \
    --Model:Path="$work/model.zip" --Model:PollingIntervalMilliseconds=1000 \
    --Logging:LogLevel:Default=Warning --Logging:LogLevel:MlnetLstm=Information >"$work/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
    curl -sf "http://127.0.0.1:$port/health" >/dev/null && break
    kill -0 "$server" 2>/dev/null || { cat "$work/server.log" >&2; echo "[loadtest] the service did not start" >&2; exit 1; }
    sleep 0.5
done
echo "[loadtest] $clients clients for $seconds s"
dotnet build/LoadTest/bin/Release/net10.0/MlnetLstm.LoadTest.dll run "http://127.0.0.1:$port" "$server" "$work/model.zip" "$work/replacement.zip" \
    .cache/corpora/moby-dick.txt "$clients" "$seconds" "$rate" | tee "$work/report.md"
kill "$server"
wait "$server" 2>/dev/null || true
trap - EXIT

{
    echo "# Load test of the web API"
    echo
    echo "Produced by \`bash build/loadtest.sh --clients $clients --seconds $seconds --rate $rate --hidden $hidden --minutes $minutes\` on $(date -u +%Y-%m-%d)" \
         "($(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), .NET $(dotnet --list-runtimes | awk '/Microsoft.NETCore.App/ { v = $2 } END { print v }'))."
    echo "The service (src/Samples/WebApi, Release, framework-dependent) serves a character LSTM 1×$hidden trained for $minutes minute(s) on Moby-Dick" \
         "($(grep -o 'Final validation: [^;]*' "$work/train.log" | sed 's/Final validation: //')); the load generator (build/LoadTest) runs on the same 2 cores, over loopback HTTP/1.1."
    echo "The model swapped in halfway is the same network saved with other generation settings (repetition penalty 1.3): another file with another SHA-256, loaded, checked and served by the hot reload as any new model."
    echo
    cat "$work/report.md"
    echo
    echo "The service's log of the swap:"
    echo
    echo '```'
    grep -A1 "replaced\|rejected" "$work/server.log" | sed 's/^ *//' | head -n 6
    echo '```'
} >docs/load-test.md
echo "[loadtest] wrote docs/load-test.md"
