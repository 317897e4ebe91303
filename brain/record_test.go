package brain

import (
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/npu"
)

// readLines returns the complete lines of the record at path and checks
// that each is JSON of the next burst from 1.
func readLines(t *testing.T, path string) int {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(data), "\n")
	if lines[len(lines)-1] != "" {
		t.Fatalf("record ends in a partial line %q", lines[len(lines)-1])
	}
	lines = lines[:len(lines)-1]
	for i, l := range lines {
		var r struct{ Burst uint64 }
		if err := json.Unmarshal([]byte(l), &r); err != nil || r.Burst != uint64(i+1) {
			t.Fatalf("record line %d = %q (%v)", i+1, l, err)
		}
	}
	return len(lines)
}

// TestRecorderFlushesByTime: lines reach the file within FlushEvery with
// no further write, Flush and buffer overflow write at once, and every
// write to the file holds whole lines.
func TestRecorderFlushesByTime(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	r, err := NewRecorder(path, []string{"AAAAAA==", "AQAAAA=="}, RecordOptions{FlushEvery: 20 * time.Millisecond, BufferSize: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fired := [][]uint32{{1, 2, 3}, nil}
	for b := npu.Burst(1); b <= 3; b++ {
		if err := r.Write(b, fired); err != nil {
			t.Fatal(err)
		}
	}
	// No more writes: only the timer can flush (a hang guard, not a
	// measurement).
	deadline := time.Now().Add(30 * time.Second)
	for readLines(t, path) < 3 {
		if time.Now().After(deadline) {
			t.Fatal("written bursts never reached the file without a further write")
		}
		time.Sleep(5 * time.Millisecond)
	}
	if err := r.Write(4, fired); err != nil {
		t.Fatal(err)
	}
	if err := r.Close(); err != nil {
		t.Fatal(err)
	}
	if n := readLines(t, path); n != 4 {
		t.Fatalf("%d lines after Close, want 4", n)
	}
	if err := r.Close(); err != nil {
		t.Fatalf("second Close: %v", err)
	}
}

func TestRecorderFlushAndOverflow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	r, err := NewRecorder(path, []string{"AAAAAA=="}, RecordOptions{FlushEvery: time.Hour, BufferSize: 200, Sync: true})
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	fired := [][]uint32{{7, 8, 9, 10}}
	n := 0
	for readLines(t, path) == 0 {
		n++
		if n > 100 {
			t.Fatal("a full buffer was not written")
		}
		if err := r.Write(npu.Burst(n), fired); err != nil {
			t.Fatal(err)
		}
	}
	n++
	if err := r.Write(npu.Burst(n), fired); err != nil {
		t.Fatal(err)
	}
	if err := r.Flush(); err != nil {
		t.Fatal(err)
	}
	if got := readLines(t, path); got != n {
		t.Fatalf("%d lines after Flush, want %d", got, n)
	}
}

// TestRecorderWriteError: a record that cannot be written stops the run at
// the next Write, naming the file.
func TestRecorderWriteError(t *testing.T) {
	if _, err := os.Stat("/dev/full"); err != nil {
		t.Fatalf("this test needs /dev/full: %v", err)
	}
	r, err := NewRecorder("/dev/full", []string{"AAAAAA=="}, RecordOptions{FlushEvery: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	if err := r.Write(1, [][]uint32{{1}}); err != nil {
		t.Fatal(err)
	}
	ferr := r.Flush()
	if ferr == nil || !strings.Contains(ferr.Error(), "/dev/full") {
		t.Fatalf("Flush to /dev/full: %v", ferr)
	}
	if err := r.Write(2, [][]uint32{{1}}); !errors.Is(err, ferr) && (err == nil || err.Error() != ferr.Error()) {
		t.Fatalf("Write after a failed flush: %v, want %v", err, ferr)
	}
	if err := r.Close(); err == nil {
		t.Fatal("Close hid the write error")
	}
}

func TestRecorderNone(t *testing.T) {
	r, err := NewRecorder("", nil, RecordOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if r.Write(1, nil) != nil || r.Flush() != nil || r.Close() != nil {
		t.Fatal("a recorder without a file failed")
	}
}
