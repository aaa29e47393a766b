#!/usr/bin/env bash
# Throughput benchmark: wiretally against nDPI's ndpiReader and a bare libpcap read loop, on the
# same synthetic campus-uplink capture, in the same run.
# Then the hello-heavy mixes (bench-data/tls-heavy.pcap, bench-data/quic-heavy.pcap): pipeline
# packets/s with and without fingerprinting, hello parse/fingerprint rates, allocations per hello,
# and an event check of the real CLI (`wiretally analyze FILE --events -`).
#
#   scripts/bench.sh            # RUNS=3 by default: every external timing is the best of RUNS
#   RUNS=5 scripts/bench.sh
#
# Steps: build the CLI and the bench in release mode; run `cargo bench --bench pipeline`, which
# generates bench-data/campus.pcap if missing, times the bare read loop and the pipeline in-process,
# counts allocations on the fast path and prints memory figures; then time, on the same file,
# `ndpiReader -q -i FILE` and the real `wiretally analyze FILE --workers N --events FILE` under
# /usr/bin/time -v (wall time from the shell clock, peak RSS from time -v); print one table.
set -euo pipefail

cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
DATA=bench-data
PCAP=$DATA/campus.pcap
LOG=$DATA/bench-logs
mkdir -p "$LOG"

install_if_missing() { # command, Debian package
    if ! command -v "$1" >/dev/null 2>&1; then
        if [ "$(id -u)" = 0 ]; then
            apt-get install -y "$2" >/dev/null
        else
            echo "bench.sh: $1 is missing; install the Debian package $2" >&2
            exit 1
        fi
    fi
}
install_if_missing ndpiReader libndpi-bin
if [ ! -x /usr/bin/time ]; then install_if_missing /usr/bin/time time; fi

cargo build --release --bin wiretally
cargo bench --bench pipeline --no-run
cargo bench --bench pipeline -- --runs "$RUNS" | tee "$LOG/inprocess.txt"

# Packets and wire bytes, as the bare read loop counted them (first row of the in-process results).
read -r PACKETS BYTES < <(awk -F'\t' 'NR == 1 { print $3, $4 }' "$DATA/bench-inprocess.tsv")

now_ns() { date +%s%N; }

# time_best LABEL CMD...: runs CMD RUNS times; appends "LABEL<TAB>best secs<TAB>its peak RSS MiB".
RESULTS=$LOG/external.tsv
: > "$RESULTS"
time_best() {
    local label=$1 slug best="" rss="" i t0 t1 secs kib
    shift
    slug=$(echo "$label" | tr -c 'a-zA-Z0-9' '_')
    for i in $(seq "$RUNS"); do
        t0=$(now_ns)
        /usr/bin/time -v -o "$LOG/$slug.time.$i" "$@" >"$LOG/$slug.out.$i" 2>"$LOG/$slug.err.$i"
        t1=$(now_ns)
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        kib=$(awk -F': ' '/Maximum resident set size/ { print $2 }' "$LOG/$slug.time.$i")
        if [ -z "$best" ] || awk -v s="$secs" -v b="$best" 'BEGIN { exit !(s < b) }'; then
            best=$secs
            rss=$(awk -v k="$kib" 'BEGIN { printf "%.1f", k / 1024 }')
        fi
    done
    printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$best" "$PACKETS" "$BYTES" "$rss" >> "$RESULTS"
}

# Warm the page cache for the external tools too.
cat "$PCAP" > /dev/null

time_best "ndpiReader -q -i" ndpiReader -q -i "$PCAP"
time_best "wiretally analyze --workers 1" \
    target/release/wiretally analyze "$PCAP" --workers 1 --events "$DATA/events.ndjson"
cp "$DATA/events.ndjson" "$DATA/events-w1.ndjson"
time_best "wiretally analyze --workers 2" \
    target/release/wiretally analyze "$PCAP" --workers 2 --events "$DATA/events.ndjson"

echo
echo "Same file, same run: $PCAP, $PACKETS packets, $BYTES bytes on the wire; best of $RUNS runs."
{
    grep -v '^#' "$DATA/bench-inprocess.tsv"
    cat "$RESULTS"
} | awk -F'\t' '
    BEGIN { printf "%-46s %8s %12s %8s %14s\n", "tool", "time s", "packets/s", "Gbit/s", "peak RSS MiB" }
    {
        printf "%-46s %8.3f %12.0f %8.2f %14s\n", $1, $2, $3 / $2, $4 * 8 / $2 / 1e9, $5
        t[$1] = $2
    }
    END {
        bare = t["bare libpcap read loop (in-process)"]
        ndpi = t["ndpiReader -q -i"]
        w1 = t["wiretally analyze --workers 1"]
        w2 = t["wiretally analyze --workers 2"]
        print ""
        printf "Target: 1 worker >= 2x ndpiReader packet rate:  %.2fx  %s\n", ndpi / w1, (ndpi / w1 >= 2 ? "met" : "MISSED")
        printf "Target: 1 worker within 1.5x of bare read time: %.2fx  %s\n", w1 / bare, (w1 / bare <= 1.5 ? "met" : "MISSED")
        printf "Target: 2 workers faster than 1:                %.3f s vs %.3f s  %s\n", w2, w1, (w2 < w1 ? "met" : "MISSED")
    }'

if cmp -s "$DATA/events-w1.ndjson" "$DATA/events.ndjson"; then
    echo "Event logs of 1 and 2 workers are byte-identical ($(wc -l < "$DATA/events.ndjson") events)."
else
    echo "Event logs of 1 and 2 workers DIFFER." >&2
fi
awk -F'\t' '/^#memory/ {
    for (i = 2; i <= NF; i++) { split($i, kv, "="); m[kv[1]] = kv[2] }
    printf "Fast-path allocations for 100,000 mid-flow packets: %s. Heap per tracked flow: %s B (entry %s B); inventory heap per host: %s B.\n",
        m["steady_allocs"], m["heap_per_flow"], m["flow_entry"], m["inventory_per_host"]
}' "$DATA/bench-inprocess.tsv"

# Hello-heavy mixes: the in-process figures (bench-data/bench-mixes.tsv), then the real CLI on the
# same files: one event per connection (checked from `--events -` on stdout) and its time.
echo
echo "Hello-heavy mixes (in-process, 1 worker; hello timings best of max(RUNS, 5) passes over every hello of the file):"
awk -F'\t' '
    BEGIN {
        printf "%-16s %8s %6s %6s %8s %11s %11s %9s %9s %9s %7s %8s\n", "mix", "packets", "conns", "hello%", "time s",
            "pkts/s", "pkts/s noFP", "parse/s", "parse+FP/s", "FP ns", "FP %", "allocs/h"
    }
    !/^#/ {
        printf "%-16s %8d %6d %5.0f%% %8.3f %11.0f %11.0f %9.0f %9.0f %9.0f %6.1f%% %8.2f\n", $1, $2, $4, 100 * $5 / $2, $9,
            $10, $11, 1e9 / $12, 1e9 / $13, $14, 100 * $16, $17
    }' "$DATA/bench-mixes.tsv"

mix_failed=0
for mix in tls quic; do
    f=$DATA/$mix-heavy.pcap
    expect=$(awk -F'\t' -v m="$mix-heavy.pcap" '$1 == m { print $4 }' "$DATA/bench-mixes.tsv")
    cat "$f" > /dev/null
    best=""
    for i in $(seq "$RUNS"); do
        t0=$(now_ns)
        target/release/wiretally analyze "$f" --workers 1 --events - > "$LOG/mix-$mix.ndjson" 2> "$LOG/mix-$mix.err"
        t1=$(now_ns)
        secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.3f", (b - a) / 1e9 }')
        if [ -z "$best" ] || awk -v s="$secs" -v b="$best" 'BEGIN { exit !(s < b) }'; then best=$secs; fi
    done
    # Events of the mix's type, distinct client endpoints among them, and those carrying an SNI.
    read -r events conns with_sni < <(awk -v t="\"event_type\":\"$mix\"" -v k="\"$mix\":{" '
        index($0, t) {
            n++
            match($0, /"src_ip":"[^"]*","src_port":[0-9]+/); c[substr($0, RSTART, RLENGTH)] = 1
            if (index($0, k) && match($0, /"sni":"[^"]+"/)) s++
        }
        END { printf "%d %d %d\n", n, length(c), s }' "$LOG/mix-$mix.ndjson")
    status=OK
    if [ "$events" != "$expect" ] || [ "$conns" != "$expect" ] || [ "$with_sni" != "$expect" ]; then status=MISMATCH; mix_failed=1; fi
    packets=$(awk -F'\t' -v m="$mix-heavy.pcap" '$1 == m { print $2 }' "$DATA/bench-mixes.tsv")
    printf "wiretally analyze %s --workers 1 --events -: %s s = %.0f packets/s; %s %s events from %s distinct clients (%s with SNI) for %s connections: %s\n" \
        "$f" "$best" "$(awk -v p="$packets" -v s="$best" 'BEGIN { print p / s }')" "$events" "$mix" "$conns" "$with_sni" "$expect" "$status"
done
if [ "$mix_failed" = 1 ]; then
    echo "A mix produced a different number of events than connections (logs in $LOG/mix-*.ndjson)." >&2
fi
awk -F'\t' '!/^#/ {
    printf "Allocations by ja3_string + ja3_hash + ja4 per hello, %s: %s (claim: at most 3, the strings emitted).\n", $1, $17
}' "$DATA/bench-mixes.tsv"
