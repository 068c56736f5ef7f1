package logging_test

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vpcflow/vpcflow/collector/logging"
)

// TestNew: the format and the level are kept; bad ones name their flag.
func TestNew(t *testing.T) {
	for _, tt := range []struct {
		name, format, level string
		want                []string // lines logged by Debug("d") then Info("i", "k", 1), each containing
		wantErr             string
	}{
		{"text at info", "text", "info", []string{`level=INFO msg=i k=1`}, ""},
		{"json at debug", "json", "debug", []string{`"level":"DEBUG","msg":"d"}`, `"level":"INFO","msg":"i","k":1}`}, ""},
		{"warn", "text", "WARN", nil, ""},
		{"bad level", "text", "loud", nil, `--log-level: slog: level string "loud": unknown name`},
		{"bad format", "xml", "info", nil, `--log-format "xml": want text or json`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			log, err := logging.New(&b, tt.format, tt.level)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Debug("d")
			log.Info("i", "k", 1)
			lines := strings.Split(strings.TrimSpace(b.String()), "\n")
			if b.Len() == 0 {
				lines = nil
			}
			if len(lines) != len(tt.want) {
				t.Fatalf("logged %q, want %d lines", b.String(), len(tt.want))
			}
			for i, want := range tt.want {
				if !strings.Contains(lines[i], want) {
					t.Errorf("line %q, want %s", lines[i], want)
				}
			}
		})
	}
}

// TestOpen: to stderr, or appended to log.file; a file that cannot be
// opened is named.
func TestOpen(t *testing.T) {
	dir := t.TempDir()
	existing := filepath.Join(dir, "existing.log")
	if err := os.WriteFile(existing, []byte("before\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name, file string
		level      string
		stderr     string // what stderr holds after Info("hello")
		content    string // what the file holds
		wantErr    string
	}{
		{name: "stderr", level: "info", stderr: "level=INFO msg=hello\n"},
		{name: "new file", file: filepath.Join(dir, "new.log"), level: "info", content: "level=INFO msg=hello\n"},
		{name: "appended", file: existing, level: "info", content: "before\n" + "level=INFO msg=hello\n"},
		{name: "missing folder", file: filepath.Join(dir, "no", "x.log"), level: "info",
			wantErr: "log.file: open " + filepath.Join(dir, "no", "x.log") + ": no such file or directory"},
		{name: "bad level", file: filepath.Join(dir, "other.log"), level: "loud", wantErr: `--log-level: slog: level string "loud": unknown name`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			log, done, err := logging.Open(tt.file, &stderr, "text", tt.level)
			if tt.wantErr != "" {
				if err == nil || err.Error() != tt.wantErr {
					t.Fatalf("err %v, want %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			log.Info("hello")
			done()
			// The time varies: compare what follows it.
			trim := func(s string) string {
				var out []string
				for _, l := range strings.SplitAfter(s, "\n") {
					if _, rest, ok := strings.Cut(l, " level="); ok {
						l = "level=" + rest
					}
					out = append(out, l)
				}
				return strings.Join(out, "")
			}
			if got := trim(stderr.String()); got != tt.stderr {
				t.Errorf("stderr %q, want %q", got, tt.stderr)
			}
			if tt.file != "" {
				data, err := os.ReadFile(tt.file)
				if got := trim(string(data)); err != nil || got != tt.content {
					t.Errorf("file %q (%v), want %q", got, err, tt.content)
				}
			}
		})
	}
}
