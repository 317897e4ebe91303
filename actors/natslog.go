package actors

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// serverLog passes an embedded NATS server's log to the node's logger:
// warnings and errors (refused clients, permission violations, slow
// consumers cut off) at level warn, notices at debug, each kind (format)
// at most once per logEvery with the count of the lines it held back, and
// every secret the server was given blanked out.
type serverLog struct {
	log     *slog.Logger
	secrets []string
	mu      sync.Mutex
	last    map[string]time.Time
	held    map[string]int
}

const serverLogEvery = 10 * time.Second

func newServerLog(log *slog.Logger, secrets []string) *serverLog {
	var s []string
	for _, x := range secrets {
		if x != "" {
			s = append(s, x)
		}
	}
	return &serverLog{log: log.With("lib", "nats-server"), secrets: s, last: map[string]time.Time{}, held: map[string]int{}}
}

// redact blanks out every secret in s.
func redact(s string, secrets []string) string {
	for _, x := range secrets {
		if x != "" {
			s = strings.ReplaceAll(s, x, "REDACTED")
		}
	}
	return s
}

func (l *serverLog) emit(level slog.Level, format string, v []any) {
	if !l.log.Enabled(context.Background(), level) {
		return
	}
	l.mu.Lock()
	now := time.Now()
	if t, ok := l.last[format]; ok && now.Sub(t) < serverLogEvery {
		l.held[format]++
		l.mu.Unlock()
		return
	}
	l.last[format] = now
	held := l.held[format]
	l.held[format] = 0
	l.mu.Unlock()
	msg := redact(fmt.Sprintf(format, v...), l.secrets)
	if held > 0 {
		l.log.Log(context.Background(), level, msg, "similar_lines_held_back", held)
		return
	}
	l.log.Log(context.Background(), level, msg)
}

func (l *serverLog) Noticef(format string, v ...any) {
	level := slog.LevelDebug
	if strings.Contains(format, "Slow Consumer") {
		level = slog.LevelWarn
	}
	l.emit(level, format, v)
}
func (l *serverLog) Warnf(format string, v ...any) {
	if strings.HasPrefix(format, "Plaintext passwords detected") {
		// The node's own password: read from its credentials file, it is
		// in this process's memory whatever the server keeps.
		return
	}
	l.emit(slog.LevelWarn, format, v)
}
func (l *serverLog) Fatalf(format string, v ...any) { l.emit(slog.LevelError, format, v) }
func (l *serverLog) Errorf(format string, v ...any) { l.emit(slog.LevelWarn, format, v) }
func (l *serverLog) Debugf(format string, v ...any) { l.emit(slog.LevelDebug, format, v) }
func (l *serverLog) Tracef(string, ...any)          {}
