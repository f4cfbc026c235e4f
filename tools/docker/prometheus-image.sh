#!/usr/bin/env bash
# Prints the Prometheus image the compose file and the Swarm monitoring stack should run
# (PROMETHEUS_IMAGE), making it first when no registry can give one:
#
#   1. PROMETHEUS_IMAGE, if set;
#   2. the upstream prom/prometheus:v2.42.0 if it is already local (or TSR_PULL_PROMETHEUS=1 and
#      the pull works): what a machine with a registry uses by default;
#   3. otherwise tsr-prometheus:<version>-local, made (once; FORCE=1 again) from Debian's
#      /usr/bin/prometheus (`apt-get install prometheus`) the way make-local-node-image.sh makes
#      the Node base: the binary, the libraries `ldd` lists, a minimal /etc, imported with
#      `docker import`. Same entrypoint, user (nobody) and data directory as upstream.
#
#   PROMETHEUS_IMAGE=$(tools/docker/prometheus-image.sh) docker-compose -f docker/docker-compose.yml up -d
set -euo pipefail
. "$(dirname "$0")/local-rootfs.sh"

upstream=prom/prometheus:v2.42.0
if [ -n "${PROMETHEUS_IMAGE:-}" ]; then
  echo "$PROMETHEUS_IMAGE"
  exit 0
fi
if docker image inspect "$upstream" >/dev/null 2>&1 || { [ "${TSR_PULL_PROMETHEUS:-0}" = 1 ] && docker pull -q "$upstream" >&2; }; then
  echo "$upstream"
  exit 0
fi

bin=$(readlink -f "${PROMETHEUS_BIN:-/usr/bin/prometheus}")
if [ ! -x "$bin" ]; then
  echo "prometheus-image: $upstream is not local and there is no $bin to package (apt-get install prometheus, or docker pull $upstream)" >&2
  exit 1
fi
version=$("$bin" --version 2>&1 | awk 'NR == 1 { print $3 }')
version=${version%%+*} # Debian's 2.42.0+ds: a tag takes no +
tag=tsr-prometheus:${version}-local
reuse_local_image "$tag" && exit 0
new_rootfs
echo "prometheus-image: $bin (v$version) -> $tag" >&2
# /bin/prometheus, as upstream: /bin links to usr/bin, as on the host.
rootfs_with_binary "$root" "$bin" /usr/bin/prometheus
rootfs_etc "$root"
mkdir -p "$root/prometheus" "$root/etc/prometheus"
chown 65534:65534 "$root/prometheus"

tar --numeric-owner -C "$root" -c . |
  docker import \
    --change 'USER nobody' \
    --change 'WORKDIR /prometheus' \
    --change 'EXPOSE 9090' \
    --change 'ENTRYPOINT ["/bin/prometheus"]' \
    --change 'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]' \
    --change 'LABEL tsr.project=tsr' \
    --message "Prometheus $version from Debian's package on the build host (tools/docker/prometheus-image.sh)" \
    - "$tag" >/dev/null

docker run --rm "$tag" --version >/dev/null
echo "$tag"
