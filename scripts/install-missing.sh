# Sourced by the scripts that need tools a fresh machine may lack.
#
# install_missing CMD[:PACKAGE]...: installs, with apt-get (Debian, Ubuntu),
# the package of each command not on PATH (PACKAGE defaults to CMD). That
# needs root: as root directly, else through sudo; without either it stops
# and names what to install. It says what it installs before it does.
install_missing() {
    local want cmd pkg missing=() as_root=()
    for want in "$@"; do
        cmd=${want%%:*}
        pkg=${want#*:}
        command -v "$cmd" >/dev/null 2>&1 || missing+=("$pkg")
    done
    ((${#missing[@]} > 0)) || return 0
    local me
    me=$(basename "$0")
    if [[ $(id -u) -ne 0 ]]; then
        if ! command -v sudo >/dev/null 2>&1; then
            echo "$me: ${missing[*]} not installed, and installing needs root or sudo;" \
                "install ${missing[*]} and run again" >&2
            exit 1
        fi
        as_root=(sudo)
    fi
    echo "$me: installing ${missing[*]} with ${as_root[*]:+${as_root[*]} }apt-get" >&2
    "${as_root[@]}" apt-get update -qq
    "${as_root[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}"
}
