# Sourced by the make-local-*-image.sh scripts: a minimal root filesystem for a host binary,
# turned into an image by `docker import` (no registry, no network).

# rootfs_with_binary <root> <binary> <destination>: the binary, the dynamic loader and every
# library `ldd` lists, in the host's layout (Debian 12 merges /lib into /usr/lib: /lib is a symlink).
rootfs_with_binary() {
  local root=$1 bin=$2 dest=$3
  for d in /lib /lib64 /bin /sbin; do
    if [ -L "$d" ]; then ln -s "$(readlink "$d")" "$root$d"; fi
  done
  mkdir -p "$root$(dirname "$dest")" "$root/etc" "$root/tmp"
  cp "$bin" "$root$dest"
  ldd "$bin" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }' | sort -u |
    while read -r lib; do
      local dir
      dir=$(cd "$(dirname "$lib")" && pwd -P)
      mkdir -p "$root$dir"
      cp -L "$lib" "$root$dir/$(basename "$lib")"
    done
  chmod 1777 "$root/tmp"
}

# rootfs_etc <root>: root, `node` (uid 1000, as the upstream node image) and `nobody` (what the
# upstream prom/prometheus image runs as), name resolution from files then DNS.
rootfs_etc() {
  local root=$1
  cat >"$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/usr/sbin/nologin
node:x:1000:1000::/home/node:/usr/sbin/nologin
nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin
PASSWD
  cat >"$root/etc/group" <<'GROUP'
root:x:0:
node:x:1000:
nogroup:x:65534:
GROUP
  echo 'hosts: files dns' >"$root/etc/nsswitch.conf"
}

# reuse_local_image <tag>: prints the tag and succeeds when the image exists (unless FORCE=1).
reuse_local_image() {
  if [ "${FORCE:-0}" != 1 ] && docker image inspect "$1" >/dev/null 2>&1; then
    echo "$1"
    return 0
  fi
  return 1
}

# new_rootfs: sets $root to an empty directory, removed when the script exits.
new_rootfs() {
  root=$(mktemp -d)
  trap 'rm -rf "$root"' EXIT
}
