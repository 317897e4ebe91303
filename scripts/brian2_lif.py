#!/usr/bin/env python3
"""The lif-random workload in Brian2, for side-by-side speed figures.

`node bench --workload lif-random` runs one area of N leaky neurons, each
with FANOUT excitatory synapses (weight 3) to targets drawn uniformly with
replacement; every step the first 5 % of the neurons receive 20.2 and the
others 0.2; threshold 20, 3 % leak per step, refractory 2 steps, reset to 0
(docs/semantics.md §7). This script builds the same
network in Brian2 (Debian's python3-brian) in its C++ standalone mode, its
fastest on a CPU, runs STEPS steps and prints one JSON line: microseconds
per step of the simulation loop alone (Brian2's own timer, without code
generation and compilation), spikes and synaptic events, so that both
engines are compared on the same work.

    python3 scripts/brian2_lif.py --neurons 50000 --threads 2

The random graph is not spikemesh's (another generator), so spike counts
differ by some percent; the work per step is the same kind and size.
"""
import argparse
import json
import math
import tempfile
import time


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--neurons", type=int, default=10000)
    ap.add_argument("--fanout", type=int, default=10)
    ap.add_argument("--steps", type=int, default=1000)
    ap.add_argument("--threads", type=int, default=1, help="OpenMP threads of the generated program")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()

    import numpy as np
    import brian2 as b2

    b2.seed(a.seed)
    out = tempfile.mkdtemp(prefix="spikemesh_brian2_")
    b2.set_device("cpp_standalone", directory=out, build_on_run=False)
    if a.threads > 1:
        b2.prefs.devices.cpp_standalone.openmp_threads = a.threads
    b2.defaultclock.dt = 1 * b2.ms

    n = a.neurons
    keep = 0.97  # 3 % leak per step
    tau_ms = -1.0 / math.log(keep)
    g = b2.NeuronGroup(
        n,
        f"dv/dt = -v / ({tau_ms} * ms) : 1 (unless refractory)\ninput : 1 (constant)",
        threshold="v >= 20",
        reset="v = 0",
        refractory=2 * b2.ms,
        method="exact",
    )
    g.input = np.where(np.arange(n) < n // 20, 20.2, 0.2)
    g.run_regularly("v += input", dt=1 * b2.ms)
    syn = b2.Synapses(g, g, on_pre="v_post += 3")
    rng = np.random.default_rng(a.seed)
    syn.connect(i=np.repeat(np.arange(n), a.fanout), j=rng.integers(0, n, size=n * a.fanout))
    spikes = b2.SpikeMonitor(g, record=False)

    wall = time.perf_counter()
    b2.run(a.steps * b2.ms)
    b2.device.build(directory=out, compile=True, run=True, debug=False)
    wall = time.perf_counter() - wall
    loop = getattr(b2.device, "_last_run_time", None) or wall
    count = int(spikes.num_spikes)
    print(json.dumps({
        "engine": "brian2-cpp_standalone", "neurons": n, "fanout": a.fanout, "steps": a.steps,
        "threads": a.threads, "spikes": count, "synaptic_events": count * a.fanout,
        "us_per_step": loop / a.steps * 1e6, "wall_s_with_build": wall,
    }))


if __name__ == "__main__":
    main()
