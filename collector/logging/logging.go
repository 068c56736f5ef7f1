// Package logging makes the collector's logger: slog text or JSON lines,
// at a level, to stderr or to the file log.file names.
package logging

import (
	"fmt"
	"io"
	"log/slog"
	"os"
)

// New returns a logger that writes to w in format, "text" or "json", at
// level, "debug", "info", "warn" or "error" (slog.Level's names). Its
// errors name the run command's flags that give them, --log-format and
// --log-level.
func New(w io.Writer, format, level string) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level: %w", err)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch format {
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("--log-format %q: want text or json", format)
}

// Open is New writing to file (log.file: appended to, created if need
// be), or to stderr when file is "". The caller calls done when it no
// longer logs.
func Open(file string, stderr io.Writer, format, level string) (log *slog.Logger, done func(), err error) {
	w, done := stderr, func() {}
	if file != "" {
		f, err := os.OpenFile(file, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
		if err != nil {
			return nil, nil, fmt.Errorf("log.file: %w", err)
		}
		w, done = f, func() { f.Close() }
	}
	if log, err = New(w, format, level); err != nil {
		done()
		return nil, nil, err
	}
	return log, done, nil
}
