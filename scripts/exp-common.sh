# shellcheck shell=bash
# Helpers for the exp-*.sh experiment scripts: each writes its templates, pcaps,
# logs and a summary under docs/observed/<experiment>/.
set -euo pipefail
EXP_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REC="$EXP_HERE/record-keepalived-capture.sh"
SUM="$EXP_HERE/summarize-capture.sh"
exp_dir() { local d="$EXP_HERE/../docs/observed/$1"; mkdir -p "$d"; (cd "$d" && pwd); }

# tmpl FILE VERSION VRID ADVERT_INT VIPS... (one VIP a line; extra lines via EXTRA)
tmpl() {
    local f=$1 ver=$2 vrid=$3 adv=$4; shift 4
    {
        echo "global_defs { router_id ka@ID@ }"
        echo "vrrp_instance VI_$vrid {"
        echo "  state ${STATE:-BACKUP}"
        echo "  interface eth0"
        echo "  virtual_router_id $vrid"
        echo "  priority @PRIO@"
        echo "  advert_int $adv"
        echo "  version $ver"
        [ -n "${EXTRA:-}" ] && printf '%s\n' "$EXTRA"
        echo "  virtual_ipaddress {"
        local v; for v in "$@"; do echo "    $v"; done
        echo "  }"
        echo "}"
    } >"$f"
}

# keepalived log lines worth reading (drops the banner and the startup chatter)
klog() {
    grep -v -e 'Command line' -e ":   *'" -e 'Running on' -e 'Opening file' -e NOTICE \
        -e netlink -e 'CPU usage' -e 'Configuration file' -e 'Starting Keepalived' \
        -e 'Stopped Keepalived' -e 'VRRP child process' -e 'Assigned address' \
        -e 'shared channel' -e 'Stopped - used' "$@" | sed -E 's/^([0-9.]+) [A-Z][a-z]{2} [A-Z][a-z]{2} +[0-9]+ [0-9:]+ [0-9]+: /\1 /'
}
