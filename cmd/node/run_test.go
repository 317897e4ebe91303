package main

import (
	"bytes"
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
