package vmclient

import (
	"math/rand/v2"
	"time"
)

// bound returns the longest wait after failed attempt number attempt
// (from 1): min(Max, Initial·2^(attempt-1)).
func (b Backoff) bound(attempt int) time.Duration {
	d := b.Initial
	for i := 1; i < attempt && d < b.Max; i++ {
		d *= 2
	}
	return min(d, b.Max)
}

// wait returns a random wait in [0, bound(attempt)] ("full jitter", so that
// collectors retrying together spread out).
func (b Backoff) wait(attempt int) time.Duration {
	bound := b.bound(attempt)
	if bound <= 0 {
		return 0
	}
	return time.Duration(rand.Int64N(int64(bound) + 1))
}
