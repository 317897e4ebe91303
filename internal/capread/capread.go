// Package capread reads files and lines of outside input with a size cap,
// so that a huge or endless input (/dev/zero, a pipe that never closes
// its write end, a FIFO) is refused after at most the cap, not read into
// memory. Its errors name the input, the cap and the flag that raises it.
package capread

import (
	"bufio"
	"errors"
	"fmt"
	"github.com/spikemesh/spikemesh/internal/units"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// TooLargeError is an input refused for its size.
type TooLargeError struct {
	Name string // the file, or what was read
	Line int    // for a line: its number (from 1); 0 for a whole input
	Max  int64  // the cap, in bytes
	Flag string // the flag that raises the cap ("" none)
}

func (e *TooLargeError) Error() string {
	what := fmt.Sprintf("%s: larger than the cap of %s", e.Name, FormatSize(e.Max))
	if e.Line > 0 {
		what = fmt.Sprintf("%s:%d: line longer than the cap of %s", e.Name, e.Line, FormatSize(e.Max))
	}
	if e.Flag == "" {
		return what
	}
	return what + " (raise it with " + e.Flag + ")"
}

// ReadFile reads the file at path, refusing it with a *TooLargeError when
// it holds more than max bytes. It never reads more than max+1 bytes,
// whatever the file is: the size is checked on what is read, not on what
// the file system says.
func ReadFile(path string, maxBytes int64, flag string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	hint := int64(0)
	if st, err := f.Stat(); err == nil && st.Mode().IsRegular() {
		hint = st.Size()
	}
	return read(f, path, maxBytes, flag, hint)
}

// Read reads r to its end like ReadFile; name names r in the error.
func Read(r io.Reader, name string, maxBytes int64, flag string) ([]byte, error) {
	return read(r, name, maxBytes, flag, 0)
}

const (
	firstChunk = 64 << 10
	maxChunk   = 4 << 20
)

// read reads at most maxBytes+1 bytes from r in chunks that grow to maxChunk,
// so that refusing an endless input holds little more than max bytes and
// reading a file of known size (hint) takes one buffer.
func read(r io.Reader, name string, maxBytes int64, flag string, hint int64) ([]byte, error) {
	maxBytes = max(maxBytes, 0)
	limit := maxBytes
	if limit < math.MaxInt64 {
		limit++
	}
	lr := io.LimitReader(r, limit)
	size := int64(firstChunk)
	if hint > 0 {
		size = hint + 1 // one more byte to see the end
	}
	var chunks [][]byte
	var total int64
	for {
		size = min(size, limit-total) // > 0: total ≤ maxBytes < limit
		buf := make([]byte, size)
		n, err := io.ReadFull(lr, buf)
		chunks = append(chunks, buf[:n])
		total += int64(n)
		if total > maxBytes {
			return nil, &TooLargeError{Name: name, Max: maxBytes, Flag: flag}
		}
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", name, err)
		}
		size = min(2*size, maxChunk)
	}
	if len(chunks) == 1 {
		return chunks[0], nil
	}
	out := make([]byte, 0, total)
	for _, c := range chunks {
		out = append(out, c...)
	}
	return out, nil
}

// Lines reads lines (JSON lines, say) of at most a given length. Like
// bufio.Scanner, a final line need not end with a newline, and a line's
// "\r\n" ending is dropped.
type Lines struct {
	sc   *bufio.Scanner
	name string
	max  int
	flag string
	line int
	err  error
}

// NewLines reads r line by line, refusing a line longer than maxLine bytes
// (without its line ending) with a *TooLargeError naming name, the line
// number and flag. It holds at most about maxLine bytes at a time.
func NewLines(r io.Reader, name string, maxLine int, flag string) *Lines {
	maxLine = min(max(maxLine, 1), math.MaxInt-3)
	sc := bufio.NewScanner(r)
	// Room for the longest line, its "\r\n", and one byte more to tell a
	// line of maxLine+1 bytes from one of maxLine.
	sc.Buffer(make([]byte, 0, min(maxLine+3, 64<<10)), maxLine+3)
	return &Lines{sc: sc, name: name, max: maxLine, flag: flag}
}

// Scan advances to the next line; false at the end or on an error (Err).
func (l *Lines) Scan() bool {
	if l.err != nil {
		return false
	}
	if !l.sc.Scan() {
		if err := l.sc.Err(); err != nil {
			l.line++
			l.err = fmt.Errorf("%s:%d: %w", l.name, l.line, err)
			if errors.Is(err, bufio.ErrTooLong) {
				l.err = &TooLargeError{Name: l.name, Line: l.line, Max: int64(l.max), Flag: l.flag}
			}
		}
		return false
	}
	l.line++
	if len(l.sc.Bytes()) > l.max {
		l.err = &TooLargeError{Name: l.name, Line: l.line, Max: int64(l.max), Flag: l.flag}
		return false
	}
	return true
}

// Bytes is the current line, valid until the next Scan.
func (l *Lines) Bytes() []byte { return l.sc.Bytes() }

// Text is the current line as a string.
func (l *Lines) Text() string { return l.sc.Text() }

// Line is the number of the current line, from 1 (after an error, of the
// line that could not be read).
func (l *Lines) Line() int { return l.line }

// Err is the error that ended Scan, nil at the end of the input.
func (l *Lines) Err() error { return l.err }

// FormatSize writes a byte count with a binary unit (units.Bytes).
func FormatSize(n int64) string { return units.Bytes(n) }

// ParseSize reads a byte count: a plain number of bytes, or a number
// (possibly with a fraction) and a unit: B, KiB, MiB, GiB, TiB, powers of
// 1024 (K, M, G, T and KB, MB, GB, TB mean the same), case-insensitive,
// e.g. 512MiB, 4GiB, 1.5G.
func ParseSize(s string) (int64, error) {
	num, mult := strings.TrimSpace(s), 1.0
	for _, u := range sizeUnits {
		if len(num) > len(u.suffix) && strings.EqualFold(num[len(num)-len(u.suffix):], u.suffix) {
			num, mult = strings.TrimSpace(num[:len(num)-len(u.suffix)]), u.mult
			break
		}
	}
	v, err := strconv.ParseFloat(num, 64)
	if err != nil || strings.ContainsAny(num, "eExXpP_+-") || math.IsInf(v, 0) || math.IsNaN(v) {
		return 0, fmt.Errorf("size %q: want bytes or a number with a unit (KiB, MiB, GiB, TiB), e.g. 512MiB", s)
	}
	b := v * mult
	if b >= math.MaxInt64 {
		return 0, fmt.Errorf("size %q: out of range", s)
	}
	return int64(b), nil
}

var sizeUnits = []struct {
	suffix string
	mult   float64
}{
	{"KiB", 1 << 10}, {"MiB", 1 << 20}, {"GiB", 1 << 30}, {"TiB", 1 << 40},
	{"KB", 1 << 10}, {"MB", 1 << 20}, {"GB", 1 << 30}, {"TB", 1 << 40},
	{"K", 1 << 10}, {"M", 1 << 20}, {"G", 1 << 30}, {"T", 1 << 40}, {"B", 1},
}
