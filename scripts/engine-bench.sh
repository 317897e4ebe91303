#!/usr/bin/env bash
# One area's engine side by side with Brian2 and with itself, on this
# machine: lif-random at each size, fp32 and int8, 1 and 2 threads, and the
# same network in Brian2 (scripts/brian2_lif.py, C++ standalone, 1 and 2
# OpenMP threads), in alternating rounds.
#
#   scripts/engine-bench.sh [ROUNDS] [SIZES]     # defaults: 3 rounds, "10000 50000"
#
# Prints every run, then per size the median µs per burst of each
# configuration, the 2-thread speedup of each precision, and each
# precision's best over Brian2's best. Needs python3-brian for the Brian2
# rows (skipped, with a note, without it).
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${1:-3}
sizes=${2:-"10000 50000"}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
go build -o "$work/node" ./cmd/node
brian=1
/usr/bin/python3 -c 'import brian2' 2>/dev/null || { brian=0; echo "# no python3-brian: Brian2 rows skipped" >&2; }
log=$work/runs.txt
for n in $sizes; do
	for r in $(seq "$rounds"); do
		for prec in fp32 int8; do
			for t in 1 2; do
				us=$("$work/node" bench --workload lif-random --neurons "$n" --precision "$prec" --threads "$t" |
					python3 -c 'import json,sys; print(json.loads(sys.stdin.read().splitlines()[-1])["us_per_burst"])')
				echo "$n spikemesh-$prec-$t $us" | tee -a "$log"
			done
		done
		if [ "$brian" = 1 ]; then
			for t in 1 2; do
				us=$(/usr/bin/python3 scripts/brian2_lif.py --neurons "$n" --threads "$t" 2>/dev/null |
					python3 -c 'import json,sys; print(json.loads(sys.stdin.read().splitlines()[-1])["us_per_step"])')
				echo "$n brian2-$t $us" | tee -a "$log"
			done
		fi
	done
done
python3 - "$log" <<'EOF'
import statistics, sys, collections
runs = collections.defaultdict(list)
for line in open(sys.argv[1]):
    n, what, us = line.split()
    runs[(int(n), what)].append(float(us))
for n in sorted({n for n, _ in runs}):
    med = {what: statistics.median(v) for (m, what), v in runs.items() if m == n}
    print(f"neurons {n}: " + ", ".join(f"{w} {med[w]:.1f} µs" for w in sorted(med)))
    b = [med[w] for w in med if w.startswith("brian2")]
    for prec in ("fp32", "int8"):
        one, two = med.get(f"spikemesh-{prec}-1"), med.get(f"spikemesh-{prec}-2")
        line = f"  {prec}: 2 threads {one / two:.2f}x as fast as 1"
        if b:
            line += f"; best {min(one, two):.1f} µs = {min(one, two) / min(b):.3f}x Brian2's best {min(b):.1f} µs"
        print(line)
EOF
