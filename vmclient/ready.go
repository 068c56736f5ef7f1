package vmclient

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// UnreachableError is WaitReady's error when the storage stayed out of
// reach for longer than its bound.
type UnreachableError struct {
	// URL is the storage's write URL.
	URL string
	// Waited is how long WaitReady tried.
	Waited time.Duration
	// Err is the last attempt's error.
	Err error
}

// Error implements error.
func (e *UnreachableError) Error() string {
	return fmt.Sprintf("storage %s not reachable for %s: %v", e.URL, e.Waited, e.Err)
}

// Unwrap returns the last attempt's error.
func (e *UnreachableError) Unwrap() error { return e.Err }

// WaitReady checks that the storage is ready for the collector: it
// answers, deduplicates at 1 ms (CheckDedup; with Config.SkipDedupCheck, a
// setting that cannot be read is logged and let pass), and its nodes'
// /metrics say when acknowledged samples are saved to disk
// (CheckDurability). While the storage cannot be reached it waits and
// tries again, at most bound (0: as long as ctx allows), after which it
// returns an *UnreachableError. Its progress goes to Config.Logger.
func (c *Client) WaitReady(ctx context.Context, bound time.Duration) (Durability, error) {
	began := time.Now()
	for wait := time.Second; ; wait = min(2*wait, 30*time.Second) {
		err := c.Ping(ctx)
		if err == nil {
			var dur Durability
			if dur, err = c.checkReady(ctx); err == nil {
				return dur, nil
			}
			if !Unreachable(err) {
				return dur, err
			}
		}
		if bound > 0 && time.Since(began)+wait > bound {
			return Durability{}, &UnreachableError{URL: c.WriteURL(), Waited: time.Since(began).Round(time.Second), Err: err}
		}
		c.logger().Warn("storage not reachable, waiting", "storage", c.WriteURL(), "err", err, "retry_in", wait.String())
		select {
		case <-ctx.Done():
			return Durability{}, ctx.Err()
		case <-time.After(wait):
		}
	}
}

// WaitReadyTimeout is WaitReady bounded by the run command's
// --storage-timeout (0: as long as ctx allows): when the storage stays out
// of reach, its error names the storage, how long it waited and the flag.
func (c *Client) WaitReadyTimeout(ctx context.Context, timeout time.Duration) (Durability, error) {
	dur, err := c.WaitReady(ctx, timeout)
	var ue *UnreachableError
	if errors.As(err, &ue) {
		err = fmt.Errorf("storage %s not reachable for %s (--storage-timeout %s): %w", ue.URL, ue.Waited, timeout, ue.Err)
	}
	return dur, err
}

// checkReady checks the dedup setting and reads the storage nodes' save
// delay.
func (c *Client) checkReady(ctx context.Context) (Durability, error) {
	if err := c.CheckDedup(ctx); err != nil {
		var unknown *DedupUnknownError
		if !errors.As(err, &unknown) || !c.skipDedupCheck || Unreachable(err) {
			return Durability{}, err
		}
		c.logger().Warn("storage dedup setting not checked (skip_dedup_check)", "err", err)
	}
	dur, err := c.CheckDurability(ctx)
	if err != nil {
		return dur, err
	}
	c.logger().Info("storage ready: objects are deleted once their samples are saved to disk",
		"storage", c.WriteURL(), "storage_nodes", strings.Join(c.StorageNodes(), " "), "saved_after", dur.After.String())
	return dur, nil
}

// logger returns Config.Logger, or one that drops everything.
func (c *Client) logger() *slog.Logger {
	if c.log == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.log
}

// Check tells whether the storage suits the collector (its test
// command): it answers and deduplicates at 1 ms (CheckDedup), and its
// nodes' /metrics say when they save acknowledged samples to disk
// (CheckDurability); Config.Timeout bounds each step. It returns what it
// found; warn is a dedup setting that could not be read (a
// *DedupUnknownError, the rest checked all the same), err what fails.
func (c *Client) Check(ctx context.Context) (found string, warn, err error) {
	sctx, cancel := context.WithTimeout(ctx, c.timeout)
	err = c.Ping(sctx)
	if err == nil {
		err = c.CheckDedup(sctx)
	}
	cancel()
	var unknown *DedupUnknownError
	switch {
	case errors.As(err, &unknown):
		found, warn = err.Error(), err
	case err != nil:
		return "", nil, err
	default:
		found = "VictoriaMetrics answers and deduplicates at 1 ms"
	}
	// Objects are deleted only once the storage nodes say their samples
	// are saved: without their /metrics, nothing would ever be deleted.
	sctx, cancel = context.WithTimeout(ctx, c.timeout)
	defer cancel()
	dur, err := c.CheckDurability(sctx)
	if err != nil {
		return found, warn, err
	}
	found += fmt.Sprintf("; it saves acknowledged samples to disk within %s (storage nodes %s), after which objects are deleted",
		dur.After, strings.Join(c.StorageNodes(), " "))
	return found, warn, nil
}
