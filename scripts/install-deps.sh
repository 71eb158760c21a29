#!/usr/bin/env bash
# Installs the Debian packages that tests and development need (see MACHINE.md).
# Idempotent: when every package is already installed, apt is not touched at all, so a
# warm machine (or a second CI phase) pays a few milliseconds instead of an index refresh.
set -euo pipefail

packages=(
  postgresql                                    # throwaway clusters (test-support/postgres.ts)
  gnome-keyring dbus dbus-x11 libsecret-tools   # a real Secret Service for keychain tests
  chromium                                      # Playwright via executablePath
  openssh-server openssh-client                 # sshd with certificate auth for grant tests
  redis-server                                  # throwaway Redis with an ACL file (test-support/redis.ts)
  mariadb-server mariadb-client                 # throwaway MariaDB for the mariadb provider (test-support/mariadb.ts)
  slapd ldap-utils                              # throwaway OpenLDAP for the ldap-group provider (test-support/slapd.ts)
  zsh fish tmux direnv                          # shell hook tests
  hyperfine wrk                                 # benchmarks
  psmisc procps                                 # fuser, ps, pgrep for process checks in tests
  glewlwyd dbconfig-no-thanks sqlite3           # a second OIDC provider (test-support/glewlwyd.ts)
)

# One dpkg-query for all; a package dpkg has never heard of is simply absent from the output.
declare -A installed=()
while read -r pkg status; do
  [[ "$status" == installed ]] && installed[$pkg]=1
done < <(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)

missing=()
for pkg in "${packages[@]}"; do
  [[ -n "${installed[$pkg]:-}" ]] || missing+=("$pkg")
done

if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages already installed"
  exit 0
fi

echo "install-deps: missing: ${missing[*]}"

sudo=()
if ((EUID != 0)); then
  if command -v sudo >/dev/null 2>&1; then
    sudo=(sudo)
  else
    echo "install-deps: not root and no sudo; install as root: apt-get install ${missing[*]}" >&2
    exit 1
  fi
fi

echo "install-deps: apt-get update"
"${sudo[@]}" apt-get update -qq

# glewlwyd's postinst asks (debconf) whether to set up a database through dbconfig-common;
# the default answer makes it edit a config file that was never written, and the install
# fails. Tests run their own glewlwyd with their own SQLite file, so answer "No
# configuration" (and "no" to dbconfig, should it ever ask). dbconfig-no-thanks above
# satisfies the package's dbconfig dependency without pulling in a MariaDB client.
if [[ " ${missing[*]} " == *" glewlwyd "* ]]; then
  echo "install-deps: preseeding debconf for glewlwyd"
  "${sudo[@]}" debconf-set-selections <<'EOF'
glewlwyd glewlwyd/config_type select No configuration
glewlwyd glewlwyd/dbconfig-install boolean false
EOF
fi

echo "install-deps: apt-get install ${#missing[@]} package(s)"
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null

echo "install-deps: done"
