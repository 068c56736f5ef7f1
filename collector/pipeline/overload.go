package pipeline

import (
	"fmt"
	"time"

	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

// pausedSource is a source paused because the collector cannot keep up,
// and why.
type pausedSource struct {
	name, reason string
}

// objectTime is the time an object stands for when its age is measured:
// the time its key names (source.KeyTime), else its modification time.
func objectTime(o source.Object) time.Time {
	if t, ok := source.KeyTime(o.Key); ok {
		return t
	}
	return o.ModTime
}

// waiting returns, for each i, the time of the oldest of objs[i:]
// (objectTime); the last element, for none left, is the zero time.
func waiting(objs []source.Object) []time.Time {
	out := make([]time.Time, len(objs)+1)
	for i := len(objs) - 1; i >= 0; i-- {
		t := objectTime(objs[i])
		if next := out[i+1]; !next.IsZero() && next.Before(t) {
			t = next
		}
		out[i] = t
	}
	return out
}

// setWaiting records the oldest object still waiting (zero: none).
func setWaiting(src *sourceRun, oldest time.Time) {
	var at int64
	if !oldest.IsZero() {
		at = max(oldest.Unix(), 1) // 0 means none
	}
	src.stats.OldestWaiting.Store(at)
}

// pausedReason returns why the named source is paused, if it is.
func (p *Pipeline) pausedReason(name string) (string, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, s := range p.paused {
		if s.name == name {
			return s.reason, true
		}
	}
	return "", false
}

// checkOverload runs after each round over the sources (runs, in
// configuration order, as the round saw them): when a source collected
// waited longer than Options.MaxLag at its listing, it pauses the most
// recently added source still collected (the last in the configuration;
// never the first, whose pause would leave nothing collected; a source
// whose first run backfills old objects does not count as waiting); when every
// source collected waited less than half of it, it resumes the most
// recently paused. After each pause or resume it lets a round pass, so that
// the sources left get a round to catch up before another is paused.
func (p *Pipeline) checkOverload(runs []*sourceRun) {
	if p.opts.MaxLag <= 0 {
		return
	}
	var active []*sourceRun
	var worst *sourceRun
	caughtUp := true
	for _, s := range runs {
		if s.Disabled || s.limited {
			continue
		}
		if _, paused := p.pausedReason(s.Name()); paused {
			continue
		}
		active = append(active, s)
		if !s.listed {
			continue // its listing failed: its status says why, its age is not known
		}
		if s.backfilling {
			continue // its first run collects old objects on purpose: its age says nothing of the load
		}
		if s.age > p.opts.MaxLag && (worst == nil || s.age > worst.age) {
			worst = s
		}
		if s.age >= p.opts.MaxLag/2 {
			caughtUp = false
		}
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.calm > 0 {
		p.calm--
		return
	}
	switch {
	case worst != nil && len(active) > 1:
		victim := active[len(active)-1]
		reason := fmt.Sprintf("collector overloaded: the oldest object waiting in source %s is %s old, over overload.max_lag (%s): "+
			"%s, the most recently added source still collected, is paused until the others catch up",
			worst.Name(), worst.age.Round(time.Second), p.opts.MaxLag, victim.Name())
		p.paused = append(p.paused, pausedSource{victim.Name(), reason})
		p.calm = 1
		p.log.Warn("source paused: the collector cannot keep up", "source", victim.Name(), "status", string(sourcestate.StatusUnresourced),
			"lagging_source", worst.Name(), "backlog_age", worst.age.Round(time.Second).String(), "max_lag", p.opts.MaxLag.String())
		victim.log().Warn("source paused: the collector cannot keep up", "source", victim.Name(), "status", string(sourcestate.StatusUnresourced), "reason", reason)
	case caughtUp && len(p.paused) > 0:
		last := p.paused[len(p.paused)-1]
		p.paused = p.paused[:len(p.paused)-1]
		p.calm = 1
		p.log.Info("source resumed: the sources collected caught up", "source", last.name, "max_lag", p.opts.MaxLag.String(), "still_paused", len(p.paused))
	}
}
