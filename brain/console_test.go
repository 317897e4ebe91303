package brain

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/spikemesh/spikemesh/cortical"
)

// screen replays what a terminal shows for out: '\r' returns to the start
// of the line, ESC [K erases to its end, '\n' starts a new line.
func screen(out string) []string {
	lines := []string{""}
	col := 0
	for i := 0; i < len(out); i++ {
		cur := &lines[len(lines)-1]
		switch {
		case out[i] == '\r':
			col = 0
		case out[i] == '\n':
			lines = append(lines, "")
			col = 0
		case strings.HasPrefix(out[i:], "\x1b[K"):
			*cur = (*cur)[:col]
			i += 2
		default:
			if col < len(*cur) {
				*cur = (*cur)[:col] + string(out[i]) + (*cur)[col+1:]
			} else {
				*cur += string(out[i])
			}
			col++
		}
	}
	return lines
}

func TestConsoleKeepsLogAndStatusApart(t *testing.T) {
	var out bytes.Buffer
	c := NewConsole(&out, true)
	log := slog.New(slog.NewTextHandler(c, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		}}))
	var wg sync.WaitGroup
	for g := range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range 50 {
				log.Info("record", "g", g, "i", i)
			}
		}()
	}
	for i := range 200 {
		c.Status(fmt.Sprintf("burst %d status", i))
	}
	wg.Wait()
	c.EndStatus()
	fmt.Fprintln(c, "summary")

	status := regexp.MustCompile(`^burst \d+ status$`)
	record := regexp.MustCompile(`^level=INFO msg=record g=\d i=\d+$`)
	records := 0
	lines := screen(out.String())
	for _, l := range lines[:len(lines)-2] {
		switch {
		case record.MatchString(l):
			records++
		case status.MatchString(l):
		default:
			t.Fatalf("screen line %q is neither a whole log record nor the status line", l)
		}
	}
	if records != 200 || lines[len(lines)-2] != "summary" {
		t.Fatalf("%d log records on screen, want 200; last lines %q", records, lines[len(lines)-3:])
	}
	// Off a terminal, nothing but the records.
	out.Reset()
	c = NewConsole(&out, false)
	c.Status("burst 1")
	fmt.Fprintln(c, "plain")
	c.EndStatus()
	if out.String() != "plain\n" {
		t.Fatalf("off a terminal: %q", out.String())
	}
}

// TestGrowInterrupted: cancelling while the brain grows returns at once
// with ErrInterrupted, however long growth itself would take.
func TestGrowInterrupted(t *testing.T) {
	release := make(chan struct{})
	defer close(release)
	started := make(chan struct{})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := grow(ctx, func() (*cortical.Plan, error) {
			close(started)
			<-release
			return nil, errors.New("growth finished")
		})
		done <- err
	}()
	<-started
	cancel()
	if err := <-done; !errors.Is(err, ErrInterrupted) || !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted growth: %v", err)
	}
	if _, err := grow(ctx, func() (*cortical.Plan, error) { t.Error("grew with a done context"); return nil, nil }); !errors.Is(err, ErrInterrupted) {
		t.Fatalf("growth after cancel: %v", err)
	}
	if _, err := grow(context.Background(), func() (*cortical.Plan, error) { return nil, errors.New("bad genome") }); err == nil || err.Error() != "bad genome" {
		t.Fatalf("growth error: %v", err)
	}
}
