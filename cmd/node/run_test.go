package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestRunCommandFlags(t *testing.T) {
	var out, errb bytes.Buffer
	path := filepath.Join(t.TempDir(), "rec.jsonl")
	if code := runCommand([]string{"--bursts", "3", "--free", "--record", path, "--seed", "7"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if out.Len() != 0 {
		t.Fatalf("stdout not clean: %q", out.String())
	}
	if n := strings.Count(mustRead(t, path), "\n"); n != 3 || !strings.Contains(errb.String(), "summary: 3 bursts") {
		t.Fatalf("%d record lines; stderr %s", n, errb.String())
	}
	if code := runCommand([]string{"--bogus"}, &out, &errb); code != 2 {
		t.Fatalf("bad flag: exit %d", code)
	}
}

// TestRunLogFlags: --log-format json makes every log record a JSON object,
// --log-level hides records below it, and bad values are usage errors.
func TestRunLogFlags(t *testing.T) {
	var out, errb bytes.Buffer
	if code := runCommand([]string{"--bursts", "2", "--free", "--log-format", "json", "--log-level", "debug"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	grown := false
	for _, l := range strings.Split(strings.TrimSpace(errb.String()), "\n") {
		if strings.HasPrefix(l, "summary:") || strings.HasPrefix(l, "spikes per area:") {
			continue
		}
		var rec map[string]any
		if err := json.Unmarshal([]byte(l), &rec); err != nil {
			t.Fatalf("log line %q is not JSON: %v", l, err)
		}
		grown = grown || rec["msg"] == "brain grown"
	}
	if !grown {
		t.Fatalf("no JSON 'brain grown' record:\n%s", errb.String())
	}
	errb.Reset()
	if code := runCommand([]string{"--bursts", "2", "--free", "--log-level", "error"}, &out, &errb); code != 0 {
		t.Fatalf("exit %d: %s", code, errb.String())
	}
	if strings.Contains(errb.String(), "brain grown") || !strings.Contains(errb.String(), "summary: 2 bursts") {
		t.Fatalf("--log-level error:\n%s", errb.String())
	}
	for _, args := range [][]string{{"--log-format", "xml"}, {"--log-level", "loud"}, {"--rate", "0"}, {"--rate", "NaN"}, {"--rate", "-3"}} {
		errb.Reset()
		if code := runCommand(append([]string{"--bursts", "1"}, args...), &out, &errb); code != 2 || !strings.Contains(errb.String(), args[0]) {
			t.Fatalf("%v: exit %d, stderr %q; want 2 and a message naming %s", args, code, errb.String(), args[0])
		}
	}
}
