#!/usr/bin/env bash
# Consumer checks: the packages of build/pack.sh (artifacts/packages) used the way a package user uses them, in a fresh
# folder under /tmp, outside the repository (no Directory.Build.props of ours applies), with a nuget.config of its own:
# the local feed for MlnetLstm.* plus the package sources this machine's NuGet configuration enables. The first four
# checks run once per supported Microsoft.ML version (MicrosoftMLSupportedVersions in Directory.Packages.props; an
# "a.b.x" entry is tested as a.b.0), from the same .nupkg files, each app referencing Microsoft.ML at the version under
# test; a check is named name@version ("training@5.0.1"). Every restore must be free of NU1605/NU1608 (a downgrade or
# a dependency outside a package's range).
#   training    a console app (MlnetLstm.Trainers + TorchSharp-cpu) trains a small character model, saves it, checks its output
#   scoring     a scoring-only app (MlnetLstm.Transforms alone) loads that zip and predicts the same; published for
#               linux-x64 it is at most 60 MB with no libtorch, and runs with HOME pointing to an empty folder
#   quickstart  the README's quick start (the fenced block under "## Quick start"), compiled and run as printed; it
#               must print readable text
#   nobackend   an app without a libtorch backend: build warning MLNETLSTM001, and a run-time error naming the
#               packages to add (not a repository script)
#   crossversion@A->B  (each ordered pair of supported versions) the zip the training app saved on A, scored by the
#               scoring app published on B, prints exactly what the scoring app on A printed for it
#   torchsharp  (on the newest version) MlnetLstm.Trainers beside Microsoft.ML.TorchSharp 0.24.0 in one app: trains a
#               tiny MlnetLstm model and constructs ML.NET's TorchSharp trainers (no Fit: that downloads weights); it
#               also prints the Microsoft.ML.TorchSharp methods the JIT cannot compile against TorchSharp 0.107
# Each check prints "[consumer] PASS name" or "[consumer] FAIL name: why"; the results go, one "pass|fail name" a line,
# to the file given as $1 (build/test.sh adds them to its closing counts). Exits 1 when a check failed.
#
#   bash build/consumer-tests.sh [results-file]     (after bash build/pack.sh; MLNETLSTM_CONSUMER_KEEP=1 keeps the folder)
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
results=${1:-/dev/null}
: >"$results"
feed="$root/artifacts/packages"
version=$(sed -n 's:.*<MlnetLstmVersion>\(.*\)</MlnetLstmVersion>.*:\1:p' "$root/Directory.Build.props")
supported=$(sed -n 's:.*<MicrosoftMLSupportedVersions>\(.*\)</MicrosoftMLSupportedVersions>.*:\1:p' "$root/Directory.Packages.props")
mapfile -t ml_versions < <(tr ';' '\n' <<<"$supported" | sed 's/\.x$/.0/' | grep .)
[[ ${#ml_versions[@]} -gt 0 ]] || { echo "[consumer] no MicrosoftMLSupportedVersions in Directory.Packages.props" >&2; exit 1; }
newest=${ml_versions[-1]}
[[ -f "$feed/MlnetLstm.Trainers.$version.nupkg" ]] || { echo "[consumer] no packages of version $version in $feed: run bash build/pack.sh first" >&2; exit 1; }
work=$(mktemp -d "${TMPDIR:-/tmp}/mlnetlstm-consumer.XXXXXX")
# MLNETLSTM_CONSUMER_KEEP=1 keeps the folder, to look into a failure.
[[ "${MLNETLSTM_CONSUMER_KEEP:-}" == 1 ]] && echo "[consumer] keeping $work" || trap 'rm -rf "$work"' EXIT
failed=0
pass() { echo "[consumer] PASS $1${2:+ ($2)}"; echo "pass $1" >>"$results"; }
fail() { echo "[consumer] FAIL $1: $2"; echo "fail $1" >>"$results"; failed=1; }
log_tail() { sed 's/^/[consumer]   | /' "$1" | tail -n "${2:-15}"; }
seconds() { echo $(( ($(date +%s%N) - $1) / 1000000000 )); }

# --- The folder: empty MSBuild files stop MSBuild's upward search for Directory.Build.* and Directory.Packages.props.
for f in Directory.Build.props Directory.Build.targets Directory.Packages.props; do
    printf '<Project>\n  <!-- Empty: stops MSBuild looking for this file in the folders above. -->\n</Project>\n' >"$work/$f"
done
# The package sources this machine enables (user-level and machine-wide NuGet configuration), read before our
# nuget.config exists; the user's global packages folder is a fallback folder, so TorchSharp's libtorch is not unpacked
# again, while MlnetLstm.* always unpack into a folder of this run's own (the global folder keeps the first copy of a
# version it sees, which would hide a repacked package).
mapfile -t sources < <(cd "$work" && dotnet nuget list source --format short 2>/dev/null | awk '$1 == "E" { print $2 }')
[[ ${#sources[@]} -gt 0 ]] || { fail setup "no enabled package source in this machine's NuGet configuration (dotnet nuget list source)"; exit 1; }
user_packages=$(cd "$work" && dotnet nuget locals global-packages --list | sed 's/^global-packages: //')
{
    echo '<?xml version="1.0" encoding="utf-8"?>'
    echo '<configuration>'
    echo '  <config><add key="globalPackagesFolder" value="packages" /></config>'
    echo "  <fallbackPackageFolders><clear /><add key=\"user\" value=\"$user_packages\" /></fallbackPackageFolders>"
    echo '  <packageSources>'
    echo '    <clear />'
    echo "    <add key=\"local\" value=\"$feed\" />"
    for i in "${!sources[@]}"; do echo "    <add key=\"source$i\" value=\"${sources[$i]}\" />"; done
    echo '  </packageSources>'
    echo '  <packageSourceMapping>'
    echo '    <packageSource key="local"><package pattern="MlnetLstm.*" /></packageSource>'
    for i in "${!sources[@]}"; do echo "    <packageSource key=\"source$i\"><package pattern=\"*\" /></packageSource>"; done
    echo '  </packageSourceMapping>'
    echo '</configuration>'
} >"$work/nuget.config"
if compgen -G "$user_packages/mlnetlstm.*/$version" >/dev/null; then
    echo "[consumer] note: $user_packages holds MlnetLstm packages of version $version; they would shadow the new ones, so the checks below verify the hash"
fi

copy_app() { # $1: app folder name under build/consumers, $2: Microsoft.ML version; copies into $work/$2/$1
    mkdir -p "$work/$2/$1"
    cp "$root/build/consumers/$1/"* "$work/$2/$1/"
    sed -i "s/@VERSION@/$version/g; s/@MLVERSION@/$2/g" "$work/$2/$1/"*.csproj
}
# Checks that the restored MlnetLstm packages are the ones just packed (same SHA-512 as the .nupkg files), and that the
# Microsoft.ML restored is the version under test.
check_restored() { # $1: app folder under $work, $2: Microsoft.ML version
    local id lower expected actual
    for id in MlnetLstm.Transforms MlnetLstm.Trainers; do
        grep -q "\"$id/$version\"" "$work/$1/obj/project.assets.json" || continue
        lower=${id,,}
        expected=$(openssl dgst -sha512 -binary "$feed/$id.$version.nupkg" | base64 -w0)
        actual=$(cat "$work/packages/$lower/$version/$lower.$version.nupkg.sha512" 2>/dev/null || echo "(not restored into this run's folder)")
        [[ "$actual" == "$expected" ]] || { echo "$id $version restored is not the package just packed: $actual"; return 1; }
    done
    grep -q "\"Microsoft.ML/$2\"" "$work/$1/obj/project.assets.json" || { echo "Microsoft.ML $2 was not restored"; return 1; }
}
build_app() { # $1: app folder under $work, $2: Microsoft.ML version; writes $work/$1.build.log
    local log="$work/$1.build.log"
    (cd "$work/$1" && timeout 300 dotnet build -c Release --nologo -v minimal >"$log" 2>&1) || return 1
    check_restored "$1" "$2" >>"$log" || return 1
    if grep -qE 'warning NU160[58]' "$log"; then
        grep -E 'warning NU160[58]' "$log" | sort -u
        echo "restore warned NU1605/NU1608 (above)"
        return 1
    fi >>"$log"
}

# The four checks on one Microsoft.ML version; the zip goes to $work/$ml/model.zip, the scoring app's output on it to
# $work/$ml/scoring.log, its publish folder to $work/$ml/scoring-publish.
run_checks() { # $1: Microsoft.ML version
    local ml=$1 dir="$work/$1" start size mib torch empty_home printed letters words
    mkdir -p "$dir"

    # --- training
    start=$(date +%s%N)
    copy_app training "$ml"
    if ! build_app "$ml/training" "$ml"; then
        fail "training@$ml" "build failed"; log_tail "$dir/training.build.log"
    elif ! (cd "$dir/training" && timeout 240 dotnet bin/Release/net10.0/Training.dll "$dir/model.zip" >"$dir/training.log" 2>&1); then
        fail "training@$ml" "the app failed"; log_tail "$dir/training.log"
    else
        log_tail "$dir/training.log" 3
        pass "training@$ml" "$(seconds "$start") s"
    fi

    # --- scoring: the zip from the training app, expected continuation from its output
    start=$(date +%s%N)
    copy_app scoring "$ml"
    if [[ ! -f "$dir/model.zip" ]]; then
        fail "scoring@$ml" "no model.zip from the training app"
    elif ! build_app "$ml/scoring" "$ml"; then
        fail "scoring@$ml" "build failed"; log_tail "$dir/scoring.build.log"
    elif ! (cd "$dir/scoring" && timeout 300 dotnet publish -c Release -r linux-x64 --self-contained false -o "$dir/scoring-publish" --nologo -v quiet >"$dir/scoring.publish.log" 2>&1); then
        fail "scoring@$ml" "dotnet publish -r linux-x64 failed"; log_tail "$dir/scoring.publish.log"
    else
        size=$(du -sb "$dir/scoring-publish" | cut -f1)
        mib=$(awk -v b="$size" 'BEGIN { printf "%.1f", b / 1048576 }')
        torch=$(find "$dir/scoring-publish" -iname '*torch*' -printf '%f ')
        empty_home=$(mktemp -d "$dir/home.XXXXXX")
        if (( size > 60 * 1000 * 1000 )); then
            fail "scoring@$ml" "the linux-x64 publish folder is $mib MiB, more than 60 MB"
        elif [[ -n "$torch" ]]; then
            fail "scoring@$ml" "the publish folder holds TorchSharp or libtorch files: $torch"
        elif ! score "$ml" "$dir/model.zip" "$empty_home" >"$dir/scoring.log" 2>&1; then
            fail "scoring@$ml" "the published app failed with HOME=$empty_home"; log_tail "$dir/scoring.log"
        elif [[ -n "$(ls -A "$empty_home")" ]]; then
            fail "scoring@$ml" "the app wrote into the empty HOME: $(ls -A "$empty_home")"
        else
            log_tail "$dir/scoring.log" 3
            echo "[consumer]   | publish -r linux-x64: $mib MiB, $(find "$dir/scoring-publish" -type f | wc -l) files, no TorchSharp or libtorch file"
            echo "$mib" >"$dir/scoring.size"
            pass "scoring@$ml" "$(seconds "$start") s; publish folder $mib MiB"
        fi
    fi

    # --- quickstart: the README's block, as printed
    start=$(date +%s%N)
    copy_app quickstart "$ml"
    awk '/^## Quick start/ { section = 1; next } section && /^## / { exit }
         section && /^```csharp/ { code = 1; next } code && /^```/ { exit } code { print }' "$root/README.md" >"$dir/quickstart/Program.cs"
    if [[ ! -s "$dir/quickstart/Program.cs" ]]; then
        fail "quickstart@$ml" "README.md has no \`\`\`csharp block under \"## Quick start\""
    elif ! build_app "$ml/quickstart" "$ml"; then
        fail "quickstart@$ml" "the README quick start does not compile"; log_tail "$dir/quickstart.build.log" 20
    elif ! (cd "$dir/quickstart" && timeout 120 dotnet bin/Release/net10.0/QuickStart.dll >"$dir/quickstart.log" 2>&1); then
        fail "quickstart@$ml" "the README quick start failed"; log_tail "$dir/quickstart.log"
    else
        printed=$(grep -v '^\s*$' "$dir/quickstart.log" | tail -n 1)
        letters=$(tr -cd '[:alpha:]' <<<"$printed" | wc -c)
        words=$(grep -oE '[[:alpha:]]{3,}' <<<"$printed" | wc -l)
        log_tail "$dir/quickstart.log" 3
        if (( letters < 30 || words < 6 )); then
            fail "quickstart@$ml" "its last line is not readable text ($letters letters, $words words): '$printed'"
        else
            pass "quickstart@$ml" "$(seconds "$start") s, training and generation included"
        fi
    fi

    # --- nobackend
    start=$(date +%s%N)
    copy_app nobackend "$ml"
    if ! build_app "$ml/nobackend" "$ml"; then
        fail "nobackend@$ml" "build failed"; log_tail "$dir/nobackend.build.log"
    elif ! grep -q "MLNETLSTM001" "$dir/nobackend.build.log"; then
        fail "nobackend@$ml" "no build warning MLNETLSTM001 for an app without a libtorch backend"; log_tail "$dir/nobackend.build.log"
    # TorchSharp looks for libtorch in the NuGet package cache when the app has none (for notebooks); an app deployed
    # without a backend has no such cache, so neither has this run.
    elif ! (cd "$dir/nobackend" && HOME="$dir/nobackend-home" NUGET_PACKAGES="$dir/nobackend-home/packages" timeout 60 \
            dotnet bin/Release/net10.0/NoBackend.dll >"$dir/nobackend.log" 2>&1); then
        fail "nobackend@$ml" "training without a backend did not fail with an exception"; log_tail "$dir/nobackend.log"
    elif ! grep -q "TorchSharp-cpu" "$dir/nobackend.log" || grep -q "setup.sh" "$dir/nobackend.log"; then
        fail "nobackend@$ml" "the error does not name the backend packages, or names a repository script"; log_tail "$dir/nobackend.log"
    else
        echo "[consumer]   | $(head -c 200 "$dir/nobackend.log")…"
        pass "nobackend@$ml" "$(seconds "$start") s"
    fi
}
# Runs the scoring app published on Microsoft.ML $1 on the zip $2, with HOME=$3 (an empty folder).
score() {
    (cd "$work/$1/scoring-publish" && HOME="$3" DOTNET_CLI_HOME="$3" NUGET_PACKAGES="$3/none" timeout 60 \
        ./Scoring "$2" "the dog " "sat on the log.")
}

for ml in "${ml_versions[@]}"; do
    echo "[consumer] Microsoft.ML $ml"
    run_checks "$ml"
done

# --- crossversion: a zip saved on one version scores identically on every other
for from in "${ml_versions[@]}"; do
    for to in "${ml_versions[@]}"; do
        [[ "$from" != "$to" ]] || continue
        name="crossversion@$from->$to"
        if [[ ! -f "$work/$from/model.zip" || ! -f "$work/$from/scoring.log" || ! -x "$work/$to/scoring-publish/Scoring" ]]; then
            fail "$name" "needs training@$from and scoring@$from and scoring@$to to have passed"
        elif ! score "$to" "$work/$from/model.zip" "$(mktemp -d "$work/home.XXXXXX")" >"$work/$name.log" 2>&1; then
            fail "$name" "the scoring app on Microsoft.ML $to failed on the zip saved on $from"; log_tail "$work/$name.log"
        elif ! diff "$work/$from/scoring.log" "$work/$name.log" >"$work/$name.diff"; then
            fail "$name" "the predictions differ from those on $from"; log_tail "$work/$name.diff"
        else
            pass "$name" "$(grep -c . "$work/$name.log") lines identical: $(head -n 1 "$work/$name.log")"
        fi
    done
done

# --- torchsharp: MlnetLstm.Trainers beside Microsoft.ML.TorchSharp, on the newest Microsoft.ML
start=$(date +%s%N)
copy_app torchsharp "$newest"
if ! build_app "$newest/torchsharp" "$newest"; then
    fail "torchsharp@$newest" "build failed"; log_tail "$work/$newest/torchsharp.build.log"
elif ! (cd "$work/$newest/torchsharp" && timeout 240 dotnet bin/Release/net10.0/TorchSharpTogether.dll >"$work/torchsharp.log" 2>&1); then
    fail "torchsharp@$newest" "the app failed"; log_tail "$work/torchsharp.log" 30
else
    grep -v '^jit-missing' "$work/torchsharp.log" | log_tail /dev/stdin 20
    grep '^jit-missing' "$work/torchsharp.log" | cut -c 1-300 | log_tail /dev/stdin 20
    resolved=$(grep -o '"TorchSharp/[0-9.]*"' "$work/$newest/torchsharp/obj/project.assets.json" | sort -u | tr -d '"' | tr '\n' ' ')
    pass "torchsharp@$newest" "$(seconds "$start") s; resolved $resolved; $(grep '^jit:' "$work/torchsharp.log")"
fi
exit "$failed"
