package cluster

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/hashicorp/memberlist"
)

func TestDigestDiffNamesEachDifferingField(t *testing.T) {
	a := Digest{Genome: GenomeDigest([]byte("one")), Seed: 1, Precision: "fp32", Bursts: 10}
	if d := a.Diff(a); d != "" {
		t.Fatalf("Diff with itself = %q", d)
	}
	b := a
	b.Genome = GenomeDigest([]byte("two"))
	b.Precision = "int8"
	got := a.Diff(b)
	for _, want := range []string{
		"genome differs (sha256 " + a.Genome[:12] + "… here, " + b.Genome[:12] + "… there)",
		"precision differs (fp32 here, int8 there)",
	} {
		if !strings.Contains(got, want) {
			t.Fatalf("Diff = %q, missing %q", got, want)
		}
	}
	if strings.Contains(got, "seed") || strings.Contains(got, "burst") {
		t.Fatalf("Diff = %q names fields that agree", got)
	}
	c := a
	c.Seed, c.Bursts, c.Window = 2, 0, 3
	if got, want := a.Diff(c), "seed differs (1 here, 2 there); burst limit differs (10 here, 0 there); lock-step window differs (0 here, 3 there)"; got != want {
		t.Fatalf("Diff = %q, want %q", got, want)
	}
	// Hashes sharing a long prefix are shown long enough to differ.
	x, y := a, a
	x.Genome = strings.Repeat("ab", 10) + "00" + strings.Repeat("cd", 21)
	y.Genome = strings.Repeat("ab", 10) + "11" + strings.Repeat("cd", 21)
	if got := x.Diff(y); !strings.Contains(got, x.Genome[:24]+"… here, "+y.Genome[:24]+"… there") {
		t.Fatalf("Diff of close hashes = %q", got)
	}
	if got := (Digest{}).Diff(a); !strings.Contains(got, "genome differs (sha256 none here") {
		t.Fatalf("Diff with no genome = %q", got)
	}
}

func TestGenomeDigestIsSHA256Hex(t *testing.T) {
	// sha256("abc"), from FIPS 180-2.
	if got, want := GenomeDigest([]byte("abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"; got != want {
		t.Fatalf("GenomeDigest(abc) = %s", got)
	}
}

func TestMetaRoundTrip(t *testing.T) {
	in := Meta{NATSClientURL: "nats://10.0.0.1:4222", NATSRouteURL: "nats://10.0.0.1:6222", HTTP: "10.0.0.1:8080",
		Digest: Digest{Genome: GenomeDigest([]byte("g")), Seed: 1 << 63, Precision: "int8", Bursts: 12345, Window: 2}, Capacity: 2.5}
	b, err := encodeMeta(in)
	if err != nil {
		t.Fatal(err)
	}
	out, err := decodeMeta(b)
	if err != nil || out != in {
		t.Fatalf("round trip: %+v, %v; want %+v", out, err, in)
	}
}

func TestDecodeMetaErrors(t *testing.T) {
	for _, c := range []struct {
		in   string
		want string
	}{
		{"", "no node metadata"},
		{"{", "node metadata"},
		{`{"v":2}`, "node metadata version 2, this node speaks 1"},
		{`{"v":1,"s":-1}`, "node metadata"},
	} {
		if _, err := decodeMeta([]byte(c.in)); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Fatalf("decodeMeta(%q) = %v, want %q", c.in, err, c.want)
		}
	}
}

func FuzzDecodeMeta(f *testing.F) {
	good, _ := encodeMeta(Meta{NATSClientURL: "nats://x:1", Digest: testDigest, Capacity: 1})
	f.Add(good)
	f.Add([]byte(`{"v":1}`))
	f.Add([]byte(`{"v":1,"c":1e400}`))
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := decodeMeta(b)
		if err != nil {
			return
		}
		// What decodes encodes again to the same meaning.
		again, err := encodeMeta(m)
		if err != nil {
			if len(b) > memberlist.MetaMaxSize {
				return // larger than memberlist would ever carry
			}
			t.Fatalf("decoded %+v does not encode: %v", m, err)
		}
		if back, err := decodeMeta(again); err != nil || back != m {
			t.Fatalf("re-decoded %+v, %v; want %+v", back, err, m)
		}
	})
}

// The alive check, which runs on every piece of gossip, keeps out a node of
// another brain or with unreadable metadata, and lets the same brain in.
func TestAliveCheckRefusesAnotherBrain(t *testing.T) {
	m := &Membership{name: "node-a", digest: testDigest, log: slog.New(slog.DiscardHandler)}
	d := &delegate{m: m}
	same, _ := encodeMeta(Meta{Digest: testDigest})
	otherDigest := testDigest
	otherDigest.Bursts = 5
	other, _ := encodeMeta(Meta{Digest: otherDigest})
	node := func(name string, meta []byte) *memberlist.Node {
		return &memberlist.Node{Name: name, Addr: []byte{127, 0, 0, 1}, Port: 7946, Meta: meta}
	}
	if err := d.NotifyAlive(node("node-b", same)); err != nil {
		t.Fatalf("same brain refused: %v", err)
	}
	err := d.NotifyAlive(node("node-b", other))
	if err == nil || !strings.Contains(err.Error(), `node "node-b" at 127.0.0.1:7946 runs a different brain: burst limit differs (100 here, 5 on node-b)`) {
		t.Fatalf("other brain: %v", err)
	}
	if err := d.NotifyAlive(node("node-b", []byte("junk"))); err == nil {
		t.Fatal("unreadable metadata let in")
	}
	// The merge check says the same, and wraps ErrDifferentBrain.
	err = d.NotifyMerge([]*memberlist.Node{node("node-b", other)})
	if !errors.Is(err, ErrDifferentBrain) || !strings.Contains(err.Error(), "burst limit differs") {
		t.Fatalf("merge with other brain: %v", err)
	}
	if err := d.NotifyMerge([]*memberlist.Node{node("node-b", same)}); err != nil {
		t.Fatalf("merge with same brain: %v", err)
	}
	// Dead peers are not judged.
	dead := node("node-c", other)
	dead.State = memberlist.StateDead
	if err := d.NotifyMerge([]*memberlist.Node{dead}); err != nil {
		t.Fatalf("merge with a dead peer of another brain: %v", err)
	}
}

func TestMemberlistLogLinesKeepTheirLevel(t *testing.T) {
	var buf bytes.Buffer
	w := slogWriter{slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelInfo}))}
	for _, line := range []string{
		"[DEBUG] memberlist: chatter\n",
		"[INFO] memberlist: news\n",
		"[WARN] memberlist: careful\n",
		"[ERR] memberlist: discarding stream with unacceptable label \"x\"\n",
		"no level at all\n",
	} {
		if n, err := w.Write([]byte(line)); err != nil || n != len(line) {
			t.Fatalf("Write = %d, %v", n, err)
		}
	}
	out := buf.String()
	for _, want := range []string{
		"level=INFO msg=news component=memberlist",
		"level=WARN msg=careful",
		`level=ERROR msg="discarding stream with unacceptable label \"x\""`,
		`level=INFO msg="no level at all"`,
	} {
		if !strings.Contains(out, want) {
			t.Fatalf("log %q lacks %q", out, want)
		}
	}
	if strings.Contains(out, "chatter") {
		t.Fatalf("debug line logged at info level: %q", out)
	}
}

func TestEventKindString(t *testing.T) {
	for k, want := range map[EventKind]string{EventJoin: "join", EventLeave: "leave", EventUpdate: "update", 9: "EventKind(9)"} {
		if got := k.String(); got != want {
			t.Fatalf("%d.String() = %q", int(k), got)
		}
	}
}
