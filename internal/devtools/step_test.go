package devtools

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// TestRunSteps: the steps run in order, each announced when it starts and
// when it ends with its duration; the first failure ends the sequence, its
// error names the step and wraps the cause, and the steps after it do not
// run.
func TestRunSteps(t *testing.T) {
	cause := errors.New("port taken")
	for _, tc := range []struct {
		name    string
		fail    string   // the step that fails, if any
		ran     []string // the steps that ran
		wantErr string
		lines   []string // the runner's lines, without the elapsed time
	}{
		{
			name: "all succeed",
			ran:  []string{"start a", "start b", "print c"},
			lines: []string{
				"step 1/3 start a", "step 1/3 start a: done in",
				"step 2/3 start b", "step 2/3 start b: done in",
				"step 3/3 print c", "step 3/3 print c: done in",
			},
		},
		{
			name: "the first fails", fail: "start a",
			ran:     []string{"start a"},
			wantErr: `step 1/3 "start a": port taken`,
			lines:   []string{"step 1/3 start a", "step 1/3 start a: failed after"},
		},
		{
			name: "a middle one fails", fail: "start b",
			ran:     []string{"start a", "start b"},
			wantErr: `step 2/3 "start b": port taken`,
			lines: []string{
				"step 1/3 start a", "step 1/3 start a: done in",
				"step 2/3 start b", "step 2/3 start b: failed after",
			},
		},
		{
			name: "the last fails", fail: "print c",
			ran:     []string{"start a", "start b", "print c"},
			wantErr: `step 3/3 "print c": port taken`,
			lines: []string{
				"step 1/3 start a", "step 1/3 start a: done in",
				"step 2/3 start b", "step 2/3 start b: done in",
				"step 3/3 print c", "step 3/3 print c: failed after",
			},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var ran []string
			var steps []step
			for _, name := range []string{"start a", "start b", "print c"} {
				steps = append(steps, step{name, func(context.Context) error {
					ran = append(ran, name)
					if name == tc.fail {
						return cause
					}
					return nil
				}})
			}
			var out bytes.Buffer
			err := runSteps(context.Background(), &out, steps)
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("runSteps: %v", err)
				}
			} else if err == nil || err.Error() != tc.wantErr || !errors.Is(err, cause) {
				t.Errorf("runSteps: %v, want %q wrapping %q", err, tc.wantErr, cause)
			}
			if !slices.Equal(ran, tc.ran) {
				t.Errorf("ran %q, want %q", ran, tc.ran)
			}
			var lines []string
			line := regexp.MustCompile(`^\[(\S+)\] (step \d+/\d+ .+?)(?:(: done in|: failed after) (\S+))?$`)
			for _, l := range strings.Split(strings.TrimSpace(out.String()), "\n") {
				if l == "" {
					continue
				}
				m := line.FindStringSubmatch(l)
				if m == nil {
					t.Fatalf("line %q is not a step line, want [elapsed] step n/m name…:\n%s", l, out.String())
				}
				for _, d := range []string{m[1], m[4]} {
					if _, err := time.ParseDuration(d); d != "" && err != nil {
						t.Errorf("line %q: %v", l, err)
					}
				}
				if m[3] != "" && m[4] == "" {
					t.Errorf("line %q: no duration", l)
				}
				lines = append(lines, m[2]+m[3])
			}
			if !slices.Equal(lines, tc.lines) {
				t.Errorf("lines %q, want %q:\n%s", lines, tc.lines, out.String())
			}
		})
	}
}
