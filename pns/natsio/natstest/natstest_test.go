package natstest

import (
	"testing"
	"time"
)

func TestStartAndConnect(t *testing.T) {
	s := Start(t, WithMaxPayload(2<<20))
	tcp := Connect(t, s)
	local := ConnectInProcess(t, s)
	if got := tcp.MaxPayload(); got != 2<<20 {
		t.Errorf("max payload %d, want %d", got, 2<<20)
	}
	sub, err := local.SubscribeSync("x.y")
	if err != nil {
		t.Fatal(err)
	}
	if err := local.Flush(); err != nil {
		t.Fatal(err)
	}
	if err := tcp.Publish("x.y", []byte("hi")); err != nil {
		t.Fatal(err)
	}
	m, err := sub.NextMsg(30 * time.Second) // a hang guard only
	if err != nil || string(m.Data) != "hi" {
		t.Fatalf("got %v, %v", m, err)
	}
}
