// Package quant owns the value types of neuron state: the precision names a
// brain may ask for (fp32, int8) and the fixed-point arithmetic of the int8
// path (docs/semantics.md §4).
//
// # int8 as fixed-point arithmetic
//
// An int8 area stores each membrane potential as one signed byte q with one
// Quantizer per area: real = (q − Zero) · Scale. Areas get one of two kinds
// of quantizer: a lattice quantizer where one fits, else a rounding
// quantizer.
//
// # Lattice quantizers: exact sums and stores
//
// Most areas build their potential from a few fixed values: each synapse adds
// ±w·psp/N (weight, PSP, and the source's out-degree N, or 1), which is an
// exact rational with a small denominator. When every value an area's
// potential is made of is a multiple of one step g, sums and stores of them
// are exact in integers, and int8 then fires exactly when exact arithmetic
// does. The rule (Lattice, NewLatticeQuantizer; npu applies it per area):
//
//   - g is the greatest common divisor of the area's contributions, read as
//     the rationals ±w·psp/N (Lattice.Add; gcd(a/b, c/d) = gcd(ad, cb)/bd).
//     An area whose potential is stored (charge accumulation) also puts 1 on
//     the lattice when the threshold then still takes at most 127 steps, so
//     whole-number sensor inputs are exact as well.
//   - The lattice applies only when the stored potential stays a sum of those
//     values: no leak with accumulation (a leak multiplies the potential off
//     the lattice), no plastic weights and no potential-driven PSP (their
//     contributions vary), and, for a stored potential, a threshold (or
//     limit) at most 255 steps above 0. An area that stores nothing (no
//     accumulation) only needs its sums to fit in int32 fine units.
//   - The threshold and the limit are only compared, so they need not be
//     steps: ThresholdFine is the least fine value x with x·unit ≥ threshold,
//     exactly, and LimitFine the greatest with x·unit ≤ limit, so comparing an
//     exact sum with them is comparing its exact value with the float32
//     threshold.
//   - The spare codes (256 minus those from 0 up to the threshold or limit)
//     go below 0 when the area receives inhibition, since float32 goes on down
//     under repeated inhibition, and above the top when a neuron can hold a
//     potential at or above its threshold without firing (a threshold limit,
//     a consecutive-fire limit, excitability below 1); half each when both.
//     Otherwise an above-threshold potential fires at once and is reset, and
//     saturation there is harmless.
//
// With steps of one code, the stores of the update loop (below) are exact:
// with keep factor 1 the dither never carries a whole code. The comparisons
// follow exact arithmetic, not float32: where float32's own rounding decides
// (12 × f32(1/12) sums to 0.99999988, below a threshold of 1) float32 does
// not fire and int8 does. No exact scheme follows that; such sums are rare
// in genomes, whose fractions mostly sum exactly in float32 as well. Inputs
// the lattice does not know of — sensory points that are not multiples of g,
// a constant drive — are rounded to the fine unit like any other input.
//
// # Rounding quantizers
//
// Elsewhere (NewQuantizer) the quantizer is chosen from the area's
// threshold, threshold limit and input range so that
// the codes cover [bottom, top], the range where a potential's exact value can
// change whether the neuron fires, and the threshold is an exact code a power
// of two steps above zero: binary fractions of the threshold (t/2, t/4, …),
// common in genomes and input schedules, are then exact too, so inputs that
// sum to exactly the threshold fire as they do in float32. This costs at most
// half the finest resolution the range would allow. A
// potential above top is stored saturated; it still fires, since top is at
// least the threshold.
//
// Inside one burst, inputs are summed in a finer unit: Scale/2^FineBits (an
// int32 "fine" value, FineBits = 8). Synaptic contributions are converted to
// fine units once, when the synapse tables are built, so the per-burst loop is
// integer-only: saturating int32 additions, integer comparisons with the fine
// threshold and limit, and the leak as an integer multiply by a Q15 keep
// factor followed by a shift (StoreLeak, which first saturates the potential
// to the code range, as FEAGI saturates the stored potential before its
// leak). Only the potentials of neurons that fire are decoded to float32 for
// the output.
//
// # Rounding and error bounds
//
//   - Encode, EncodeFine: round half away from zero, then saturate. Inside the
//     range, |Decode(Encode(v)) − v| ≤ Scale/2 and |DecodeFine(EncodeFine(v)) − v|
//     ≤ Scale/512 (plus float32 rounding of the product).
//   - Store, StoreLeak (fine → code): stochastic rounding with a deterministic
//     dither d ∈ [0,1) step from Dither(global neuron id, burst), a
//     golden-ratio (Weyl) sequence over ids and bursts: code = ⌊x/256 + d⌋. The error is below one step (Scale), and its mean over
//     dithers is zero, so rounding does not bias the potential up or down over
//     many bursts (a fixed rounding rule drifts, e.g. a leak of 3 % of a small
//     potential rounds to 0 or to a whole step every burst). The dither is a
//     pure function of (id, burst), so results do not depend on where or with
//     how many workers a neuron runs.
//   - Keep factor: KeepQ15(keep) = round(keep · 2^15), error ≤ 2^−16 of the
//     potential per leak.
//
// Saturation: codes saturate at −128 and 127; fine sums saturate at the int32
// limits (SatAdd), so an overflowing burst input stays at the extreme of its
// sign instead of wrapping.
//
// # Concurrency
//
// Everything here is a pure function or an immutable value; safe for
// concurrent use. No I/O, no goroutines, no global state.
package quant
