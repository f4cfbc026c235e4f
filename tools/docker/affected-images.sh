#!/usr/bin/env bash
# Which images `nx affected -t image` rebuilds for a change to each file (default: a sample).
#
#   tools/docker/affected-images.sh [FILE...]
#
# The image targets' inputs (nx.json's dockerBuild, apps/*/project.json, docker/base/project.json)
# make the answer: an app's image for its own sources, all three for libs/tsr (every app bundles
# it) and for docker/app/Dockerfile (the three images' one Dockerfile), the base and all three for
# docker/base or the lockfile, none for files no image is built from. A spec file makes its project affected but leaves the image's
# hash unchanged (inputs are `production`), so Nx then takes the image target from its cache.
# To rebuild them: npx nx affected -t image --files=FILE   (or --base=main for a branch)
set -euo pipefail
cd "$(dirname "$0")/../.."
files=("$@")
if [ ${#files[@]} -eq 0 ]; then
  files=(apps/worker/src/main.ts apps/broker/src/main.ts libs/tsr/runtime/src/index.ts docker/app/Dockerfile
    docker/base/Dockerfile package-lock.json docker/docker-compose.yml tools/bench/bench.ts)
fi
for f in "${files[@]}"; do
  affected=$(NX_DAEMON=false npx nx show projects --affected --files="$f" -t image --sep ' ')
  printf '%-32s -> %s\n' "$f" "${affected:-(no image)}"
done
