// Package quant owns the value types of neuron state: the precision names a
// brain may ask for (fp32, int8) and the fixed-point arithmetic of the int8
// path (SPEC 7, 8).
//
// # int8 as fixed-point arithmetic
//
// An int8 area stores each membrane potential as one signed byte q with one
// Quantizer per area: real = (q − Zero) · Scale. The quantizer is chosen from
// the area's threshold, threshold limit and input range (NewQuantizer) so that
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
// to the code range, as FEAGI saturates the stored potential before its leak). Only the potentials of neurons that
// fire are decoded to float32 for the output.
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
