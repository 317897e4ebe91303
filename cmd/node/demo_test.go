package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/spikemesh/spikemesh/pns/natsio/natstest"
)

// The demo of docs/demo.md: community_webots_pioneer2's proximity sensor
// i__pro drives its motor area o__mot.
const (
	demoGenome = "community_webots_pioneer2.json"
	demoSensor = "i__pro"
	demoPoints = "0,0,0,10 1,0,0,10"
	demoMotor  = "b21pcwoAAAA=" // o__mot
)

// proc is a running node process whose stderr is collected line by line.
type proc struct {
	cmd    *exec.Cmd
	stdout bytes.Buffer
	done   chan error
	mu     sync.Mutex
	lines  []string
	line   chan string
}

func startProc(t *testing.T, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(nodeBinary(t), args...), done: make(chan error, 1), line: make(chan string, 1024)}
	p.cmd.Stdout = &p.stdout
	errPipe, err := p.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	scanned := make(chan struct{})
	go func() { // drain stderr so the process never blocks on it
		defer close(scanned)
		sc := bufio.NewScanner(errPipe)
		for sc.Scan() {
			p.mu.Lock()
			p.lines = append(p.lines, sc.Text())
			p.mu.Unlock()
			select {
			case p.line <- sc.Text():
			default:
			}
		}
		_, _ = io.Copy(io.Discard, errPipe)
	}()
	go func() {
		<-scanned
		p.done <- p.cmd.Wait()
	}()
	t.Cleanup(func() {
		if p.cmd.ProcessState == nil {
			_ = p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) stderr() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return strings.Join(p.lines, "\n")
}

// waitLine waits (bounded, so that a broken test cannot hang) for a stderr
// line matching re and returns its submatches.
func (p *proc) waitLine(t *testing.T, re *regexp.Regexp) []string {
	t.Helper()
	deadline := time.After(120 * time.Second)
	for {
		select {
		case l := <-p.line:
			if m := re.FindStringSubmatch(l); m != nil {
				return m
			}
		case err := <-p.done:
			p.done <- err
			t.Fatalf("%v ended (%v) before printing a line matching %s:\n%s", p.cmd.Args, err, re, p.stderr())
		case <-deadline:
			t.Fatalf("%v printed no line matching %s:\n%s", p.cmd.Args, re, p.stderr())
		}
	}
}

func (p *proc) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-p.done:
		p.done <- err
		return err
	case <-time.After(120 * time.Second):
		t.Fatalf("%v did not exit:\n%s", p.cmd.Args, p.stderr())
		return nil
	}
}

// node runs the binary to completion.
func node(t *testing.T, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	cmd := exec.Command(nodeBinary(t), args...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err := cmd.Run()
	if ee, ok := err.(*exec.ExitError); ok {
		return o.String(), e.String(), ee.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	return o.String(), e.String(), 0
}

// TestDemoSensorToMotor follows docs/demo.md with the real binary: a brain
// listening on NATS, a motor watch, one sensor frame; the watch prints a
// motor frame in which neurons fired, the burst after the one the brain
// acknowledged for the sensor frame, firing the voxels that the reference
// runner fires for the same input.
func TestDemoSensorToMotor(t *testing.T) {
	creds := filepath.Join(t.TempDir(), "creds")
	if _, errOut, code := node(t, "nats-creds", "--dir", creds); code != 0 {
		t.Fatalf("nats-creds: exit %d: %s", code, errOut)
	}
	brain := startProc(t, "run", "--genome", demoGenome, "--nats-listen", "127.0.0.1:-1",
		"--nats-users", filepath.Join(creds, "users.yaml"), "--nats-creds", filepath.Join(creds, "node.creds"))
	// The clients below take the sensor role's credentials from the
	// environment, as docs/demo.md does (the brain has started already).
	t.Setenv(envNATSCreds, filepath.Join(creds, "sensor.creds"))
	url := brain.waitLine(t, regexp.MustCompile(`NATS listening.* url=(nats://127\.0\.0\.1:\d+)`))[1]

	watch := startProc(t, "motor", "watch", "--nats", url, "--count", "1", "--timeout", "120s")
	watch.waitLine(t, regexp.MustCompile(`watching motor frames`))

	out, errOut, code := node(t, "sensor", "send", "--nats", url, demoSensor, strings.Fields(demoPoints)[0], strings.Fields(demoPoints)[1])
	m := regexp.MustCompile(`sent 2 points to "Proximity sensor" \(aW1pcwoAAAA=\): lands in burst (\d+)`).FindStringSubmatch(out)
	if code != 0 || m == nil {
		t.Fatalf("sensor send: exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	var landed uint64
	fmt.Sscan(m[1], &landed)

	if err := watch.wait(t); err != nil {
		t.Fatalf("motor watch: %v\n%s", err, watch.stderr())
	}
	var frame struct {
		Area   string       `json:"area"`
		Name   string       `json:"name"`
		Burst  uint64       `json:"burst"`
		Points [][4]float64 `json:"points"`
	}
	if err := json.Unmarshal(watch.stdout.Bytes(), &frame); err != nil {
		t.Fatalf("motor watch printed %q: %v", watch.stdout.String(), err)
	}
	if frame.Area != demoMotor || frame.Name != "Motor control" || len(frame.Points) == 0 {
		t.Fatalf("motor frame %s: want a non-empty frame of %s named Motor control", watch.stdout.String(), demoMotor)
	}
	if frame.Burst != landed+1 {
		t.Errorf("motor frame of burst %d; want %d, the burst after the sensor frame landed", frame.Burst, landed+1)
	}
	var got [][3]float64
	for _, p := range frame.Points {
		got = append(got, [3]float64{p[0], p[1], p[2]})
	}
	if want := referenceMotorVoxels(t); !slices.Equal(got, want) {
		t.Errorf("motor voxels %v; the reference runner fires %v for the same input", got, want)
	}

	// The same brain refuses an area it does not have, naming its areas.
	_, errOut, code = node(t, "sensor", "send", "--nats", url, "--points", "0,0,0,1", "c__nope")
	if code != 1 || !strings.Contains(errOut, `no area "c__nope"`) || !strings.Contains(errOut, `i__pro (ipu "Proximity sensor")`) {
		t.Errorf("sensor send to an unknown area: exit %d, stderr %q", code, errOut)
	}
	// The motor area by the name the genome gives it, --all printing a
	// frame where nothing fired.
	out, errOut, code = node(t, "motor", "watch", "--nats", url, "--all", "--count", "1", "--timeout", "120s", "Motor control")
	if code != 0 || !strings.Contains(out, `"area":"`+demoMotor+`","name":"Motor control"`) || !strings.Contains(out, `"points":[]`) {
		t.Errorf("motor watch 'Motor control' --all: exit %d, stdout %q, stderr %q", code, out, errOut)
	}

	if err := brain.cmd.Process.Signal(syscall.SIGINT); err != nil {
		t.Fatal(err)
	}
	if err := brain.wait(t); err != nil {
		t.Errorf("brain: %v\n%s", err, brain.stderr())
	}
}

// referenceMotorVoxels runs the demo's input through the reference runner
// (a schedule with the frame at burst 1) and returns the voxels of o__mot
// that fire at burst 2.
func referenceMotorVoxels(t *testing.T) [][3]float64 {
	t.Helper()
	dir := t.TempDir()
	var pts [][4]float64
	for _, f := range strings.Fields(demoPoints) {
		var p [4]float64
		fmt.Sscanf(f, "%g,%g,%g,%g", &p[0], &p[1], &p[2], &p[3])
		pts = append(pts, p)
	}
	line, _ := json.Marshal(map[string]any{"burst": 1, "area": demoSensor, "points": pts})
	inputs, record := filepath.Join(dir, "in.jsonl"), filepath.Join(dir, "rec.jsonl")
	if err := os.WriteFile(inputs, append(line, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, errOut, code := node(t, "run", "--genome", demoGenome, "--runner", "reference", "--free", "--bursts", "2",
		"--inputs", inputs, "--record", record, "--quiet"); code != 0 {
		t.Fatalf("reference run: exit %d: %s", code, errOut)
	}
	data, err := os.ReadFile(record)
	if err != nil {
		t.Fatal(err)
	}
	var last struct {
		Fired map[string][]uint32 `json:"fired"`
	}
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &last); err != nil {
		t.Fatal(err)
	}
	var out [][3]float64
	for _, n := range last.Fired[demoMotor] { // o__mot is 4×1×10, one neuron per voxel
		out = append(out, [3]float64{float64(n / 10), 0, float64(n % 10)})
	}
	if len(out) == 0 {
		t.Fatalf("the reference runner fires no motor neuron for the demo's input: %s", data)
	}
	return out
}

// TestSensorSendWithoutBrain: with nothing listening, sensor send suggests
// starting the brain with --nats-listen; with a NATS server but no brain,
// it says that no brain answers.
func TestSensorSendWithoutBrain(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	var stdout, stderr bytes.Buffer
	code := dispatch([]string{"sensor", "send", "i__pro", "0,0,0,1", "--nats", "nats://" + addr}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "--nats-listen") || !strings.Contains(stderr.String(), addr) {
		t.Errorf("no server: exit %d, stderr %q; want 1 and a hint to start the brain with --nats-listen", code, stderr.String())
	}
	s := natstest.Start(t)
	stderr.Reset()
	code = dispatch([]string{"sensor", "send", "i__pro", "0,0,0,1", "--nats", s.ClientURL()}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), `no brain named "brain"`) || !strings.Contains(stderr.String(), "--nats-listen") {
		t.Errorf("no brain: exit %d, stderr %q; want 1 and a hint that no brain uses the server", code, stderr.String())
	}
	stderr.Reset()
	code = dispatch([]string{"motor", "watch", "o__mot", "--nats", s.ClientURL(), "--timeout", "1s"}, &stdout, &stderr)
	if code != 1 || !strings.Contains(stderr.String(), "only a running brain knows") {
		t.Errorf("motor watch o__mot without a brain: exit %d, stderr %q", code, stderr.String())
	}
}

// TestInputsNameAreas: a sensor schedule names its areas in any of the
// ways the command line does, with the same record; an unknown name is
// dropped, not taken for another area.
func TestInputsNameAreas(t *testing.T) {
	dir := t.TempDir()
	var first string
	for i, area := range []string{demoSensor, "aW1pcwoAAAA=", "aW1pcwoAAAA", "Proximity sensor", "proximity sensor"} {
		inputs, record := filepath.Join(dir, fmt.Sprint("in", i)), filepath.Join(dir, fmt.Sprint("rec", i))
		line, _ := json.Marshal(map[string]any{"burst": 1, "area": area, "points": [][4]float64{{0, 0, 0, 10}}})
		if err := os.WriteFile(inputs, append(line, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		var stdout, stderr bytes.Buffer
		if code := dispatch([]string{"run", "--genome", demoGenome, "--runner", "reference", "--free", "--bursts", "3",
			"--inputs", inputs, "--record", record, "--quiet"}, &stdout, &stderr); code != 0 {
			t.Fatalf("%q: exit %d: %s", area, code, stderr.String())
		}
		rec := mustRead(t, record)
		switch {
		case i == 0:
			if !strings.Contains(rec, demoMotor) {
				t.Fatalf("%q: the motor area never fires:\n%s", area, rec)
			}
			first = rec
		case area == "proximity sensor": // names match exactly
			if strings.Contains(rec, demoMotor) || !strings.Contains(stderr.String(), "1 sensor frames") {
				t.Errorf("%q: taken for an area (stderr %q):\n%s", area, stderr.String(), rec)
			}
		case rec != first:
			t.Errorf("%q: record\n%s\ndiffers from that of %q:\n%s", area, rec, demoSensor, first)
		}
	}
}
