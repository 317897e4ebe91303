package main

import (
	"bufio"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// TestSignalFinishesBurst runs the real binary, free running with a record,
// sends it SIGINT or SIGTERM once bursts are flowing, and checks that it
// exits 0 with a record of consecutive, complete bursts from 1.
func TestSignalFinishesBurst(t *testing.T) {
	bin := filepath.Join(t.TempDir(), "node")
	build := exec.Command("go", "build", "-o", bin, ".")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			record := filepath.Join(t.TempDir(), "record.jsonl")
			cmd := exec.Command(bin, "run", "--genome", "community_webots_pioneer2.json", "--free",
				"--quiet", "--record", record)
			if err := cmd.Start(); err != nil {
				t.Fatal(err)
			}
			done := make(chan error, 1)
			go func() { done <- cmd.Wait() }()
			// Wait until the record shows bursts (bounded: 30 s).
			deadline := time.Now().Add(30 * time.Second)
			for {
				if fi, err := os.Stat(record); err == nil && fi.Size() > 4096 {
					break
				}
				if time.Now().After(deadline) {
					_ = cmd.Process.Kill()
					t.Fatal("no bursts recorded within 30 s")
				}
				time.Sleep(20 * time.Millisecond)
			}
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("node run after %v: %v (want exit status 0)", sig, err)
				}
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("node run did not stop within 30 s of %v", sig)
			}
			f, err := os.Open(record)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			sc := bufio.NewScanner(f)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			var want uint64 = 1
			for sc.Scan() {
				var line struct {
					Burst uint64              `json:"burst"`
					Fired map[string][]uint32 `json:"fired"`
				}
				if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
					t.Fatalf("record line %d is not complete JSON: %v: %q", want, err, sc.Text())
				}
				if line.Burst != want {
					t.Fatalf("record line %d is burst %d", want, line.Burst)
				}
				want++
			}
			if err := sc.Err(); err != nil {
				t.Fatal(err)
			}
			if want < 10 {
				t.Fatalf("record holds only %d bursts", want-1)
			}
		})
	}
}
