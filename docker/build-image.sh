#!/usr/bin/env bash
# Builds one image from the repository root; this is what the Nx `image` targets run:
#
#   docker/build-image.sh base                  -> tsr-zmq:<version>, tsr-zmq:latest     (docker/base/Dockerfile;
#                                                  stages dist/native/node_modules: sodium-native)
#   docker/build-image.sh broker|worker|client  -> tsr-<app>:<version>, tsr-<app>:latest (docker/app/Dockerfile, APP=<app>;
#                                                  needs dist/apps/<app>/main.js and tsr-zmq:<version>)
#
# <version> is package.json's. The build uses no network: FROM images must already be local.
# For the base, NODE_IMAGE chooses the Node runtime. The Node is the pinned one, whatever the host
# has: tools/node/node.json names its exact version (<node> below) and integrity.
#   NODE_IMAGE=<image>   use that image (any Debian/Ubuntu node image; the image test expects <node>)
#   unset (default)      node:<node>-bookworm-slim when it is already local (`docker pull` it once on a
#                        machine with a registry; TSR_PULL_NODE=1 makes this script try the pull);
#                        otherwise, on Linux, tsr-node:<node>-local, made by
#                        tools/docker/make-local-node-image.sh from the pinned binary that
#                        tools/node/pinned-node.sh fetches from the npm registry (integrity checked;
#                        no container registry needed).
set -euo pipefail

target=${1:?usage: docker/build-image.sh base|broker|worker|client}
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version")
node_version=$(tools/node/pinned-node.sh --version)
upstream_node=node:${node_version}-bookworm-slim

build() { # build <dockerfile> <name> [docker build args...]
  local dockerfile=$1 name=$2
  shift 2
  local started=$SECONDS
  # -q: one line (the image id) instead of the whole log; on failure the log is printed.
  local log
  if ! log=$(docker build -f "$dockerfile" --build-arg "VERSION=$version" -t "$name:$version" -t "$name:latest" "$@" . 2>&1); then
    printf '%s\n' "$log" >&2
    echo "build-image: docker build of $name failed" >&2
    return 1
  fi
  printf '%s\n' "$log" | grep -E '^Successfully built' || true
  echo "build-image: $name:$version and $name:latest ($(docker image inspect -f '{{.Size}}' "$name:$version" | awk '{printf "%.0f MB", $1/1e6}'), $((SECONDS - started)) s)"
}

case "$target" in
  base)
    node_image=${NODE_IMAGE:-}
    if [ -z "$node_image" ]; then
      if docker image inspect "$upstream_node" >/dev/null 2>&1; then
        node_image=$upstream_node
      elif [ "${TSR_PULL_NODE:-0}" = 1 ] && docker pull "$upstream_node"; then
        node_image=$upstream_node
      elif [ "$(uname -s)" = Linux ]; then
        echo "build-image: $upstream_node is not local; using a Node image made from the pinned Node $node_version (docker pull $upstream_node, or TSR_PULL_NODE=1, to use upstream)"
        node_bin=$(tools/node/pinned-node.sh)
        node_image=$(NODE_BIN=$node_bin tools/docker/make-local-node-image.sh "tsr-node:${node_version}-local")
      else
        node_image=$upstream_node # Docker Desktop and the like: let docker build pull it
      fi
    fi
    echo "build-image: tsr-zmq FROM $node_image"
    # sodium-native for /app/node_modules: CURVE's boxes in native libsodium (the addon of linux-x64 alone).
    npx tsx tools/docker/stage-native-modules.ts dist/native/node_modules
    build docker/base/Dockerfile tsr-zmq --build-arg "NODE_IMAGE=$node_image"
    # Untagged tsr images: images replaced by newer builds (the app images inherit the label).
    # Run here, before the app builds start.
    docker image prune -f --filter label=tsr.project=tsr >/dev/null
    ;;
  broker | worker | client)
    if [ ! -f "dist/apps/$target/main.js" ]; then
      echo "build-image: dist/apps/$target/main.js is missing: run nx run $target:build (nx run $target:image does)" >&2
      exit 1
    fi
    build docker/app/Dockerfile "tsr-$target" --build-arg "APP=$target" --build-arg "BASE_IMAGE=tsr-zmq:$version"
    ;;
  *)
    echo "build-image: unknown image $target (base, broker, worker, client)" >&2
    exit 2
    ;;
esac
