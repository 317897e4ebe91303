package natsio_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/pns"
	"github.com/spikemesh/spikemesh/pns/natsio"
	"github.com/spikemesh/spikemesh/pns/natsio/natstest"
)

func ctx(t *testing.T) context.Context {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	t.Cleanup(cancel)
	return c
}

// TestSensorAck: a sensor frame sent as a request is acknowledged with the
// area, its name and the burst it lands in, or refused with the kind of
// the problem; frames published without a reply subject are still taken.
func TestSensorAck(t *testing.T) {
	s := natstest.Start(t)
	nc := natstest.ConnectInProcess(t, s)
	areas := brainAreas()
	areas[0].Name = "Left eye"
	in := pns.NewIntake(areas, resolver, pns.Limits{})
	b, err := natsio.SubscribeSensors(nc, pns.DefaultSubjects(), in)
	must(t, err)
	t.Cleanup(func() { _ = b.Close() })
	must(t, nc.Flush())
	c, err := natsio.Dial(s.ClientURL(), pns.DefaultSubjects())
	must(t, err)
	defer c.Close()

	in.Take(1) // the brain is at burst 1: frames land in 2
	for _, name := range []string{"c__lef", idLeft.String(), idLeft.Token(), "Left eye"} {
		ack, err := c.RequestSensor(ctx(t), name, 0, points(0, 0, 0, 1, 7, 7, 7, 1))
		if err != nil {
			t.Fatalf("%q: %v", name, err)
		}
		want := natsio.AckFrame{Area: idLeft.String(), Name: "Left eye", Burst: 2, Points: 1, Dropped: 1}
		if !ack.OK || len(ack.Frames) != 1 || ack.Frames[0] != want {
			t.Errorf("%q: ack %+v, want ok with %+v", name, ack, want)
		}
	}
	ack, err := c.RequestSensor(ctx(t), "omot00", 40, points(0, 0, 0, 1))
	if err != nil || ack.Frames[0].Burst != 40 || ack.Frames[0].Name != "" {
		t.Errorf("stamped frame: %+v, %v; want burst 40, no name", ack, err)
	}

	ack, err = c.RequestSensor(ctx(t), "nope", 0, points(0, 0, 0, 1))
	if !errors.Is(err, pns.ErrUnknownArea) || ack == nil || ack.OK || ack.Kind != "unknown-area" || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("unknown area: ack %+v, err %v; want a refusal of kind unknown-area naming it", ack, err)
	}
	// A malformed payload, sent as a request by hand.
	m, err := c.Conn().Request(pns.DefaultSubjects().Sensor("c__lef"), []byte("\xff\xfegarbage"), 10*time.Second)
	must(t, err)
	if !strings.Contains(string(m.Data), `"ok":false`) || !strings.Contains(string(m.Data), `"kind":"malformed"`) {
		t.Errorf("malformed frame: answer %s", m.Data)
	}
	feagi, err := natsio.Dial(s.ClientURL(), pns.DefaultSubjects(), natsio.WithFormat(natsio.FormatFEAGI))
	must(t, err)
	defer feagi.Close()
	if ack, err := feagi.RequestSensor(ctx(t), idMotor.String(), 0, points(1, 1, 1, 2)); err != nil || len(ack.Frames) != 1 || ack.Frames[0].Area != idMotor.String() {
		t.Errorf("FEAGI container: %+v, %v", ack, err)
	}
	// Fire and forget still works next to requests; the latest frame wins.
	// Voxel (1,0,0) of c__lef (3×2×1) is local (1·2+0)·1+0 = 2.
	must(t, c.SendSensor("c__lef", points(1, 0, 0, 9)))
	must(t, c.Flush())
	waitFor(t, "the published frame", func() bool { return in.Stats().Received == 9 })
	got := in.Take(2)
	if len(got) != 2 || got[0].Area != 0 || len(got[0].Injections) != 1 || got[0].Injections[0] != (pns.Injection{Local: 2, P: 9}) {
		t.Errorf("Take(2) = %+v, want the published frame of area 0 and the FEAGI frame of area 1", got)
	}
	if st := in.Stats(); st.UnknownArea != 1 || st.Malformed != 1 {
		t.Errorf("stats %+v: want the refused frames counted", st)
	}
}

// TestNoBrain: requests nobody answers fail with ErrNoBrain at once.
func TestNoBrain(t *testing.T) {
	s := natstest.Start(t)
	c, err := natsio.Dial(s.ClientURL(), pns.DefaultSubjects())
	must(t, err)
	defer c.Close()
	if _, err := c.RequestSensor(ctx(t), "c__lef", 0, points(0, 0, 0, 1)); !errors.Is(err, natsio.ErrNoBrain) {
		t.Errorf("RequestSensor without a brain: %v, want ErrNoBrain", err)
	}
	if _, err := c.Areas(ctx(t)); !errors.Is(err, natsio.ErrNoBrain) {
		t.Errorf("Areas without a brain: %v, want ErrNoBrain", err)
	}
}

// TestAreaTable: the brain's table of areas is served as is, and Find
// resolves every way of naming an area, with errors that help.
func TestAreaTable(t *testing.T) {
	s := natstest.Start(t)
	nc := natstest.ConnectInProcess(t, s)
	table := natsio.AreaTable{Areas: []natsio.AreaInfo{
		{ID: idLeft.String(), LegacyID: "c__lef", Name: "Left eye", Kind: "custom", Dims: [3]uint32{3, 2, 1}, PerVoxel: 1},
		{ID: idMotor.String(), LegacyID: "omot00", Name: "Motor", Kind: "opu", Dims: [3]uint32{2, 2, 2}, PerVoxel: 2},
		{ID: pns.ID{'c', 'a'}.String(), Name: "twin", Kind: "custom"},
		{ID: pns.ID{'c', 'b'}.String(), Name: "twin", Kind: "custom"},
	}}
	sub, err := natsio.ServeAreas(nc, pns.DefaultSubjects(), table)
	must(t, err)
	defer sub.Unsubscribe()
	must(t, nc.Flush())
	c, err := natsio.Dial(s.ClientURL(), pns.DefaultSubjects())
	must(t, err)
	defer c.Close()
	got, err := c.Areas(ctx(t))
	must(t, err)
	if len(got.Areas) != 4 || got.Areas[1] != table.Areas[1] {
		t.Fatalf("Areas = %+v, want %+v", got, table)
	}
	for name, want := range map[string]string{
		"omot00": idMotor.String(), idMotor.String(): idMotor.String(), idMotor.Token(): idMotor.String(),
		"Motor": idMotor.String(), "c__lef__": idLeft.String(), "c__lef": idLeft.String(),
	} {
		if a, err := got.Find(name); err != nil || a.ID != want {
			t.Errorf("Find(%q) = %+v, %v; want %s", name, a, err, want)
		}
	}
	for name, want := range map[string]string{
		"motor": `did you mean "Motor"?`, "twin": "2 areas are named", "nope": `no area "nope" in this brain; its areas: omot00 (opu "Motor"), c__lef (custom "Left eye")`,
	} {
		if _, err := got.Find(name); !errors.Is(err, natsio.ErrNoArea) || !strings.Contains(err.Error(), want) {
			t.Errorf("Find(%q): %v; want an error containing %q", name, err, want)
		}
	}
}
