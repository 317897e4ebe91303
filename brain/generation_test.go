package brain

import (
	"testing"

	"github.com/spikemesh/spikemesh/actors"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

// TestChooseResume: the checkpoint a new generation resumes from, for the
// cases the generation protocol meets.
func TestChooseResume(t *testing.T) {
	prev := &generation{members: []actors.NodeID{"n0", "n1", "n2"}, placement: actors.Table{"n0", "n1", "n2", "n2"}}
	halted := func(completed, halt, observed uint64, ckpts ...uint64) *brainv1.Halted {
		return &brainv1.Halted{Completed: completed, HaltBurst: halt, Observed: observed, Checkpoints: ckpts}
	}
	type ans = map[actors.NodeID]*brainv1.Halted
	cases := []struct {
		name       string
		prev       *generation
		answers    ans
		held       []uint64
		boundaryOK bool
		resume     uint64
		from       actors.NodeID
		wait       bool
	}{
		{"join: every owner stopped at 230", prev,
			ans{"n0": halted(230, 230, 230, 200, 230), "n1": halted(230, 230, 230, 200, 230), "n2": halted(230, 230, 230, 200, 230), "n3": halted(0, 0, 0)},
			[]uint64{200, 230}, true, 230, "", false},
		{"join: the boundary's parts are not all here yet", prev,
			ans{"n0": halted(230, 230, 230), "n1": halted(230, 230, 230), "n2": halted(230, 230, 230)},
			[]uint64{200}, true, 230, "", true},
		{"join: waited long enough for the boundary", prev,
			ans{"n0": halted(230, 230, 230, 200), "n1": halted(230, 230, 230, 200), "n2": halted(230, 230, 230, 200)},
			[]uint64{200}, false, 200, "", false},
		{"crash: n0 died; n1 missed the record of checkpoint burst 175", prev,
			ans{"n1": halted(175, 0, 174, 150, 175), "n2": halted(175, 0, 175, 150, 175)},
			[]uint64{150, 175}, true, 150, "", false},
		{"crash: every survivor recorded 175", prev,
			ans{"n1": halted(176, 0, 176, 150, 175), "n2": halted(176, 0, 176, 150, 175)},
			[]uint64{150, 175}, true, 175, "", false},
		{"crash: the newest checkpoint is on another node", prev,
			ans{"n1": halted(180, 0, 180, 150), "n2": halted(180, 0, 180, 150, 175)},
			[]uint64{150}, true, 175, "n2", false},
		{"a fenced node back with old bursts does not pull the brain back", prev,
			ans{"n0": halted(180, 0, 180, 150, 175), "n1": halted(180, 0, 180, 150, 175), "n4": halted(60, 0, 60, 50)},
			[]uint64{150, 175}, true, 175, "", false},
		{"no checkpoint as old as what was recorded: the newest", prev,
			ans{"n1": halted(230, 0, 100, 175, 200), "n2": halted(230, 0, 230, 175, 200)},
			[]uint64{175, 200}, true, 200, "", false},
		{"no checkpoint at all: from the start", prev,
			ans{"n1": halted(20, 0, 20), "n2": halted(20, 0, 20)},
			nil, true, 0, "", false},
		{"no previous generation known", nil,
			ans{"n1": halted(20, 0, 20, 10)},
			[]uint64{10}, true, 10, "", false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resume, from, wait := chooseResume(c.prev, c.answers, c.held, "n1", c.boundaryOK)
			if resume != c.resume || from != c.from || wait != c.wait {
				t.Fatalf("chooseResume = %d, %q, wait %v; want %d, %q, wait %v", resume, from, wait, c.resume, c.from, c.wait)
			}
		})
	}
}
