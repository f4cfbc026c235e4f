#!/usr/bin/env bash
# Prints the ids of tsr-<name>:<version> and :latest for each name; prints something new each
# time when one is missing. The image targets use it as an Nx runtime input, so a cached image
# target counts only while the images it built are still there, unchanged:
#   docker/image-ids.sh zmq broker
cd "$(dirname "$0")/.."
version=$(node -p "require('./package.json').version")
for name in "$@"; do
  docker image inspect -f '{{.Id}}' "tsr-$name:$version" "tsr-$name:latest" 2>/dev/null || { date +%s%N; exit 0; }
done
