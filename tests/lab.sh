#!/usr/bin/env bash
# wiretally test lab: two network namespaces joined by a veth pair, a
# dnsmasq (DHCP + local-only DNS) and python HTTP and HTTPS servers on the
# server side, real clients (udhcpc, dig, curl, python, chromium) on the
# client side.
#
# Usage (as root):
#   lab.sh up                 create namespaces, start services; prints KEY=VALUE lines
#   lab.sh clients [ID]       run udhcpc, 3x dig, curl in the client namespace
#   lab.sh tls-clients [ID]   curl, python ssl and headless Chromium (TCP, then QUIC) over
#                             HTTPS to the server namespace (after `clients`)
#   lab.sh public-kms [ID]    the client looks up a published public KMS host (the lab's
#                             dnsmasq has no upstream: the query goes nowhere else)
#   lab.sh down [ID]          stop everything, delete namespaces (idempotent)
#   lab.sh record FILE        up + tcpdump on the server veth + clients + down
#
# The lab is identified by LAB_ID (env, or the optional ID argument of
# clients/down). If unset, `up`/`record` use the script's PID. LAB_ID must be
# 1-11 chars of [A-Za-z0-9] so that interface names fit into 15 chars.
#
# Names (ID = $LAB_ID):
#   namespaces     wtsrv-ID (server)   wtcli-ID (client)
#   interfaces     wts-ID   (server side, 198.18.0.1/24, capture here)
#                  wtc-ID   (client side, address from DHCP)
#   state dir      ${LAB_STATE_DIR:-/tmp/wiretally-lab-ID}
#
# All addresses are in 198.18.0.0/15 (RFC 2544). Nothing is routed outside:
# the namespaces only contain lo + one end of the veth, no default route, and
# dnsmasq runs with --no-resolv --no-hosts (no upstream servers).
set -euo pipefail

SRV_IP=198.18.0.1
NET=198.18.0.0/24
DHCP_START=198.18.0.100
DHCP_END=198.18.0.150
CLIENT_HOSTNAME=lab-pc-01
USER_AGENT='wiretally-lab/1.0'
PYTHON=${LAB_PYTHON:-$(command -v /usr/bin/python3 || command -v python3)}

log() { echo "lab[$ID]: $*" >&2; }
die() { echo "lab: error: $*" >&2; exit 1; }

set_names() {
    ID=$1
    [[ $ID =~ ^[A-Za-z0-9]{1,11}$ ]] || die "LAB_ID '$ID' must be 1-11 chars [A-Za-z0-9]"
    SRV_NS=wtsrv-$ID
    CLI_NS=wtcli-$ID
    SRV_IF=wts-$ID
    CLI_IF=wtc-$ID
    STATE=${LAB_STATE_DIR:-/tmp/wiretally-lab-$ID}
}

in_srv() { ip netns exec "$SRV_NS" "$@"; }
in_cli() { ip netns exec "$CLI_NS" "$@"; }

ns_exists() { ip netns list | awk '{print $1}' | grep -qx -- "$1"; }

# Start a long-running process in the server namespace, detached from our
# stdio (so a caller reading our stdout through a pipe gets EOF) and in its
# own session (so Ctrl-C/SIGHUP of the caller do not hit it). Records its pid.
spawn_srv() {  # name cmd...
    local name=$1; shift
    setsid ip netns exec "$SRV_NS" "$@" </dev/null >"$STATE/$name.log" 2>&1 &
    echo $! >"$STATE/$name.pid"
}

wait_for() {  # tries(0.1s) description cmd...   (env WAIT_PIDFILE: fail fast if it dies)
    local n=$1 what=$2; shift 2
    for ((i = 0; i < n; i++)); do
        if "$@" >/dev/null 2>&1; then return 0; fi
        if [ -n "${WAIT_PIDFILE:-}" ] && ! kill -0 "$(cat "$WAIT_PIDFILE")" 2>/dev/null; then
            die "process for $what exited early"
        fi
        sleep 0.1
    done
    die "timed out waiting for $what"
}

tcp_open() { in_srv bash -c "exec 3<>/dev/tcp/$1/$2"; }
udp53_bound() { in_srv ss -Hlnu "sport = :53" | grep -q "$SRV_IP:53"; }

do_up() {
    if ns_exists "$SRV_NS" || ns_exists "$CLI_NS"; then
        die "namespaces for LAB_ID=$ID already exist (run: LAB_ID=$ID $0 down)"
    fi
    # clean up on any failure from here on
    trap 'rc=$?; if [ $rc -ne 0 ]; then log "up failed (rc=$rc), cleaning up"; tail -n 20 "$STATE"/*.log >&2 2>/dev/null; do_down; fi' EXIT

    mkdir -p "$STATE/www"
    chmod 755 "$STATE"

    ip netns add "$SRV_NS"
    ip netns add "$CLI_NS"
    for ns in "$SRV_NS" "$CLI_NS"; do
        ip netns exec "$ns" ip link set lo up
        # no IPv6 at all: keeps the capture free of ND/MLD/RS noise
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.all.disable_ipv6=1
        ip netns exec "$ns" sysctl -qw net.ipv6.conf.default.disable_ipv6=1
    done
    # create the pair directly inside the namespaces (never visible in the
    # root namespace, so no name clash with the host's interfaces)
    ip link add "$SRV_IF" netns "$SRV_NS" type veth peer name "$CLI_IF" netns "$CLI_NS"
    in_srv ip addr add "$SRV_IP/24" dev "$SRV_IF"
    in_srv ip link set "$SRV_IF" up
    in_cli ip link set "$CLI_IF" up

    # --- dnsmasq: DHCP + authoritative local DNS, no upstream, no /etc files
    : >"$STATE/dnsmasq.log"
    spawn_srv dnsmasq-run dnsmasq \
        --keep-in-foreground \
        --conf-file=/dev/null \
        --no-resolv --no-hosts --no-poll \
        --user=root --group=root \
        --pid-file="$STATE/dnsmasq.pid" \
        --log-facility="$STATE/dnsmasq.log" --log-queries --log-dhcp \
        --interface="$SRV_IF" --bind-interfaces \
        --listen-address="$SRV_IP" \
        --domain=lab.test --local=/lab.test/ \
        --dhcp-range="$DHCP_START,$DHCP_END,255.255.255.0,1h" \
        --dhcp-authoritative --no-ping \
        --dhcp-leasefile="$STATE/dnsmasq.leases" \
        --dhcp-option=option:router \
        --host-record="kms.lab.test,$SRV_IP" \
        --host-record="update.lab.test,$SRV_IP" \
        --host-record="secure.lab.test,$SRV_IP" \
        --host-record="www.msftconnecttest.com,$SRV_IP" \
        --host-record="lcs-cops.adobe.io,$SRV_IP" \
        --host-record="ccmdls.adobe.com,$SRV_IP" \
        --host-record="officecdn.microsoft.com,$SRV_IP" \
        --host-record="ols.officeapps.live.com,$SRV_IP" \
        --host-record="definitionupdates.microsoft.com,$SRV_IP" \
        --host-record="wdcp.microsoft.com,$SRV_IP" \
        --srv-host=_vlmcs._tcp.lab.test,kms.lab.test,1688 \
        --cname=www.lab.test,update.lab.test
    # dnsmasq writes its own pid file (same pid as ours with --keep-in-foreground)
    WAIT_PIDFILE=$STATE/dnsmasq-run.pid wait_for 50 "dnsmasq on $SRV_IP:53" udp53_bound

    # --- HTTP server
    cat >"$STATE/www/index.html" <<'EOF'
<html><body>wiretally lab update server</body></html>
EOF
    spawn_srv http "$PYTHON" -m http.server 80 --bind "$SRV_IP" --directory "$STATE/www"
    WAIT_PIDFILE=$STATE/http.pid wait_for 100 "http server on $SRV_IP:80" tcp_open "$SRV_IP" 80

    # --- HTTPS server (TLS 1.3 and 1.2, ALPN http/1.1) with a certificate made here
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
        -subj "/CN=secure.lab.test" -addext "subjectAltName=DNS:secure.lab.test" \
        -keyout "$STATE/tls.key" -out "$STATE/tls.crt" 2>/dev/null
    cat >"$STATE/https.py" <<'EOF'
import http.server, ssl, sys
state = sys.argv[1]
server = http.server.HTTPServer((sys.argv[2], 443), http.server.SimpleHTTPRequestHandler)
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(state + "/tls.crt", state + "/tls.key")
ctx.set_alpn_protocols(["http/1.1"])
server.socket = ctx.wrap_socket(server.socket, server_side=True)
server.serve_forever()
EOF
    spawn_srv https "$PYTHON" "$STATE/https.py" "$STATE" "$SRV_IP"
    WAIT_PIDFILE=$STATE/https.pid wait_for 100 "https server on $SRV_IP:443" tcp_open "$SRV_IP" 443
    # --- UDP 443 listener that reads and discards: no QUIC server answers, but no ICMP port
    # unreachable cuts a QUIC client's first flight short either.
    spawn_srv udp443 "$PYTHON" -c "import socket,sys
s=socket.socket(socket.AF_INET,socket.SOCK_DGRAM); s.bind((sys.argv[1],443))
while True: s.recv(65535)" "$SRV_IP"

    trap - EXIT
    log "up"
    cat <<EOF
LAB_ID=$ID
LAB_STATE_DIR=$STATE
LAB_SRV_NS=$SRV_NS
LAB_CLI_NS=$CLI_NS
LAB_SRV_IF=$SRV_IF
LAB_CLI_IF=$CLI_IF
LAB_SRV_IP=$SRV_IP
EOF
}

write_udhcpc_script() {
    cat >"$STATE/udhcpc.script" <<'EOF'
#!/bin/sh
# minimal udhcpc hook: configure the address, a route to the lab subnet only
case "$1" in
    deconfig)
        ip -4 addr flush dev "$interface"
        ip link set "$interface" up
        ;;
    bound|renew)
        ip -4 addr flush dev "$interface"
        ip addr add "$ip/${mask:-24}" dev "$interface"
        ip route replace 198.18.0.0/24 dev "$interface"
        echo "udhcpc: $1 $interface ip=$ip/${mask:-24} lease=$lease dns=$dns domain=$domain" >&2
        ;;
esac
exit 0
EOF
    chmod 755 "$STATE/udhcpc.script"
}

dig_check() {  # name type
    local out
    out=$(in_cli dig @"$SRV_IP" +tries=2 +time=2 +noall +answer "$1" "$2") || {
        log "dig $1 $2 failed"; return 1; }
    if [ -z "$out" ]; then log "dig $1 $2: empty answer"; return 1; fi
    echo "$out"
}

do_clients() {
    ns_exists "$CLI_NS" || die "client namespace $CLI_NS does not exist (run up first)"
    write_udhcpc_script
    log "udhcpc on $CLI_IF"
    in_cli udhcpc -f -q -n -t 5 -T 1 -A 1 -i "$CLI_IF" -V "MSFT 5.0" \
        -x "hostname:$CLIENT_HOSTNAME" -s "$STATE/udhcpc.script" </dev/null >&2 \
        || die "udhcpc failed"
    in_cli ip -4 -br addr show dev "$CLI_IF" >&2
    sleep 0.3
    dig_check kms.lab.test A
    sleep 0.3
    dig_check _vlmcs._tcp.lab.test SRV
    sleep 0.3
    dig_check www.lab.test A
    sleep 0.3
    log "curl http://update.lab.test/"
    in_cli curl -sS -f --noproxy '*' --max-time 5 -A "$USER_AGENT" \
        --resolve "update.lab.test:80:$SRV_IP" http://update.lab.test/ \
        || die "curl failed"
    sleep 0.3
    # What a Windows PC with Adobe Creative Cloud, Microsoft 365 Apps and Defender does by itself,
    # against the lab's servers: Creative Cloud's licensing and desktop-app update lookups, Office's
    # Click-to-Run CDN and licensing service, Defender's definition updates and cloud protection,
    # and Windows' connectivity probe (vendor names resolve to the lab server).
    dig_check lcs-cops.adobe.io A
    sleep 0.3
    dig_check ccmdls.adobe.com A
    sleep 0.3
    dig_check officecdn.microsoft.com A
    sleep 0.3
    dig_check ols.officeapps.live.com A
    sleep 0.3
    dig_check definitionupdates.microsoft.com A
    sleep 0.3
    dig_check wdcp.microsoft.com A
    sleep 0.3
    log "curl http://www.msftconnecttest.com/connecttest.txt"
    in_cli curl -sS --noproxy '*' --max-time 5 -A 'Microsoft NCSI' -o /dev/null \
        --resolve "www.msftconnecttest.com:80:$SRV_IP" http://www.msftconnecttest.com/connecttest.txt \
        || die "curl failed"
    sleep 0.3
    log "clients ok"
}

# What `slmgr /skms kms.03k.org` makes a PC do first: look the host up (signatures/flags lists
# it). The lab's dnsmasq answers from its own data only, so the answer is empty or refused.
do_public_kms() {
    ns_exists "$CLI_NS" || die "no lab with LAB_ID=$ID (run: $0 up)"
    log "dig kms.03k.org"
    in_cli dig @"$SRV_IP" +tries=1 +time=2 kms.03k.org A >/dev/null || true
    sleep 0.3
}

# Real TLS clients against the HTTPS server: curl (OpenSSL), Python's ssl module, and headless
# Chromium over TCP and forced onto QUIC (no QUIC server answers; its Initials are what counts).
# Needs an address: run `clients` first.
do_tls_clients() {
    ns_exists "$CLI_NS" || die "no lab with LAB_ID=$ID (run: $0 up)"
    in_cli curl -s -k --noproxy '*' --http1.1 -A 'wiretally-lab/1.0' -o /dev/null \
        --connect-to "curl.lab.test:443:$SRV_IP:443" https://curl.lab.test/ \
        || die "curl https failed"
    sleep 0.2
    in_cli "$PYTHON" - "$SRV_IP" <<'EOF' || die "python ssl client failed"
import socket, ssl, sys
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
ctx.set_alpn_protocols(["h2", "http/1.1"])
with socket.create_connection((sys.argv[1], 443), timeout=5) as raw:
    with ctx.wrap_socket(raw, server_hostname="python.lab.test") as tls:
        tls.sendall(b"GET / HTTP/1.1\r\nHost: python.lab.test\r\nConnection: close\r\n\r\n")
        tls.recv(100)
EOF
    sleep 0.2
    local chrome=(chromium --headless --no-sandbox --disable-gpu --disable-background-networking
        --disable-component-update --disable-sync --no-first-run --ignore-certificate-errors
        "--host-resolver-rules=MAP chrome.lab.test $SRV_IP, MAP quic.lab.test $SRV_IP")
    HOME=$STATE in_cli timeout 20 "${chrome[@]}" --user-data-dir="$STATE/chrome-tcp" \
        --dump-dom https://chrome.lab.test/ >/dev/null 2>"$STATE/chrome-tcp.log" || true
    HOME=$STATE in_cli timeout 8 "${chrome[@]}" --user-data-dir="$STATE/chrome-quic" \
        --enable-quic --origin-to-force-quic-on=quic.lab.test:443 \
        --dump-dom https://quic.lab.test/ >/dev/null 2>"$STATE/chrome-quic.log" || true
    log "tls clients done"
}

kill_pidfile() {  # file
    local f=$1 pid
    [ -f "$f" ] || return 0
    pid=$(cat "$f" 2>/dev/null || true)
    rm -f "$f"
    [[ $pid =~ ^[0-9]+$ ]] || return 0
    kill "$pid" 2>/dev/null || return 0
    for _ in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
}

do_down() {
    set +e
    if [ -d "$STATE" ]; then
        kill_pidfile "$STATE/tcpdump.pid"
        kill_pidfile "$STATE/http.pid"
        kill_pidfile "$STATE/dnsmasq.pid"
        kill_pidfile "$STATE/dnsmasq-run.pid"
    fi
    # anything else still living in our namespaces (e.g. a stray udhcpc)
    for ns in "$SRV_NS" "$CLI_NS"; do
        if ns_exists "$ns"; then
            for pid in $(ip netns pids "$ns" 2>/dev/null); do kill -9 "$pid" 2>/dev/null; done
            ip netns del "$ns" 2>/dev/null
        fi
    done
    if [ "${LAB_KEEP_STATE:-0}" != 1 ] && [ -z "${LAB_STATE_DIR:-}" ]; then
        rm -rf "$STATE"
    fi
    set -e
    log "down"
}

do_record() {
    local file=$1
    case $file in /*) ;; *) file=$PWD/$file ;; esac
    mkdir -p "$(dirname "$file")"
    rm -f "$file"
    do_up >/dev/null
    trap 'do_down' EXIT
    # -Z root: Debian's tcpdump otherwise drops to user "tcpdump" and may not
    # be able to write FILE. -U: packet-buffered output. --immediate-mode:
    # without it packets still sitting in the TPACKET_V3 ring block when
    # SIGINT arrives are lost (the tail of the run, i.e. the HTTP exchange).
    # Not via spawn_srv/setsid: we need `wait` on it.
    ip netns exec "$SRV_NS" tcpdump -i "$SRV_IF" -n -U --immediate-mode -Z root -w "$file" \
        </dev/null 2>"$STATE/tcpdump.log" &
    local tpid=$!
    echo "$tpid" >"$STATE/tcpdump.pid"
    wait_for 50 "tcpdump to start" grep -q "listening on" "$STATE/tcpdump.log"
    sleep 0.5
    local rc=0
    do_clients || rc=$?
    sleep 1
    kill -INT "$tpid" 2>/dev/null || true
    wait "$tpid" || true
    rm -f "$STATE/tcpdump.pid"
    cat "$STATE/tcpdump.log" >&2
    trap - EXIT
    do_down
    [ $rc -eq 0 ] || die "clients failed (rc=$rc)"
    log "recorded $file"
}

[ "$(id -u)" = 0 ] || die "must run as root"
cmd=${1:-}
case $cmd in
    up)      set_names "${LAB_ID:-$$}"; do_up ;;
    clients) set_names "${2:-${LAB_ID:?set LAB_ID or pass ID}}"; do_clients ;;
    tls-clients) set_names "${2:-${LAB_ID:?set LAB_ID or pass ID}}"; do_tls_clients ;;
    public-kms) set_names "${2:-${LAB_ID:?set LAB_ID or pass ID}}"; do_public_kms ;;
    down)    set_names "${2:-${LAB_ID:?set LAB_ID or pass ID}}"; do_down ;;
    record)  [ -n "${2:-}" ] || die "usage: $0 record FILE"
             set_names "${LAB_ID:-$$}"; do_record "$2" ;;
    *) echo "usage: $0 up | clients [ID] | tls-clients [ID] | down [ID] | record FILE" >&2; exit 2 ;;
esac
