package main

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"

	"flag"
)

// logFlags are --log-format and --log-level, shared by every subcommand
// that logs.
type logFlags struct {
	format string
	level  string
}

func (l *logFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&l.format, "log-format", "text", "log record format: text (key=value) or json (one object per line)")
	fs.StringVar(&l.level, "log-level", "", "lowest level logged: debug, info, warn or error (default info; error with --quiet)")
}

// logger returns the logger the flags ask for, writing to w. quiet raises
// the default level to error; an explicit --log-level wins.
func (l *logFlags) logger(w io.Writer, quiet bool) (*slog.Logger, error) {
	level := slog.LevelInfo
	if quiet {
		level = slog.LevelError
	}
	switch strings.ToLower(l.level) {
	case "":
	case "debug":
		level = slog.LevelDebug
	case "info":
		level = slog.LevelInfo
	case "warn", "warning":
		level = slog.LevelWarn
	case "error":
		level = slog.LevelError
	default:
		return nil, fmt.Errorf("--log-level %q: want debug, info, warn or error", l.level)
	}
	opts := &slog.HandlerOptions{Level: level}
	switch strings.ToLower(l.format) {
	case "text", "":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	default:
		return nil, fmt.Errorf("--log-format %q: want text or json", l.format)
	}
}

// isTerminal reports whether w is a terminal.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	fi, err := f.Stat()
	return err == nil && fi.Mode()&os.ModeCharDevice != 0
}
