# Shared by the scripts that build images from Debian packages (sourced, not run).

# The Debian mirror the host's apt already uses: read at run time so no registry host
# name is ever written into the repository.
host_debian_mirror() {
  local uri
  uri="$({ cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null || true; } \
    | grep -E '^(URIs:|deb )' | grep -v security | head -1 \
    | sed -E 's/^URIs: *//; s/^deb +(\[[^]]*\] +)?//; s/ .*//')"
  [[ -n "$uri" ]] || { echo "cannot find the host's Debian mirror in /etc/apt sources" >&2; return 1; }
  echo "$uri"
}

ensure_debootstrap() {
  command -v debootstrap >/dev/null 2>&1 && return
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
}
