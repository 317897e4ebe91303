// Package pns is spikemesh's peripheral nervous system: the data that crosses
// the boundary between the brain and its sensors and motors, and the pure
// codecs for it. The NATS and protobuf adapter lives in pns/natsio so that
// this package imports only the standard library.
//
// # Terms
//
// XYZP (FEAGI's term) is a list of voxel points of one
// cortical area, as parallel arrays x, y, z (u32 voxel coordinates inside the
// area) and p (f32 potential): [Points]. A sensor frame carries the XYZP of one
// area for one burst; a motor frame carries the XYZP of the neurons an OPU
// area fired in one burst, with their firing-time potentials ([Frame]).
// FEAGI's byte container (version 4) with NeuronCategoricalXYZP structures
// (type 11) carries the XYZP of several areas keyed by 8-byte cortical IDs
// ([DecodeContainer], [AppendContainer]).
//
// # Area names and subject tokens
//
// A cortical ID is 8 bytes ([ID]); its text form is standard base64 with
// padding (12 characters, "X19fcG93ZXI="). Standard base64 may contain '+',
// '/' and '=', which are poor NATS subject characters, so the subject-safe
// form of an ID ([ID.Token]) is base64 URL encoding without padding (RFC 4648
// §5; 11 characters, '+' → '-', '/' → '_', '=' dropped: "X19fcG93ZXI").
// Wherever an area is named (subject token, SensorFrame.area, the command
// line), these are accepted: the canonical base64 ID, its token form, the ID
// as written in the genome (resolved by the runtime's resolver, normally
// cortical.Plan.AreaIndex), and the area's name ([Area.Name]) when no other
// area has the same name. [AreaToken] turns an ID into a subject token; a
// name that cannot be one (spaces, dots) travels in the frame, on the token
// [AnyToken].
//
// # API the runtime uses
//
//	areas := []pns.Area{{ID: pns.ID(a.ID), Geometry: pns.Geometry{Dims: a.Dims, PerVoxel: a.PerVoxel}, Name: a.Name}, ...} // plan index order
//	in := pns.NewIntake(areas, plan.AreaIndex, pns.DefaultLimits())
//	// NATS side (pns/natsio): b, err := natsio.SubscribeSensors(nc, subjects, in, natsio.WithLogger(log))
//	// each burst n, before the tick:
//	frames := in.Take(n) // []pns.AreaFrame, ascending by area; each {Area, Burst, Injections []Injection{Local, P}}
//	// after each burst, for each OPU area (natsio):
//	// pub.Publish(n, areaIndex, out.Fired, out.Potentials)
//
// [Intake] keeps the latest frame per area (docs/semantics.md §6.1), resolves its
// points to local neurons (highest-index neuron of the voxel, docs/semantics.md §5.6),
// drops points outside the area or with p = 0 or non-finite, and counts every
// frame: Received = Taken + Replaced + Pending + Malformed + Oversized +
// UnknownArea ([IntakeStats]). The slices Take returns stay valid until the
// next Take. A frame stamped with a burst (SensorFrame.burst > 0) is held
// until Take reaches that burst, unless a newer frame of the area replaces
// it; one stamped for a burst already past is injected at once and counted
// Late. FEAGI containers carry no stamp. The Offer*Receipt methods also say
// where an accepted frame went ([Receipt]: the area, the burst it lands in,
// the points kept and dropped); the NATS bridge sends that back to senders
// that ask.
//
// # Concurrency
//
// Codecs are pure functions. [Intake] is safe for concurrent use: any number
// of goroutines may Offer while one goroutine (the burst coordinator) calls
// Take once per burst. Nothing in this package logs or does I/O; rejected
// input comes back as errors wrapping [ErrMalformed], [ErrOversized] or
// [ErrUnknownArea], and as counters.
package pns
