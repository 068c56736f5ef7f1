package pipeline

import (
	"context"
	"sync"
	"time"
)

// startProgress logs a progress line every Options.Progress.
func (p *Pipeline) startProgress(ctx context.Context) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	began := time.Now()
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(p.opts.Progress)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				p.logProgress(began)
			}
		}
	})
	return func() {
		cancel()
		wg.Wait()
		p.logProgress(began)
	}
}

func (p *Pipeline) logProgress(began time.Time) {
	s := &p.stats
	elapsed := time.Since(began).Seconds()
	args := []any{"objects", s.Objects.Load(), "records", s.Records.Load(),
		"records_per_second", int64(float64(s.Records.Load()) / max(elapsed, 1e-9)),
		"backlog", s.Backlog.Load(), "quarantined", s.Quarantined.Load(), "bad_lines", s.BadLines.Load()}
	if end := s.NewestEnd.Load(); end > 0 {
		args = append(args, "lag", time.Since(time.Unix(end, 0)).Round(time.Second).String())
	}
	if backlog, done := s.Backlog.Load(), s.Objects.Load(); backlog > 0 && done > 0 {
		eta := time.Duration(float64(backlog) / (float64(done) / max(elapsed, 1e-9)) * float64(time.Second))
		args = append(args, "eta", eta.Round(time.Second).String())
	}
	p.log.Info("progress", args...)
}
