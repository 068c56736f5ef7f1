package vmclient

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"syscall"
	"time"
)

// failingLogEvery is how often a storage that keeps failing is logged
// again: the first failure is logged at once, then one line this often
// with the number of attempts, and its recovery once.
const failingLogEvery = 30 * time.Second

// Health is the storage's state as this client's writes and durability
// checks saw it (queries do not count: a refused query says little about
// the storage).
type Health struct {
	// Up is false from a failed write attempt or check until the next one
	// that works.
	Up bool
	// Since is when Up last changed (or when the client was made).
	Since time.Time
	// LastError is the latest failure, without secrets; "" if none yet.
	LastError string
	// FailedAttempts counts the failed attempts since the storage went
	// down; 0 while it is up.
	FailedAttempts uint64
	// LastSuccess is when a write or check last worked (zero if none yet).
	LastSuccess time.Time
	// Restarts counts the storage node restarts CheckDurability saw.
	Restarts uint64
}

// Health returns the storage's state.
func (c *Client) Health() Health {
	c.healthMu.Lock()
	defer c.healthMu.Unlock()
	h := c.health
	h.Restarts = c.restarts.Load()
	return h
}

// WatchFailures ends a run bounded by the run command's --storage-timeout:
// once the storage has been failing (Health) for longer than timeout, it
// calls stop with the reason, then returns; it checks every second, and
// returns when ctx is done.
func (c *Client) WatchFailures(ctx context.Context, timeout time.Duration, stop context.CancelCauseFunc) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if h := c.Health(); !h.Up && time.Since(h.Since) > timeout {
			stop(fmt.Errorf("storage %s failing for %s (--storage-timeout %s; %d failed attempts, last: %s): "+
				"its objects stay in the source, and what was written is written again by the next run",
				c.WriteURL(), time.Since(h.Since).Round(time.Second), timeout, h.FailedAttempts, h.LastError))
			return
		}
	}
}

// noteFailure records a failed write attempt or check and logs it, at
// most once every failingLogEvery while the failures go on.
func (c *Client) noteFailure(err error) {
	now := time.Now()
	c.healthMu.Lock()
	defer c.healthMu.Unlock()
	h := &c.health
	first := h.Up
	if first {
		h.Up, h.Since, h.FailedAttempts = false, now, 0
	}
	h.FailedAttempts++
	h.LastError = err.Error()
	if c.log == nil || (!first && now.Sub(c.loggedFailure) < failingLogEvery) {
		return
	}
	c.loggedFailure = now
	msg := "storage failing; its data waits in the source (nothing is deleted before it is stored)"
	if !first {
		msg = "storage still failing"
	}
	c.log.Warn(msg, "storage", c.writeURL, "failing_for", now.Sub(h.Since).Round(time.Second).String(),
		"failed_attempts", h.FailedAttempts, "err", h.LastError)
}

// noteSuccess records a write or check that worked, and logs a recovery.
func (c *Client) noteSuccess() {
	now := time.Now()
	c.healthMu.Lock()
	defer c.healthMu.Unlock()
	h := &c.health
	h.LastSuccess = now
	if h.Up {
		return
	}
	if c.log != nil {
		c.log.Info("storage works again", "storage", c.writeURL, "was_failing_for", now.Sub(h.Since).Round(time.Second).String(),
			"failed_attempts", h.FailedAttempts)
	}
	h.Up, h.Since, h.FailedAttempts = true, now, 0
}

// Unreachable reports whether err says the storage could not be reached
// or is unavailable for now (a connection error, a timeout, HTTP 5xx, 408
// or 429): waiting may help. Other errors (a refused request, an answer
// that is not what was expected) need a change of configuration.
func Unreachable(err error) bool {
	var re *RequestError
	if errors.As(err, &re) {
		return re.Temporary()
	}
	var ne net.Error
	return errors.As(err, &ne) || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, io.EOF) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ECONNRESET)
}
