package brain

import (
	"io"
	"sync"
)

// Console is a stream (normally stderr) shared by log records and, on a
// terminal, a live status line that is redrawn in place. Everything written
// to a Console (log records: give it to a slog handler as its writer) first
// erases the status line and then draws it again below, so that the two
// never collide on the screen. Off a terminal there is no status line and a
// Console only serializes writes. Safe for concurrent use.
//
// slog's handlers write each record with one Write call, which keeps a
// record whole; a writer that splits a line over several calls gets the
// status line redrawn between the pieces.
type Console struct {
	mu       sync.Mutex
	w        io.Writer
	terminal bool
	line     []byte // the status line on screen; nil when none
	buf      []byte
}

// NewConsole returns a Console writing to w; terminal says that w is a
// terminal that understands carriage return and erase-to-end-of-line.
func NewConsole(w io.Writer, terminal bool) *Console {
	return &Console{w: w, terminal: terminal}
}

// Terminal reports whether the console draws a status line.
func (c *Console) Terminal() bool { return c.terminal }

// Write writes p above the status line.
func (c *Console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.line == nil {
		return c.w.Write(p)
	}
	// One write: erase the status line, p, the status line again.
	c.buf = append(append(c.buf[:0], "\r\x1b[K"...), p...)
	if len(p) > 0 && p[len(p)-1] != '\n' {
		c.buf = append(c.buf, '\n')
	}
	c.buf = append(append(c.buf, c.line...), "\x1b[K"...)
	if _, err := c.w.Write(c.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// Status replaces the status line with s (one line, no newline). It does
// nothing off a terminal.
func (c *Console) Status(s string) {
	if !c.terminal {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.line = append(c.line[:0], s...)
	c.buf = append(append(append(c.buf[:0], '\r'), s...), "\x1b[K"...)
	_, _ = c.w.Write(c.buf)
}

// EndStatus leaves the status line on screen as an ordinary line: what is
// written next starts below it.
func (c *Console) EndStatus() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.line != nil {
		c.line = nil
		_, _ = c.w.Write([]byte{'\n'})
	}
}
