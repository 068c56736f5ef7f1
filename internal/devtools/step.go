package devtools

import (
	"context"
	"fmt"
	"io"
	"time"
)

// step is one named stage of a long target such as the demo.
type step struct {
	name string
	run  func(ctx context.Context) error
}

// runSteps runs steps in order. Each one's name is printed to w when it
// starts and again, with its duration, when it ends; every line begins
// with the time elapsed since the first step started. The first step that
// fails ends the sequence: the steps after it do not run, and the error
// names the failed step.
func runSteps(ctx context.Context, w io.Writer, steps []step) error {
	began := time.Now()
	elapsed := func(since time.Time) string { return time.Since(since).Round(100 * time.Millisecond).String() }
	for i, s := range steps {
		at := time.Now()
		if i > 0 {
			fmt.Fprintln(w)
		}
		fmt.Fprintf(w, "[%s] step %d/%d %s\n", elapsed(began), i+1, len(steps), s.name)
		if err := s.run(ctx); err != nil {
			fmt.Fprintf(w, "[%s] step %d/%d %s: failed after %s\n", elapsed(began), i+1, len(steps), s.name, elapsed(at))
			return fmt.Errorf("step %d/%d %q: %w", i+1, len(steps), s.name, err)
		}
		fmt.Fprintf(w, "[%s] step %d/%d %s: done in %s\n", elapsed(began), i+1, len(steps), s.name, elapsed(at))
	}
	return nil
}
