package natsio_test

import (
	"context"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"google.golang.org/protobuf/proto"

	"github.com/spikemesh/spikemesh/pns/natsio"
	"github.com/spikemesh/spikemesh/pns/natsio/natstest"
	brainv1 "github.com/spikemesh/spikemesh/proto/brain/v1"
)

func testStatus() *brainv1.ClusterStatus {
	return &brainv1.ClusterStatus{
		Brain: "b", Run: 0xfeedface, Epoch: 3, Burst: 1200, Coordinator: "n1", Phase: "running", Node: "n2",
		Members: []*brainv1.ClusterMember{
			{Name: "n1", State: "alive", Coordinator: true, Areas: 2, Capacity: 1, Address: "127.0.0.1:7001"},
			{Name: "n2", State: "suspect", Areas: 1, Capacity: 0.5, Address: "127.0.0.1:7002"},
		},
		Placement: []*brainv1.AreaPlacement{
			{Index: 0, Id: "aW1pcwoAAAA=", Name: "Proximity", Node: "n1"},
			{Index: 1, Id: "b19fbW90AAA=", Name: "Motor", Node: "n2"},
		},
		CheckpointBurst: 1100, CheckpointUnixNs: 1_700_000_000_000_000_000, CheckpointBytes: 3 << 20, CheckpointEvery: 100,
		Recoveries: 1, RollbackBursts: 42,
	}
}

// TestServeClusterStatus: a request gets the status; a malformed request
// and a request before the node has a status get an error the client
// reads, and the responder keeps answering after them.
func TestServeClusterStatus(t *testing.T) {
	s := natstest.Start(t)
	nc := natstest.Connect(t, s)
	var ready atomic.Bool
	want := testStatus()
	sub, err := natsio.ServeClusterStatus(nc, "p.b.cluster.status", func() *brainv1.ClusterStatus {
		if !ready.Load() {
			return nil
		}
		return want
	})
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if err := nc.Flush(); err != nil { // the server knows the subscription
		t.Fatal(err)
	}
	client := natstest.Connect(t, s)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	_, err = natsio.RequestClusterStatus(ctx, client, "p.b.cluster.status")
	var se *natsio.ServiceError
	if !errors.As(err, &se) || se.Code != natsio.CodeUnavailable || !strings.Contains(err.Error(), "p.b.cluster.status") {
		t.Fatalf("before the status: %v, want a refusal with code %d", err, natsio.CodeUnavailable)
	}
	ready.Store(true)

	m, err := client.RequestWithContext(ctx, "p.b.cluster.status", []byte{0xff})
	if err != nil {
		t.Fatal(err)
	}
	if got := m.Header.Get("Nats-Service-Error-Code"); got != "400" || len(m.Data) != 0 ||
		!strings.Contains(m.Header.Get("Nats-Service-Error"), "malformed cluster status request") {
		t.Fatalf("malformed request answered with %q %v %q", got, m.Header, m.Data)
	}

	got, err := natsio.RequestClusterStatus(ctx, client, "p.b.cluster.status")
	if err != nil {
		t.Fatal(err)
	}
	if !proto.Equal(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}

	if _, err := natsio.RequestClusterStatus(ctx, client, "p.other.cluster.status"); !errors.Is(err, nats.ErrNoResponders) {
		t.Fatalf("nobody serving: %v, want ErrNoResponders", err)
	}
	if _, err := natsio.ServeClusterStatus(nc, "p.b.cluster.status", nil); err == nil {
		t.Fatal("a nil status func was taken")
	}
}
