package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

var (
	nodeOnce sync.Once
	nodeBin  string
	nodeErr  error
)

// nodeBinary builds the node binary once for the package's tests.
func nodeBinary(t *testing.T) string {
	t.Helper()
	nodeOnce.Do(func() {
		dir, err := os.MkdirTemp("", "node-test-")
		if err != nil {
			nodeErr = err
			return
		}
		nodeBin = filepath.Join(dir, "node")
		if out, err := exec.Command("go", "build", "-o", nodeBin, ".").CombinedOutput(); err != nil {
			nodeErr = errors.New("go build: " + err.Error() + "\n" + string(out))
		}
	})
	if nodeErr != nil {
		t.Fatal(nodeErr)
	}
	return nodeBin
}

func TestMain(m *testing.M) {
	code := m.Run()
	if nodeBin != "" {
		os.RemoveAll(filepath.Dir(nodeBin))
	}
	os.Exit(code)
}

// startNode starts the node binary with args and waits (bounded: 60 s) until
// record holds at least minBytes.
func startNode(t *testing.T, record string, minBytes int64, args ...string) (*exec.Cmd, <-chan error, *bytes.Buffer) {
	t.Helper()
	cmd := exec.Command(nodeBinary(t), args...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for {
		if fi, err := os.Stat(record); err == nil && fi.Size() >= minBytes {
			return cmd, done, &stderr
		}
		select {
		case err := <-done:
			t.Fatalf("node %v ended before its record grew: %v\n%s", args, err, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			_ = cmd.Process.Kill()
			<-done
			t.Fatalf("record of node %v did not reach %d bytes within 60 s", args, minBytes)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// checkRecord checks that every complete line of the record is the JSON
// of the next burst from 1, allowing a partial last line only when partial
// is set, and returns the number of complete lines.
func checkRecord(t *testing.T, record string, partial bool) uint64 {
	t.Helper()
	data, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	if i := bytes.LastIndexByte(data, '\n'); i+1 < len(data) {
		if !partial {
			t.Fatalf("record ends in a partial line %q", data[i+1:])
		}
		data = data[:i+1]
	}
	sc := bufio.NewScanner(bytes.NewReader(data))
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
	return want - 1
}

// TestSignalFinishesBurst runs the real binary, free running with a record,
// sends it SIGINT or SIGTERM once bursts are flowing, and checks that it
// exits 0 with a record of consecutive, complete bursts from 1.
func TestSignalFinishesBurst(t *testing.T) {
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		t.Run(sig.String(), func(t *testing.T) {
			record := filepath.Join(t.TempDir(), "record.jsonl")
			cmd, done, stderr := startNode(t, record, 4096, "run", "--genome", "community_webots_pioneer2.json", "--free",
				"--quiet", "--record", record)
			if err := cmd.Process.Signal(sig); err != nil {
				t.Fatal(err)
			}
			select {
			case err := <-done:
				if err != nil {
					t.Fatalf("node run after %v: %v (want exit status 0)\n%s", sig, err, stderr.String())
				}
			case <-time.After(30 * time.Second):
				_ = cmd.Process.Kill()
				t.Fatalf("node run did not stop within 30 s of %v", sig)
			}
			if n := checkRecord(t, record, false); n < 10 {
				t.Fatalf("record holds only %d bursts", n)
			}
		})
	}
}

// TestKillLeavesRecord kills node run with SIGKILL once its record has
// content: what it leaves is whole JSON lines of consecutive bursts from 1
// (a partial last line allowed). The paced run writes far less than a
// buffer's worth in the time, so its lines reach the file only through the
// timed flush.
func TestKillLeavesRecord(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
	}{
		{"paced-sync", []string{"--rate", "20", "--record-sync"}},
		{"free", []string{"--free"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			record := filepath.Join(t.TempDir(), "record.jsonl")
			args := append([]string{"run", "--genome", "essential_genome.json", "--quiet", "--record", record}, c.args...)
			cmd, done, _ := startNode(t, record, 1, args...)
			if err := cmd.Process.Kill(); err != nil {
				t.Fatal(err)
			}
			<-done
			if n := checkRecord(t, record, true); n < 1 {
				t.Fatalf("record holds no complete burst")
			}
		})
	}
}

// TestSecondSignalForcesExit: the first signal cancels the run, the second
// exits at once with 128 + its number, saying so.
func TestSecondSignalForcesExit(t *testing.T) {
	sigs := make(chan os.Signal, 2)
	done := make(chan struct{})
	cancelled := make(chan struct{})
	exited := make(chan int, 1)
	var out bytes.Buffer
	go watchSignals(sigs, done, func() { close(cancelled) }, slog.New(slog.NewTextHandler(io.Discard, nil)), &out,
		func(code int) { exited <- code })
	sigs <- syscall.SIGTERM
	<-cancelled
	select {
	case code := <-exited:
		t.Fatalf("exited (%d) on the first signal", code)
	default:
	}
	sigs <- syscall.SIGINT
	if code := <-exited; code != 130 {
		t.Fatalf("exit status %d after a second SIGINT, want 130", code)
	}
	if !strings.Contains(out.String(), "second signal") {
		t.Fatalf("forced exit not announced: %q", out.String())
	}
	close(done)
}
