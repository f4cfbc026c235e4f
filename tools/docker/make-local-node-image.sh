#!/usr/bin/env bash
# Makes a Node.js runtime image from a node binary on this host, for machines that cannot pull
# the upstream `node:<version>-bookworm-slim` (no container registry). No network is used: the
# image is the binary (NODE_BIN, default the `node` on PATH; docker/build-image.sh gives the pinned
# one, tools/node/pinned-node.sh) plus the shared libraries `ldd` lists, a minimal /etc (root and a
# `node` user with uid 1000, as in the upstream image) and /tmp, turned into an image by `docker import`.
#
#   NODE_BIN=$(tools/node/pinned-node.sh) tools/docker/make-local-node-image.sh [TAG]
#                                                   # default tag: tsr-node:<node version>-local
#
# Prints the tag on stdout (progress goes to stderr). Does nothing when the tag already exists,
# unless FORCE=1. Only for Linux hosts (the binary must run in a Linux container).
set -euo pipefail
. "$(dirname "$0")/local-rootfs.sh"

node_bin=$(readlink -f "${NODE_BIN:-$(command -v node)}")
version=$("$node_bin" -p 'process.versions.node')
tag=${1:-tsr-node:${version}-local}

if [ "$(uname -s)" != Linux ]; then
  echo "make-local-node-image: needs a Linux host (this is $(uname -s)); pull ${NODE_IMAGE:-node:$version-bookworm-slim} instead" >&2
  exit 1
fi
reuse_local_image "$tag" && exit 0
new_rootfs
echo "make-local-node-image: $node_bin (v$version) -> $tag" >&2

# The binary, the loader and every library node links against (libstdc++, libgcc_s, libm,
# libpthread, libc). glibc >= 2.34 has NSS files/dns built in.
rootfs_with_binary "$root" "$node_bin" /usr/local/bin/node
rootfs_etc "$root"
mkdir -p "$root/home/node" "$root/app"
chown 1000:1000 "$root/home/node"

tar --numeric-owner -C "$root" -c . |
  docker import \
    --change 'ENV PATH=/usr/local/bin:/usr/bin:/bin' \
    --change "ENV NODE_VERSION=$version" \
    --change 'CMD ["node"]' \
    --message "Node.js $version, $node_bin (tools/docker/make-local-node-image.sh)" \
    - "$tag" >/dev/null

# The image must run node, as root and as the `node` user.
docker run --rm "$tag" node -e 'process.exit(0)'
docker run --rm --user node "$tag" node -e 'process.exit(0)'
echo "$tag"
