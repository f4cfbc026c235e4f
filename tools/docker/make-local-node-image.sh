#!/usr/bin/env bash
# Makes a Node.js runtime image from this host's own `node`, for machines that cannot pull
# `node:20-bookworm-slim` (no container registry). No network is used: the image is the host's
# node binary plus the shared libraries `ldd` lists, a minimal /etc (root and a `node` user with
# uid 1000, as in the upstream image) and /tmp, turned into an image by `docker import`.
#
#   tools/docker/make-local-node-image.sh [TAG]     # default tag: tsr-node:<node version>-local
#
# Prints the tag on stdout (progress goes to stderr). Does nothing when the tag already exists,
# unless FORCE=1. Only for Linux hosts (the binary must run in a Linux container).
set -euo pipefail

node_bin=$(readlink -f "${NODE_BIN:-$(command -v node)}")
version=$("$node_bin" -p 'process.versions.node')
tag=${1:-tsr-node:${version}-local}

if [ "$(uname -s)" != Linux ]; then
  echo "make-local-node-image: needs a Linux host (this is $(uname -s)); pull ${NODE_IMAGE:-node:20-bookworm-slim} instead" >&2
  exit 1
fi
if [ "${FORCE:-0}" != 1 ] && docker image inspect "$tag" >/dev/null 2>&1; then
  echo "$tag"
  exit 0
fi

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
echo "make-local-node-image: $node_bin (v$version) -> $tag" >&2

# Keep the host's directory layout (Debian 12 merges /lib into /usr/lib: /lib is a symlink).
for d in /lib /lib64 /bin /sbin; do
  if [ -L "$d" ]; then ln -s "$(readlink "$d")" "$root$d"; fi
done
mkdir -p "$root/usr/local/bin" "$root/etc" "$root/tmp" "$root/home/node" "$root/app"
cp "$node_bin" "$root/usr/local/bin/node"

# The dynamic loader and every library node links against (the zeromq addon needs the same set:
# libstdc++, libgcc_s, libm, libpthread, libc). glibc >= 2.34 has NSS files/dns built in.
ldd "$node_bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
  while read -r lib; do
    dir=$(cd "$(dirname "$lib")" && pwd -P)
    mkdir -p "$root$dir"
    cp -L "$lib" "$root$dir/$(basename "$lib")"
  done

cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/usr/sbin/nologin
node:x:1000:1000::/home/node:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
EOF
cat >"$root/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
chmod 1777 "$root/tmp"
chown 1000:1000 "$root/home/node"

tar --numeric-owner -C "$root" -c . |
  docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change "ENV NODE_VERSION=$version" \
    --change 'CMD ["node"]' \
    --message "Node.js $version from the build host (tools/docker/make-local-node-image.sh)" \
    - "$tag" >/dev/null

# The image must run node, as root and as the `node` user.
docker run --rm "$tag" node -e 'process.exit(0)'
docker run --rm --user node "$tag" node -e 'process.exit(0)'
echo "$tag"
