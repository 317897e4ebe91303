package pns

import (
	"errors"
	"testing"
)

func TestIDForms(t *testing.T) {
	power := ID{'_', '_', '_', 'p', 'o', 'w', 'e', 'r'}
	if got := power.String(); got != "X19fcG93ZXI=" {
		t.Errorf("String() = %q, want X19fcG93ZXI= (docs/semantics.md §5.4)", got)
	}
	if got := power.Token(); got != "X19fcG93ZXI" {
		t.Errorf("Token() = %q, want X19fcG93ZXI", got)
	}
	// An ID whose base64 has '+' and '/': bytes 0xfb 0xff ...
	odd := ID{0xfb, 0xff, 0xbf, 0xfb, 0xff, 0xbf, 0x00, 0x01}
	if s := odd.String(); s != "+/+/+/+/AAE=" {
		t.Fatalf("String() = %q, want +/+/+/+/AAE=", s)
	}
	if tok := odd.Token(); tok != "-_-_-_-_AAE" {
		t.Errorf("Token() = %q, want -_-_-_-_AAE", tok)
	}
	for _, s := range []string{odd.String(), odd.Token()} {
		id, err := ParseID(s)
		if err != nil || id != odd {
			t.Errorf("ParseID(%q) = %v, %v; want %v", s, id, err, odd)
		}
	}
}

func TestParseIDRejects(t *testing.T) {
	for _, s := range []string{"", "c__lef", "X19fcG93ZXI", "X19fcG93ZXI=", "X19fcG93ZX!=", "X19fcG93ZXJ=", "AAAAAAAAAAAAAAAA"} {
		_, err := ParseID(s)
		valid := s == "X19fcG93ZXI" || s == "X19fcG93ZXI="
		if valid != (err == nil) {
			t.Errorf("ParseID(%q): err = %v, want valid=%v", s, err, valid)
		}
		if err != nil && !errors.Is(err, ErrMalformed) {
			t.Errorf("ParseID(%q): error %v does not wrap ErrMalformed", s, err)
		}
	}
}

func TestAreaToken(t *testing.T) {
	cases := []struct{ in, want string }{
		{"X19fcG93ZXI=", "X19fcG93ZXI"},
		{"X19fcG93ZXI", "X19fcG93ZXI"},
		{"c__lef", "c__lef"},
		{"omot00", "omot00"},
		{"+/+/+/+/AAE=", "-_-_-_-_AAE"},
	}
	for _, c := range cases {
		got, err := AreaToken(c.in)
		if err != nil || got != c.want {
			t.Errorf("AreaToken(%q) = %q, %v; want %q", c.in, got, err, c.want)
		}
	}
	for _, bad := range []string{"", "a.b", "a b", "*", ">"} {
		if got, err := AreaToken(bad); err == nil {
			t.Errorf("AreaToken(%q) = %q, want an error", bad, got)
		}
	}
}

func TestSubjects(t *testing.T) {
	s := DefaultSubjects()
	if got := s.Sensor("X19fcG93ZXI"); got != "spikemesh.brain.sensor.X19fcG93ZXI" {
		t.Errorf("Sensor = %q", got)
	}
	if got := (Subjects{Prefix: "a.b", Brain: "x"}).MotorAll(); got != "a.b.x.motor.*" {
		t.Errorf("MotorAll = %q", got)
	}
	if got := (Subjects{}).SensorAll(); got != "spikemesh.brain.sensor.*" {
		t.Errorf("zero Subjects SensorAll = %q", got)
	}
	for _, bad := range []Subjects{{Prefix: "a..b"}, {Brain: "x.y"}, {Prefix: "a*"}, {Brain: "b r"}} {
		if err := bad.Validate(); err == nil {
			t.Errorf("Validate(%+v) = nil, want an error", bad)
		}
	}
	if got := LastToken("spikemesh.brain.sensor.c__lef"); got != "c__lef" {
		t.Errorf("LastToken = %q", got)
	}
}
