// Package npu owns the neural processing unit of spikemesh: one engine per
// cortical area that holds the area's neuron state and incoming synapse
// tables and runs one burst at a time, plus Runner, the single-process
// whole-brain reference the distributed runtime must equal bit for bit.
//
// # Terms
//
//   - Burst: one discrete time step (Burst, from 1). Spikes fired in burst t
//     are integrated in burst t+1 (one-burst synaptic delay).
//   - Area: a cortical area; areas have indices (0 death, 1 power, 2 fatigue,
//     then 3, 4, …) and each neuron a local index and a global id
//     FirstID+local.
//   - Candidate (FEAGI's fire candidate list, FCL): a neuron that received any
//     input this burst, even 0. Only candidates are updated: a neuron without
//     input keeps its potential, and its refractory countdown does not advance
//     (docs/semantics.md §2.3, §1.2).
//   - Connection: every synapse from one source area to one destination area,
//     compressed by source neuron (CSR) in creation order. The destination's
//     engine owns it and computes contributions from the source's fired list.
//   - PSP: post-synaptic potential; a contribution is ±weight·PSP, divided by
//     the source neuron's total out-degree unless the source is psp-uniform.
//
// # Semantics
//
// The update is FEAGI's canonical per-candidate path (docs/semantics.md §1,
// §2): refractory countdown, integrate, the threshold/limit window, the
// consecutive-fire limit and snooze, the excitability hash of (global id,
// burst) (ExcitabilityHash, bit for bit), reset to 0 on firing, leak only
// when not fired. Inputs are summed in the canonical order of
// docs/semantics.md §3.4 (drive, sensory points, power, then upstream connections by ascending source area,
// fired source neurons ascending, synapses in creation order) with float32
// rounding as docs/semantics.md §3.3; see Engine.Step. A contribution is
// f32(f32(±w·psp)/N); mp-driven sources use psp = clamp(round half away from
// zero(firing potential), 0, 255), taken from Input.Potentials (0 when
// missing). Plasticity (docs/semantics.md §3.5) is applied by the
// destination at the start of the following burst, which FEAGI's weights-visible-from-t+1 rule makes
// exactly equivalent (plasticity.go).
//
// Decisions the semantics leave to the engine:
//   - An area without charge accumulation integrates from 0 every burst, as
//     FEAGI (which zeroes every such neuron before the burst); its stored
//     potential is therefore never read, and the engine does not store it
//     (it stays 0; snapshots show 0).
//   - The unlimited consecutive-count encoding keeps FEAGI's edge: the count
//     saturates at 65535 and then blocks the neuron for one candidate burst.
//   - Step ignores what it cannot use rather than panic: points and fired
//     indices out of range, extra connections. NewEngine rejects bad plans
//     with an error wrapping ErrPlan; Restore and RestoreState reject bad
//     snapshots and states with ErrSnapshot, leaving the engine unchanged.
//
// int8 engines run the same rules in fixed point (package quant): one
// quantizer per area, threshold exact, codes covering [0 or the largest
// single inhibitory contribution below 0, max(threshold, limit)]; inputs
// summed in int32 fine units (1/256 code step), contributions converted once
// when the tables are built; comparisons in integers; leak as a Q15 multiply
// and shift; stores rounded with a deterministic dither of (id, burst).
//
// # Layout and concurrency
//
// NewEngine returns an *AreaEngine. Its state is a core shared by both
// precisions (parameters as the genome gives them, state words, candidate
// bitmap, shards, synapse tables as CSR, plasticity) and the arrays of its
// precision: neurons32 (float32 potentials, sums, thresholds, what each
// synapse adds) or neurons8 (the quantizer; threshold, limit and leak
// encoded; int8 codes; int32 fine sums and thresholds; what each synapse
// adds, in fine units). Per-burst code reaches the precision's arrays and
// loops through one interface (neuronArray), chosen when the engine is
// built, never by testing the precision; what still tests it computes
// table values or reads snapshot bytes, which name their precision. Loops
// whose arithmetic is the same in both are generic (addRows,
// addUniformRows, collect). Parameters are per area; per neuron the engine
// keeps the potential and a packed uint32 of refractory countdown (bits
// 16–23, or 16–31) and consecutive count (bits 0–15), and a threshold only
// when the area has a
// threshold gradient. fp32: float32 potential + state word, 8 B per neuron.
// int8: the code rides in the top byte of the state word whenever the
// countdown fits 8 bits (refractory + snooze ≤ 255), 4 B per neuron; else
// it is a separate byte, 5 B (HotBytesPerNeuron). The inputs of a burst go into a
// dense accumulator with a candidate bitmap (the touched list), processed in
// ascending index so the fired list comes out sorted. Neurons under a
// constant drive (Options.Drive) are candidates every burst and run in a
// dense loop without the bitmap; areas without a consecutive limit,
// excitability or gradient take a shorter "simple" loop (simple.go), and
// areas without charge accumulation one that evaluates the excitability hash
// incrementally (dense.go). The loops select outcomes with conditional moves
// instead of branches, since firing and refractoriness are close to random
// from one neuron to the next, and work in blocks of 64 neurons small enough
// for their values to stay in registers.
//
// # Which loop runs
//
// Every burst, each segment of an area's neurons (Options.Drive splits an
// area into driven and undriven runs, clipped to shards) takes the loops
// below, chosen by the area's parameters and the burst's input; whole blocks
// of 64 neurons go through a block loop, a segment's tail through the range
// or dense loop. A cell "a / b" reads: a with the AVX2 kernels (amd64, not
// purego), b without. "Simple" is isSimple: no consecutive-fire limit,
// excitability ≥ 0.999, charge accumulation, no threshold gradient, no
// neuron at count 65535, and for int8 a countdown within 8 bits
// (refractory + snooze ≤ 255) and bounded synaptic sums. TestLoopTable builds
// an area for every row and checks that exactly these loops ran.
//
//	| row | segment and area | fp32 | int8 |
//	| undriven | not driven: candidates from the bitmap, any area | bitmap | bitmap |
//	| simple | driven, simple, 0 < threshold, no limit, no inhibition, drive ≥ 0 | simple-kernel+simple-range / simple-block+simple-range | simple-kernel+simple-range / simple-block+simple-range |
//	| simple-limit | driven, simple, with a threshold limit (int8 blocks need none) | simple-kernel+simple-range / simple-block+simple-range | simple-range |
//	| simple-zero | driven, simple, threshold 0 (fp32 kernels need a positive one) | simple-block+simple-range | simple-kernel+simple-range / simple-block+simple-range |
//	| drive-only | driven, no accumulation, no gradient, consecutive limit, countdown ≤ 255, no input but the drive | drive-only+dense | drive-only+dense |
//	| no-acc | driven, no accumulation, no gradient, otherwise | no-acc+dense | no-acc+dense |
//	| dense | driven, any other area (here: accumulation with a consecutive limit) | dense | dense |
//
// On amd64 with AVX2 the 64-neuron blocks of the simple loop and of the
// drive-only limited loop (excitability hash included) run in assembly
// kernels (kernel_amd64.s): eight neurons per instruction, the same IEEE
// float32 and wrapping int32 operations as the Go loops in the same order,
// fired neurons appended by a permute-and-store per eight. They are a speed
// choice, never a semantic one: TestSimpleBlockI32, TestSimpleKernel8 and
// TestLimitedKernel compare them with the Go loops bit for bit (NaNs, infinities, wrapping
// products, dither included), and `-tags purego` (checked by make test)
// builds the engine without them. Tables whose rows each add a single value
// (one weight per rule, no plasticity: most genome connections) keep that
// value per source neuron, so spike delivery reads one value per fired source
// instead of one per synapse, with the same additions in the same order.
//
// An Engine is not safe for concurrent use: a runtime gives each one a single
// owner. With Options.Workers > 1 an engine splits its neurons into shards
// (contiguous, 512-neuron aligned; four per worker when the area has at most
// one incoming synapse per neuron) that Step hands out to a small pool of its
// own goroutines and the caller's; every synapse table is split by target
// shard, so each target's inputs are summed in the same order and the
// results are bit-identical for any worker count (tested). A table that
// holds every target of its connection (one worker) reads the connection's
// own offsets and targets in place instead of a copy (4 B per synapse and
// 4 B per source neuron less). In an area of at most 65,536 neurons (most
// genome areas) every table also keeps its targets in 16 bits, and spike
// delivery reads those: half the bytes per synaptic event for 2 B more per
// synapse (`lif-random` 50K about 15 % faster per burst). Such a table,
// when it adds one value per row and its rows differ in length, is also
// kept with every row padded to whole groups of 4 or 8 slots, the extra
// slots adding into sums past the area's neurons that nothing reads: the
// delivery loop then exits each row predictably instead of mispredicting
// once a row, which costs more than a short row's additions (`lif-random`
// 50K on 2 workers, whose shards' rows vary, about 25 % faster).
// TestTableLayouts checks every layout against the others bit for bit.
// One-value-per-row tables, padded or not, go through assembly row kernels
// on amd64 (rows_amd64.s; TestRowKernels compares them with addUniformRows
// and addPaddedRows bit for bit): the same additions in the same order,
// with the inner loop aligned, since the compiled loop's speed moved by a
// third with where the linker placed it, and its marking and unrolled
// variants reloaded spilled registers between additions.
// Step allocates nothing in steady state
// (tested with testing.AllocsPerRun).
package npu
