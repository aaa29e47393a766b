#!/usr/bin/env bash
# Live loss benchmark: replays the campus capture (bench-data/campus.pcap, 1.18 M packets) with
# `tcpreplay --topspeed` onto one end of a veth pair, from one network namespace, while a tool in
# a second namespace captures the other end. Each tool gets its own replays:
#   - wiretally run --workers 2 (the daemon as deployed: event log, metrics file);
#   - tcpdump -w /dev/null (libpcap with nothing behind it: the floor);
#   - ndpiReader -i (nDPI 4.2, Debian's libndpi-bin; it prints no drop counts, so its loss is the
#     packets sent that it never counted).
# For each run it prints packets sent (tcpreplay's count), captured, lost (libpcap's kernel and
# interface drops, plus any packets sent that the tool never saw) and the tool's peak RSS.
#
#   benches/live-loss.sh            # RUNS=3 replays per tool; prints every run and the best
#   RUNS=1 BUFFER_MIB=256 benches/live-loss.sh
#
# Needs root (namespaces, capture). Generates the capture with `cargo bench` if missing. Nothing
# leaves the two namespaces it creates and deletes.
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
BUFFER_MIB=${BUFFER_MIB:-64}
PCAP=bench-data/campus.pcap
LOG=bench-data/live-loss
TX=wtbench-tx
RX=wtbench-rx
mkdir -p "$LOG"

[ "$(id -u)" = 0 ] || { echo "live-loss.sh: needs root (namespaces, live capture)" >&2; exit 1; }
for pair in tcpreplay:tcpreplay tcpdump:tcpdump ndpiReader:libndpi-bin /usr/bin/time:time; do
    command -v "${pair%%:*}" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${pair#*:}" >/dev/null
done
cargo build --release --bin wiretally
[ -f "$PCAP" ] || cargo bench --bench pipeline -- --runs 1 --skip-mixes >/dev/null

cleanup() {
    ip netns del "$TX" 2>/dev/null || true
    ip netns del "$RX" 2>/dev/null || true
}
trap cleanup EXIT
cleanup
ip netns add "$TX"
ip netns add "$RX"
ip link add wtb-tx netns "$TX" type veth peer name wtb-rx netns "$RX"
ip -n "$TX" link set wtb-tx up
ip -n "$RX" link set wtb-rx up
ip -n "$RX" link set lo up

# replay: runs tcpreplay once; prints packets sent and the replay's rates.
replay() {
    ip netns exec "$TX" tcpreplay --topspeed -i wtb-tx "$PCAP" >"$LOG/replay.txt" 2>&1
    sent=$(awk '/Actual:/ { print $2; exit }' "$LOG/replay.txt")
    rate=$(awk -F'[(),]' '/Rated:/ { print $0; exit }' "$LOG/replay.txt" | sed 's/^ *Rated: *//')
}

# peak_rss FILE: peak RSS in MiB from /usr/bin/time -v output.
peak_rss() { awk -F': ' '/Maximum resident set size/ { printf "%.1f", $2 / 1024 }' "$1"; }

# wait_for FILE TEXT: waits (10 s at most) until FILE holds TEXT.
wait_for() {
    for _ in $(seq 100); do grep -q "$2" "$1" 2>/dev/null && return 0; sleep 0.1; done
    echo "live-loss.sh: no '$2' in $1" >&2; cat "$1" >&2; exit 1
}

RESULTS=$LOG/results.tsv
: >"$RESULTS"
record() { # tool run sent captured kernel_drops interface_drops rss
    local lost=$(( $3 - $4 ))
    [ "$lost" -ge 0 ] || lost=0
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$4" "$lost" "$5" "$6" "$7" >>"$RESULTS"
    printf '%-10s run %s: sent %s, captured %s, lost %s (%s %%; kernel drops %s, interface drops %s), peak RSS %s MiB; replay %s\n' \
        "$1" "$2" "$3" "$4" "$lost" "$(awk -v l="$lost" -v s="$3" 'BEGIN { printf "%.3f", 100 * l / s }')" "$5" "$6" "$7" "$rate"
}

for run in $(seq "$RUNS"); do
    # wiretally: the daemon with two workers, an event log and a metrics file.
    rm -f "$LOG/events.ndjson" "$LOG/wiretally.prom"
    ip netns exec "$RX" /usr/bin/time -v -o "$LOG/wiretally.time" target/release/wiretally run \
        -i wtb-rx --workers 2 --buffer-mib "$BUFFER_MIB" --home-net 10.20.0.0/21 \
        --events "$LOG/events.ndjson" --metrics-file "$LOG/wiretally.prom" --sensor-name bench \
        2>"$LOG/wiretally.err" &
    pid=$!
    wait_for "$LOG/wiretally.err" "capturing on"
    replay
    sleep 2
    pkill -TERM -x wiretally || true
    wait "$pid" || true
    stats=$(grep "^libpcap: received" "$LOG/wiretally.err")
    read -r kdrop idrop < <(echo "$stats" | awk -F'[ ,]+' '{ print $7, $11 }')
    read_pkts=$(awk '/^packets / { print $2; exit }' "$LOG/wiretally.err")
    record wiretally "$run" "$sent" "$read_pkts" "$kdrop" "$idrop" "$(peak_rss "$LOG/wiretally.time")"

    # tcpdump writing nothing: what libpcap alone keeps up with.
    ip netns exec "$RX" /usr/bin/time -v -o "$LOG/tcpdump.time" tcpdump -i wtb-rx -B $((BUFFER_MIB * 1024)) \
        -w /dev/null 2>"$LOG/tcpdump.err" &
    pid=$!
    wait_for "$LOG/tcpdump.err" "listening on"
    replay
    sleep 2
    pkill -INT -x tcpdump || true
    wait "$pid" || true
    got=$(awk '/packets captured/ { print $1 }' "$LOG/tcpdump.err")
    kdrop=$(awk '/packets dropped by kernel/ { print $1 }' "$LOG/tcpdump.err")
    idrop=$(awk '/packets dropped by interface/ { print $1 }' "$LOG/tcpdump.err")
    record tcpdump "$run" "$sent" "$got" "$kdrop" "${idrop:-0}" "$(peak_rss "$LOG/tcpdump.time")"

    # ndpiReader: nDPI's own capture and dissection of the same replay.
    ip netns exec "$RX" /usr/bin/time -v -o "$LOG/ndpi.time" ndpiReader -i wtb-rx \
        >"$LOG/ndpi.out" 2>&1 &
    pid=$!
    sleep 2
    replay
    sleep 2
    pkill -INT -x ndpiReader || true
    wait "$pid" || true
    # "IP packets: N of M packets total": M is every packet ndpiReader got from libpcap; it
    # prints no drop counts, so its loss is what was sent and never reached it.
    got=$(grep -m1 -oE 'of [0-9]+ +packets total' "$LOG/ndpi.out" | grep -oE '[0-9]+' || echo 0)
    record ndpiReader "$run" "$sent" "$got" "?" "?" "$(peak_rss "$LOG/ndpi.time")"
done

echo
echo "best run per tool (fewest lost):"
sort -t$'\t' -k1,1 -k5,5n "$RESULTS" | awk -F'\t' '!seen[$1]++ {
    printf "  %-10s sent %s, captured %s, lost %s (%.3f %%), peak RSS %s MiB\n", $1, $3, $4, $5, 100 * $5 / $3, $8 }'
