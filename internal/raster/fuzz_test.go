package raster

import (
	"bytes"
	"errors"
	"io"
	"os"
	"testing"
)

// FuzzReader feeds arbitrary bytes to the record reader and plots what it
// accepts: no panic, every accepted line keeps the record's rules, writes
// back to a line that reads the same, and the plot renders.
func FuzzReader(f *testing.F) {
	if seed, err := os.ReadFile("testdata/small.jsonl"); err == nil {
		f.Add(seed)
	}
	f.Add([]byte(`{"burst":1,"fired":{}}`))
	f.Add([]byte(`{"burst":3,"fired":{"X19fcG93ZXI=":[0,5,4096]}}` + "\n" + `{"burst":9000,"fired":{"X19fcG93ZXI=":[7]}}`))
	f.Add([]byte(`{"burst":18446744073709551615,"fired":{"AAAAAAAAAAA=":[4294967295]}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		r := NewReader(bytes.NewReader(data), "fuzz", 4096)
		p, err := New(Options{MaxColumns: 7, MaxRows: 5})
		if err != nil {
			t.Fatal(err)
		}
		var last uint64
		for n := 0; ; n++ {
			l, err := r.Next()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				return
			}
			if n > 0 && l.Burst <= last {
				t.Fatalf("burst %d accepted after %d", l.Burst, last)
			}
			last = l.Burst
			for i, f := range l.Fired {
				if checkID(f.Area) != nil || (i > 0 && f.Area <= l.Fired[i-1].Area) || len(f.Neurons) == 0 {
					t.Fatalf("accepted %+v", l)
				}
				for k := 1; k < len(f.Neurons); k++ {
					if f.Neurons[k] <= f.Neurons[k-1] {
						t.Fatalf("accepted descending indices %v", f.Neurons)
					}
				}
			}
			again, err := NewReader(bytes.NewReader(AppendLine(nil, l)), "again", 0).Next()
			if err != nil {
				t.Fatalf("the line written back does not read: %v", err)
			}
			if !bytes.Equal(AppendLine(nil, again), AppendLine(nil, l)) {
				t.Fatalf("round trip changed %+v into %+v", l, again)
			}
			if err := p.Add(l); err != nil {
				t.Fatalf("Add of an accepted line: %v", err)
			}
		}
		if p.Bursts() > 0 {
			if err := p.WriteSVG(io.Discard); err != nil {
				t.Fatal(err)
			}
		}
	})
}
