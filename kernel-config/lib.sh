# shellcheck shell=bash disable=SC2034,SC2094
# (SC2034: the variables are used by the scripts that source this file;
#  SC2094: false positive on `basename "$f"` inside a read loop over "$f".)
# Shared by build-kernel and check-fragments (sourced, not run). Part of the
# kernel cache key, so a change here rebuilds the kernel.
#
# Layout (fixed absolute paths, so that builds are reproducible):
#   /var/tmp/aether-build/linux-<debian version>/        pristine source tree
#   /var/tmp/aether-build/linux-<debian version>.sha256  sha256 of the tarball it came from
#   /var/tmp/aether-build/linux-<debian version>-build/  kbuild output (O=), wiped per build
# The whole layout is guarded by one flock (/var/tmp/aether-build/.linux.lock).

kc_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kc_root=$(cd "$kc_dir/.." && pwd)
kc_build_root=/var/tmp/aether-build
kc_input=linux-source-6.12.tar.xz
kc_cache=${AETHER_CACHE:-$HOME/.cache/aether}

kc_say() { printf '[%s] %s\n' "${kc_prog:-kernel}" "$*" >&2; }
kc_die() { kc_say "ERROR: $*"; exit 1; }

# The inputs.lock row of the kernel source: sets kc_url, kc_src_sha (pinned sha256
# of the tarball) and kc_version (Debian version, e.g. 6.12.117-1~deb12u1).
kc_read_lock() {
  local row
  row=$(awk -v n="$kc_input" '!/^[[:space:]]*#/ && NF && $1 == n { print $4, $6; exit }' "$kc_root/inputs.lock")
  [[ -n "$row" ]] || kc_die "inputs.lock has no row $kc_input"
  read -r kc_url kc_src_sha <<<"$row"
  kc_version=$(basename "${kc_url//%2b/+}")
  kc_version=${kc_version#linux-source-6.12_}
  kc_version=${kc_version%_all.deb}
  [[ "$kc_version" =~ ^6\.12\.[0-9]+-[A-Za-z0-9.+~]+$ ]] ||
    kc_die "cannot read a linux-source-6.12 version from $kc_url"
  # `~` is legal in a path but awkward in make; the directory name uses `_`.
  kc_src=$kc_build_root/linux-${kc_version//\~/_}
  kc_out=$kc_src-build
}

# Fragment files for a TEE selection (snp, tdx or all), base first.
kc_fragments() {
  case "$1" in
    snp) echo "$kc_dir/base.config $kc_dir/snp.config" ;;
    tdx) echo "$kc_dir/base.config $kc_dir/tdx.config" ;;
    all) echo "$kc_dir/base.config $kc_dir/snp.config $kc_dir/tdx.config" ;;
    *) kc_die "--tee must be snp, tdx or all, not '$1'" ;;
  esac
}

# Takes the source lock (fd 8) for the rest of the calling process.
kc_lock() {
  mkdir -p "$kc_build_root"
  exec 8>"$kc_build_root/.linux.lock"
  flock 8
}

# Unpacks the pinned tarball to $kc_src. With `fresh`, always from scratch;
# otherwise an existing tree whose stamp matches the pin is reused.
kc_unpack() {
  local mode=${1:-fresh} tarball
  if [[ "$mode" != fresh && -d "$kc_src" && "$(cat "$kc_src.sha256" 2>/dev/null)" == "$kc_src_sha" ]]; then
    return
  fi
  tarball=$("$kc_root/scripts/fetch-input" "$kc_input" | tail -n1)
  kc_say "unpacking $kc_input ($kc_version) to $kc_src"
  rm -rf "$kc_src" "$kc_src.sha256"
  mkdir -p "$kc_src"
  tar -xf "$tarball" -C "$kc_src" --strip-components=1
  echo "$kc_src_sha" >"$kc_src.sha256"
}

# Writes $1/.config: tinyconfig, the fragments merged on top, olddefconfig.
kc_make_config() {
  local out=$1; shift
  mkdir -p "$out"
  make -s -C "$kc_src" O="$out" ARCH=x86_64 tinyconfig >/dev/null
  # merge_config.sh -m: only merge, the olddefconfig below resolves dependencies.
  (cd "$out" && "$kc_src/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" "$@") >"$out/merge.log" 2>&1 ||
    { cat "$out/merge.log" >&2; kc_die "merge_config.sh failed"; }
  make -s -C "$kc_src" O="$out" ARCH=x86_64 olddefconfig >/dev/null
}

# Fails listing every fragment line that the resulting config $1 does not honour.
kc_verify_config() {
  local config=$1; shift
  local f line opt dropped=()
  for f in "$@"; do
    while IFS= read -r line; do
      if [[ "$line" =~ ^#\ (CONFIG_[A-Za-z0-9_]+)\ is\ not\ set$ ]]; then
        opt=${BASH_REMATCH[1]}
        grep -q "^$opt=" "$config" && dropped+=("$(basename "$f"): wanted '$line', got '$(grep "^$opt=" "$config")'")
      elif [[ "$line" =~ ^(CONFIG_[A-Za-z0-9_]+)= ]]; then
        opt=${BASH_REMATCH[1]}
        grep -qxF -- "$line" "$config" ||
          dropped+=("$(basename "$f"): wanted '$line', got '$(grep -E "^$opt=|^# $opt is not set" "$config" || echo 'absent (unknown option or unmet dependency)')'")
      fi
    done <"$f"
  done
  if ((${#dropped[@]})); then
    kc_say "the kernel configuration does not honour ${#dropped[@]} fragment option(s):"
    printf '  %s\n' "${dropped[@]}" >&2
    kc_die "fix the fragments (a dependency is missing, or the option does not exist in $kc_version)"
  fi
}
