package npu

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"hash/crc32"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/spikemesh/spikemesh/quant"
)

// mustSave is SaveState that fails the test on error.
func mustSave(t testing.TB, e Engine) []byte {
	t.Helper()
	s, err := e.(StateSaver).SaveState()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func mustSnapshot(t testing.TB, e Engine) []byte {
	t.Helper()
	s, err := e.Snapshot()
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// plasticChanges counts the synapses of plastic connections whose weight
// differs from the plan's.
func plasticChanges(plan, now []*Connection) int {
	n := 0
	for k, c := range plan {
		if c.Plasticity == nil {
			continue
		}
		for j := range c.Weight {
			if c.Weight[j] != now[k].Weight[j] {
				n++
			}
		}
	}
	return n
}

// Save the state of every area after 20 bursts, restore it into a brain
// grown from the same plan (with another worker count, after a different
// history of its own), and both continue bit for bit: outputs every burst,
// and complete snapshots (plastic weights and ledgers included) right after
// the restore and at the end.
func TestStateRoundTrip(t *testing.T) {
	changed, spikes := 0, 0
	defer func() {
		if changed == 0 || spikes < 1000 {
			t.Errorf("weak test: %d plastic weight changes saved, %d spikes after the restore", changed, spikes)
		}
	}()
	for _, prec := range precisions {
		for _, wa := range []int{1, 2} {
			for _, wb := range []int{1, 2} {
				for seed := uint64(1); seed <= 8; seed++ {
					name := fmt.Sprintf("%v/save-workers=%d/restore-workers=%d/seed=%d", prec, wa, wb, seed)
					areas, conns := randomBrain(seed, seed <= 2)
					ca := cloneConns(conns)
					a := mustRunner(t, areas, ca, prec, RunnerOptions{Workers: wa})
					b := mustRunner(t, areas, cloneConns(conns), prec, RunnerOptions{Workers: wb})
					rng := rand.New(rand.NewPCG(seed, 5))
					for range 20 {
						a.Step(randomPoints(rng, areas))
					}
					for range seed % 3 * 4 { // b's own history, overwritten by the restore
						b.Step(randomPoints(rng, areas))
					}
					changed += plasticChanges(conns, ca)
					for i, e := range a.Engines() {
						if err := b.Engine(i).(StateSaver).RestoreState(mustSave(t, e)); err != nil {
							t.Fatalf("%s area %d: %v", name, i, err)
						}
						if !bytes.Equal(mustSnapshot(t, e), mustSnapshot(t, b.Engine(i))) {
							t.Fatalf("%s area %d: snapshot after RestoreState differs", name, i)
						}
						// The runner feeds each area's last output downstream:
						// take it from the restored engine.
						out := b.Engine(i).(*AreaEngine).out
						b.prev[i].Fired = append(b.prev[i].Fired[:0], out.Fired...)
						b.prev[i].Potentials = append(b.prev[i].Potentials[:0], out.Potentials...)
					}
					b.burst = a.burst
					for k := 0; k < 30; k++ {
						pts := randomPoints(rng, areas)
						oa, ob := a.Step(pts), b.Step(pts)
						for i := range oa {
							spikes += len(oa[i].Fired)
							if !slices.Equal(oa[i].Fired, ob[i].Fired) || !slices.Equal(bits32(oa[i].Potentials), bits32(ob[i].Potentials)) {
								t.Fatalf("%s burst %d area %d: restored run diverges", name, a.burst, i)
							}
						}
					}
					for i, e := range a.Engines() {
						if !bytes.Equal(mustSnapshot(t, e), mustSnapshot(t, b.Engine(i))) {
							t.Fatalf("%s area %d: snapshots differ after 30 more bursts", name, i)
						}
					}
				}
			}
		}
	}
}

// lifWorkload builds the lif-random workload, optionally with its recurrent
// connection plastic.
func lifWorkload(t testing.TB, n, fanout int, prec quant.Precision, workers int, plastic bool) *Workload {
	t.Helper()
	spec, conn, opts, err := LIFRandom(n, fanout, 1)
	if err != nil {
		t.Fatal(err)
	}
	if plastic {
		conn.Plasticity = &Plasticity{Window: 2, LTP: 3, LTD: 1}
	}
	opts.Workers = workers
	e := mustEngine(t, spec, prec, []*Connection{conn}, opts)
	w := &Workload{Name: "lif-random", Engine: e, Synapses: conn.Synapses(), recur: true}
	w.in.Fired = make([][]uint32, 1)
	return w
}

// A single recurrent area (with a drive, several shards, and optionally a
// plastic connection) restores bit for bit whatever the worker counts.
func TestStateRoundTripWorkload(t *testing.T) {
	for _, prec := range precisions {
		for _, plastic := range []bool{false, true} {
			for _, wa := range []int{1, 2} {
				for _, wb := range []int{1, 2} {
					name := fmt.Sprintf("%v/plastic=%v/save-workers=%d/restore-workers=%d", prec, plastic, wa, wb)
					a := lifWorkload(t, 3000, 20, prec, wa, plastic)
					b := lifWorkload(t, 3000, 20, prec, wb, plastic)
					plan := slices.Clone(b.Engine.incoming[0].Weight)
					for range 25 {
						a.Step()
					}
					for range 3 {
						b.Step()
					}
					changed := 0
					for j, w := range a.Engine.incoming[0].Weight {
						if w != plan[j] {
							changed++
						}
					}
					if plastic != (changed > 0) {
						t.Fatalf("%s: %d weights changed by plasticity", name, changed)
					}
					state := mustSave(t, a.Engine)
					if err := b.Engine.RestoreState(state); err != nil {
						t.Fatalf("%s: %v", name, err)
					}
					b.burst = a.burst
					b.fired = append(b.fired[:0], b.Engine.out.Fired...)
					if !slices.Equal(b.fired, a.fired) {
						t.Fatalf("%s: last output not restored", name)
					}
					spikes := 0
					for range 20 {
						oa, ob := a.Step(), b.Step()
						spikes += len(oa.Fired)
						if !slices.Equal(oa.Fired, ob.Fired) || !slices.Equal(bits32(oa.Potentials), bits32(ob.Potentials)) {
							t.Fatalf("%s burst %d: restored run diverges", name, a.burst)
						}
					}
					if spikes < 100 {
						t.Fatalf("%s: weak test, %d spikes", name, spikes)
					}
					if !bytes.Equal(mustSnapshot(t, a.Engine), mustSnapshot(t, b.Engine)) {
						t.Fatalf("%s: snapshots differ", name)
					}
					// The state of an engine is the same bytes whatever its worker count.
					if !bytes.Equal(mustSave(t, a.Engine), mustSave(t, b.Engine)) {
						t.Fatalf("%s: states differ", name)
					}
				}
			}
		}
	}
}

// stateSize is the size of the state of an area of n neurons without
// plasticity, by the format in state.go.
func stateSize(prec quant.Precision, n, fired, conns int) int {
	const spec = 8 + 3*4 + 4 + 4 + 4 + 3*4 + 4 + 4 + 3*2 + 4 + 3 + 1
	header := len(stateMagic) + 2 + 1 + spec + 5 + 8 + 8 + 4
	code := 4
	if prec == quant.INT8 {
		code = 1
	}
	return header + n*(code+4) + 4 + 8*fired + 4 + 17*conns + 4
}

// Without plasticity the state's size depends on the neurons and the last
// output only, not on the synapses.
func TestStateSize(t *testing.T) {
	const n = 6000
	for _, prec := range precisions {
		var bare []int
		for _, fanout := range []int{1, 50} {
			w := lifWorkload(t, n, fanout, prec, 1, false)
			for i := 0; i < 12 || len(w.Engine.out.Fired) == 0 && i < 30; i++ {
				w.Step()
			}
			k := len(w.Engine.out.Fired)
			if k == 0 {
				t.Fatalf("%v fanout %d: nothing fired", prec, fanout)
			}
			s := mustSave(t, w.Engine)
			if want := stateSize(prec, n, k, 1); len(s) != want {
				t.Errorf("%v fanout %d: state of %d bytes, want %d", prec, fanout, len(s), want)
			}
			if snap := mustSnapshot(t, w.Engine); fanout == 50 && len(snap) < 10*len(s) {
				t.Errorf("%v fanout %d: snapshot %d bytes, state %d: the state should be far smaller", prec, fanout, len(snap), len(s))
			}
			bare = append(bare, len(s)-8*k)
		}
		if bare[0] != bare[1] {
			t.Errorf("%v: state without the last output is %d bytes for fanout 1, %d for fanout 50", prec, bare[0], bare[1])
		}
	}
}

// withCRC replaces the checksum of a state after editing its body.
func withCRC(s []byte) []byte {
	s = slices.Clone(s)
	body := s[:len(s)-4]
	binary.LittleEndian.PutUint32(s[len(s)-4:], crc32.Checksum(body, castagnoli))
	return s
}

// rejects checks that RestoreState refuses data with ErrSnapshot, with a
// message containing want, and leaves the engine as it was.
func rejects(t *testing.T, what string, e *AreaEngine, data []byte, want string) {
	t.Helper()
	before := mustSnapshot(t, e)
	burst := e.LastBurst()
	out := slices.Clone(e.out.Fired)
	err := e.RestoreState(data)
	if !errors.Is(err, ErrSnapshot) {
		t.Errorf("%s: error %v, want ErrSnapshot", what, err)
		return
	}
	if !strings.Contains(err.Error(), want) {
		t.Errorf("%s: error %q does not name %q", what, err, want)
	}
	if !bytes.Equal(before, mustSnapshot(t, e)) || e.LastBurst() != burst || !slices.Equal(out, e.out.Fired) {
		t.Errorf("%s: the engine changed", what)
	}
}

func TestStateBad(t *testing.T) {
	for _, prec := range precisions {
		for _, plastic := range []bool{false, true} {
			name := fmt.Sprintf("%v/plastic=%v", prec, plastic)
			e := lifWorkload(t, 1200, 10, prec, 2, plastic)
			for range 10 {
				e.Step()
			}
			state := mustSave(t, e.Engine)
			if len(e.Engine.out.Fired) == 0 {
				t.Fatalf("%s: nothing fired", name)
			}
			for range 5 { // the engine moves on: "unchanged" is not the saved state
				e.Step()
			}
			for _, n := range []int{0, 1, 10, len(state) / 2, len(state) - 1} {
				rejects(t, fmt.Sprintf("%s: truncated to %d", name, n), e.Engine, state[:n], "")
			}
			for i := 0; i < len(state); i += 97 {
				bad := slices.Clone(state)
				bad[i] ^= 0x10
				rejects(t, fmt.Sprintf("%s: byte %d flipped", name, i), e.Engine, bad, "")
			}
			rejects(t, name+": trailing byte", e.Engine, withCRC(append(slices.Clone(state[:len(state)-4]), 0, 0, 0, 0, 0)), "trailing")

			// Valid checksums, content that does not fit.
			const hdr = len(stateMagic) + 2 + 1 + 66 + 5 + 8 + 8 + 4
			per := 4
			if prec == quant.INT8 {
				per = 1
			}
			bad := slices.Clone(state)
			binary.LittleEndian.PutUint32(bad[hdr+1200*per:], 0xFFFF<<16)
			rejects(t, name+": countdown", e.Engine, withCRC(bad), "countdown")
			bad = slices.Clone(state)
			binary.LittleEndian.PutUint32(bad[hdr+1200*(per+4)+4:], 5000)
			rejects(t, name+": last output", e.Engine, withCRC(bad), "last output")
			bad = slices.Clone(state)
			bad[len(stateMagic)+2+1+8]++ // width: the spec differs, not the index
			rejects(t, name+": spec", e.Engine, withCRC(bad), "spec")

			// Engines of another plan.
			other := func(what, want string, mod func(spec *AreaSpec, c *Connection, opts *Options, prec *quant.Precision)) {
				spec, c, opts, err := LIFRandom(1200, 10, 1)
				if err != nil {
					t.Fatal(err)
				}
				if plastic {
					c.Plasticity = &Plasticity{Window: 2, LTP: 3, LTD: 1}
				}
				p := prec
				mod(&spec, c, &opts, &p)
				o := mustEngine(t, spec, p, []*Connection{c}, opts)
				o.Step(1, nil)
				rejects(t, name+": "+what, o, state, want)
			}
			other("area index", "area 3 restored into area 4", func(s *AreaSpec, c *Connection, _ *Options, _ *quant.Precision) {
				s.Index, c.Dst = 4, 4
			})
			other("neuron count", "neurons", func(s *AreaSpec, c *Connection, o *Options, _ *quant.Precision) {
				s.Dims[0] = 1300
				o.Drive[len(o.Drive)-1].To = 1300
			})
			other("precision", "precision", func(_ *AreaSpec, _ *Connection, _ *Options, p *quant.Precision) {
				*p = map[quant.Precision]quant.Precision{quant.FP32: quant.INT8, quant.INT8: quant.FP32}[*p]
			})
			other("parameters", "spec", func(s *AreaSpec, _ *Connection, _ *Options, _ *quant.Precision) {
				s.Params.LeakPerBurst = 0.5
			})
			other("drive", "drive", func(_ *AreaSpec, _ *Connection, o *Options, _ *quant.Precision) {
				o.Drive[0].P = 20
			})
			other("plasticity", "plastic", func(_ *AreaSpec, c *Connection, _ *Options, _ *quant.Precision) {
				if c.Plasticity == nil {
					c.Plasticity = &Plasticity{Window: 2, LTP: 3, LTD: 1}
				} else {
					c.Plasticity = nil
				}
			})
			other("synapses", "synapses", func(_ *AreaSpec, c *Connection, _ *Options, _ *quant.Precision) {
				c.Start[len(c.Start)-1]--
				c.Target, c.Weight, c.Inhibitory = c.Target[:len(c.Target)-1], c.Weight[:len(c.Weight)-1], c.Inhibitory[:len(c.Inhibitory)-1]
				c.OutDegree[len(c.OutDegree)-1]--
			})
			other("connections", "incoming connection 0", func(_ *AreaSpec, c *Connection, _ *Options, _ *quant.Precision) {
				*c = Connection{Src: 2, Dst: 3, Start: []uint32{0, 0}, OutDegree: []uint32{0}}
			})
			if plastic {
				other("plasticity window", "plasticity", func(_ *AreaSpec, c *Connection, _ *Options, _ *quant.Precision) {
					c.Plasticity.Window = 3
				})
			}

			// The intact state restores (and is not a no-op here).
			before := mustSnapshot(t, e.Engine)
			if err := e.Engine.RestoreState(state); err != nil {
				t.Fatalf("%s: the intact state: %v", name, err)
			}
			if bytes.Equal(before, mustSnapshot(t, e.Engine)) || !bytes.Equal(state, mustSave(t, e.Engine)) {
				t.Errorf("%s: the intact state did not restore", name)
			}
		}
	}
}

// FuzzRestoreState: any bytes (with their checksum fixed up or not) either
// restore, into an engine that then saves the same bytes, or are refused
// with ErrSnapshot and leave the engine unchanged; never a panic.
func FuzzRestoreState(f *testing.F) {
	var engines []*AreaEngine
	var orig [][]byte
	for _, prec := range precisions {
		for _, plastic := range []bool{false, true} {
			w := lifWorkload(f, 600, 4, prec, 2, plastic)
			for range 6 {
				w.Step()
			}
			s := mustSave(f, w.Engine)
			f.Add(s, false)
			f.Add(s[:len(s)-4], true)
			engines = append(engines, w.Engine)
			orig = append(orig, s)
		}
		areas, conns := randomBrain(2, false)
		r := mustRunner(f, areas, conns, prec, RunnerOptions{})
		for range 6 {
			r.Step(nil)
		}
		for _, e := range r.Engines()[3:] {
			f.Add(mustSave(f, e), false)
		}
	}
	f.Fuzz(func(t *testing.T, data []byte, fix bool) {
		if fix {
			data = binary.LittleEndian.AppendUint32(slices.Clone(data), crc32.Checksum(data, castagnoli))
		}
		for i, e := range engines {
			before := mustSnapshot(t, e)
			err := e.RestoreState(data)
			if err != nil {
				if !errors.Is(err, ErrSnapshot) {
					t.Fatalf("error does not wrap ErrSnapshot: %v", err)
				}
				if !bytes.Equal(before, mustSnapshot(t, e)) {
					t.Fatalf("refused state changed engine %d: %v", i, err)
				}
				continue
			}
			if again := mustSave(t, e); !bytes.Equal(again, data) {
				t.Fatalf("engine %d: restored state saves differently", i)
			}
			e.Step(e.LastBurst()+1, &Input{Points: []Point{{0, 1}}})
			if err := e.RestoreState(orig[i]); err != nil {
				t.Fatalf("engine %d: its own state: %v", i, err)
			}
		}
	})
}

// BenchmarkSaveState compares a state with a full snapshot of a
// lif-random area of 100K neurons and 5M synapses (fanout 50).
func BenchmarkSaveState(b *testing.B) {
	for _, prec := range precisions {
		w, err := NewLIFRandomWorkload(100_000, 50, 1, prec, 1)
		if err != nil {
			b.Fatal(err)
		}
		for range 20 {
			w.Step()
		}
		for _, kind := range []string{"state", "snapshot", "restore-state"} {
			b.Run(fmt.Sprintf("%v/%s", prec, kind), func(b *testing.B) {
				var size int
				state := mustSave(b, w.Engine)
				for b.Loop() {
					switch kind {
					case "state":
						size = len(mustSave(b, w.Engine))
					case "snapshot":
						size = len(mustSnapshot(b, w.Engine))
					default:
						size = len(state)
						if err := w.Engine.RestoreState(state); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.SetBytes(int64(size))
				b.ReportMetric(float64(size), "bytes/op")
			})
		}
		w.Close()
	}
}
