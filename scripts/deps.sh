# Installs what Shade needs on Debian/Ubuntu; sourced by scripts/run and scripts/test.
# Everything comes from Debian's packages, the Go module proxy or the npm registry.
set -euo pipefail

as_root() {
	if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi
}

apt_updated=""
need_apt() { # need_apt PACKAGE...: installs the packages that are missing
	local missing=()
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "==> installing ${missing[*]}" >&2
	if [ -z "$apt_updated" ]; then
		as_root apt-get update -qq
		apt_updated=1
	fi
	as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
}

need_cmd() { # need_cmd COMMAND PACKAGE: installs PACKAGE when COMMAND is not on PATH
	command -v "$1" >/dev/null 2>&1 || need_apt "$2"
}

need_go() {
	if ! command -v go >/dev/null 2>&1; then
		[ -x /usr/local/go/bin/go ] && export PATH="/usr/local/go/bin:$PATH"
	fi
	if ! command -v go >/dev/null 2>&1; then
		need_apt golang-go
	fi
	# go.mod names the toolchain; Go 1.21+ fetches it through the module proxy.
	local v
	v=$(GOTOOLCHAIN=local go env GOVERSION | sed 's/^go//')
	case "$v" in
	1.1[0-9]* | 1.[0-9] | 1.[0-9].* | 1.20*)
		echo "Go $v is too old: Shade needs Go 1.21 or newer to fetch its toolchain (install it in /usr/local/go)" >&2
		exit 1
		;;
	esac
	export GOTOOLCHAIN="${GOTOOLCHAIN:-auto}"
	export PATH="$(go env GOPATH)/bin:$PATH"
}

need_clickhouse() {
	need_cmd clickhouse-server clickhouse-server
	need_cmd clickhouse-client clickhouse-client
	# Debian's package may start its own service; Shade runs its own server and needs none.
}
