package capread

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// counter counts what is read through it.
type counter struct {
	r io.Reader
	n int64
}

func (c *counter) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// zeros is an endless reader, like /dev/zero.
type zeros struct{}

func (zeros) Read(p []byte) (int, error) {
	clear(p)
	return len(p), nil
}

func tooLarge(t *testing.T, err error) *TooLargeError {
	t.Helper()
	var tl *TooLargeError
	if !errors.As(err, &tl) {
		t.Fatalf("want a *TooLargeError, got %v", err)
	}
	return tl
}

func TestReadFileDevZero(t *testing.T) {
	const limit = 1 << 20
	data, err := ReadFile("/dev/zero", limit, "--max-genome-size")
	if data != nil || tooLarge(t, err).Max != limit {
		t.Fatalf("data %d bytes, error %v", len(data), err)
	}
	if want := "/dev/zero: larger than the cap of 1 MiB (raise it with --max-genome-size)"; err.Error() != want {
		t.Errorf("error %q, want %q", err, want)
	}
}

// TestReadEndlessReadsAtMostTheCap: an endless input is read up to one
// byte past the cap, in a bounded number of buffers.
func TestReadEndlessReadsAtMostTheCap(t *testing.T) {
	const limit = 8 << 20
	c := &counter{r: zeros{}}
	if _, err := Read(c, "stdin", limit, "--max"); tooLarge(t, err).Name != "stdin" {
		t.Fatal(err)
	}
	if c.n != limit+1 {
		t.Errorf("read %d bytes for a cap of %d", c.n, limit)
	}
	allocs := testing.AllocsPerRun(3, func() { Read(zeros{}, "z", limit, "") })
	// 64 KiB doubling to 4 MiB, then 4 MiB chunks: 8 buffers, the chunk
	// list and the error.
	if allocs > 16 {
		t.Errorf("%v allocations to refuse an endless input", allocs)
	}
}

func TestReadFileSizes(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, 1, 1000, 64 << 10, 64<<10 + 1, 300 << 10} {
		want := bytes.Repeat([]byte("abcdefg"), size/7+1)[:size]
		path := filepath.Join(dir, "f")
		if err := os.WriteFile(path, want, 0o644); err != nil {
			t.Fatal(err)
		}
		for _, limit := range []int64{int64(size), int64(size) + 1, 1 << 30} {
			got, err := ReadFile(path, limit, "")
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("size %d cap %d: %d bytes, %v", size, limit, len(got), err)
			}
			got, err = Read(bytes.NewReader(want), "r", limit, "")
			if err != nil || !bytes.Equal(got, want) {
				t.Errorf("reader of %d cap %d: %d bytes, %v", size, limit, len(got), err)
			}
		}
		if size > 0 {
			if _, err := ReadFile(path, int64(size)-1, "--f"); tooLarge(t, err).Name != path {
				t.Errorf("size %d, cap %d: %v", size, size-1, err)
			}
		}
	}
	if _, err := ReadFile(filepath.Join(dir, "none"), 10, ""); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
}

// TestReadFileFIFO: a FIFO whose writer never stops is refused at the cap.
func TestReadFileFIFO(t *testing.T) {
	path := filepath.Join(t.TempDir(), "fifo")
	if err := syscall.Mkfifo(path, 0o600); err != nil {
		t.Fatal(err)
	}
	stop := make(chan struct{})
	done := make(chan int64)
	go func() {
		f, err := os.OpenFile(path, os.O_WRONLY, 0)
		if err != nil {
			done <- -1
			return
		}
		defer f.Close()
		var n int64
		buf := make([]byte, 4096)
		for {
			select {
			case <-stop:
				done <- n
				return
			default:
			}
			m, err := f.Write(buf)
			n += int64(m)
			if err != nil { // the reader closed
				done <- n
				return
			}
		}
	}()
	_, err := ReadFile(path, 100<<10, "--cap")
	close(stop)
	<-done
	if tooLarge(t, err).Max != 100<<10 || !strings.Contains(err.Error(), "fifo: larger than the cap of 100 KiB (raise it with --cap)") {
		t.Errorf("fifo: %v", err)
	}
}

func TestLines(t *testing.T) {
	in := "one\r\n\n" + strings.Repeat("x", 10) + "\n" + strings.Repeat("y", 11) + "\nlast"
	l := NewLines(strings.NewReader(in), "inputs.jsonl", 10, "--max-line")
	var got []string
	for l.Scan() {
		got = append(got, l.Text())
	}
	if strings.Join(got, "|") != "one||xxxxxxxxxx" || l.Line() != 4 {
		t.Errorf("lines %q, at line %d", got, l.Line())
	}
	tl := tooLarge(t, l.Err())
	if tl.Line != 4 || l.Err().Error() != "inputs.jsonl:4: line longer than the cap of 10 B (raise it with --max-line)" {
		t.Errorf("error %v", l.Err())
	}
	if l.Scan() {
		t.Error("Scan after an error")
	}

	// An endless line is refused having read about the cap.
	const limit = 1 << 20
	c := &counter{r: zeros{}}
	l = NewLines(c, "zero", limit, "--max-line")
	if l.Scan() || tooLarge(t, l.Err()).Line != 1 {
		t.Errorf("endless line: %v", l.Err())
	}
	if c.n > 2*limit {
		t.Errorf("read %d bytes for a line cap of %d", c.n, limit)
	}

	// A last line without a newline, and an empty input.
	for in, want := range map[string]string{"a\nb": "a|b", "": "", "\n": ""} {
		l := NewLines(strings.NewReader(in), "f", 4, "")
		var got []string
		for l.Scan() {
			got = append(got, string(l.Bytes()))
		}
		if strings.Join(got, "|") != want || l.Err() != nil {
			t.Errorf("%q: %q, %v", in, got, l.Err())
		}
	}
}

func TestParseSize(t *testing.T) {
	for in, want := range map[string]int64{
		"0": 0, "4096": 4096, "512MiB": 512 << 20, "4GiB": 4 << 30, "4gib": 4 << 30, "1.5G": 3 << 29,
		"64 MiB": 64 << 20, "10KB": 10 << 10, "2T": 2 << 40, "100B": 100, "1k": 1024,
	} {
		if got, err := ParseSize(in); err != nil || got != want {
			t.Errorf("ParseSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, in := range []string{"", "MiB", "-1", "1e9", "0x10", "abc", "4 GiBs", "NaN", "Inf", "99999999999TiB"} {
		if got, err := ParseSize(in); err == nil {
			t.Errorf("ParseSize(%q) = %d, want an error", in, got)
		}
	}
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 64 << 20: "64 MiB", 7 << 30: "7 GiB"} {
		if got := FormatSize(n); got != want {
			t.Errorf("FormatSize(%d) = %q, want %q", n, got, want)
		}
	}
}
