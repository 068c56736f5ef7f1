package vmclient

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"
)

// Label is one label of a series. The metric name is the label __name__.
type Label struct {
	Name, Value string
}

// Sample is one value at one time.
type Sample struct {
	// Timestamp is in milliseconds since the Unix epoch.
	Timestamp int64
	Value     float64
}

// Series is a labelled set of samples. Labels need not be sorted.
type Series struct {
	Labels  []Label
	Samples []Sample
}

// Stats counts a Client's work since New.
type Stats struct {
	// Requests is the number of write requests sent, retries included.
	Requests uint64
	// Retries is the number of failed write attempts that were retried.
	Retries uint64
	// Failures is the number of write requests that failed permanently
	// (HTTP 4xx other than 408 and 429).
	Failures uint64
	// BytesSent is the compressed size of every write request sent,
	// retries included.
	BytesSent uint64
	// Series and Samples count what the storage acknowledged.
	Series, Samples uint64
}

// Stats returns the counters.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:  c.requests.Load(),
		Retries:   c.retries.Load(),
		Failures:  c.failures.Load(),
		BytesSent: c.bytesSent.Load(),
		Series:    c.series.Load(),
		Samples:   c.samplesWrote.Load(),
	}
}

// Write sends series in requests of at most MaxSeriesPerRequest series each,
// in order. Each request is retried with backoff on connection errors,
// timeouts, HTTP 5xx, 408 and 429, for as long as ctx allows; then Write
// returns ctx's error, wrapped. Any other HTTP error is permanent and
// returned at once as a *RequestError. When Write returns nil, every sample
// was acknowledged; after an error some requests may have been, so the
// caller writes the whole batch again, which deduplication
// (-dedup.minScrapeInterval=1ms) makes harmless since the same series encode
// to the same samples.
func (c *Client) Write(ctx context.Context, series []Series) error {
	enc := c.encoders.Get().(*encoder)
	defer c.encoders.Put(enc)
	for len(series) > 0 {
		chunk := series[:min(len(series), c.maxSeries)]
		series = series[len(chunk):]
		body, err := enc.encode(chunk)
		if err != nil {
			return fmt.Errorf("write %s: %w", c.writeURL, err)
		}
		if err := c.send(ctx, body); err != nil {
			return err
		}
		c.series.Add(uint64(len(chunk)))
		c.samplesWrote.Add(uint64(countSamples(chunk)))
	}
	return nil
}

// WriteBatch sends the batch's requests in order, each retried as Write
// retries. When it returns nil, every sample of the batch was acknowledged;
// after an error the caller sends the whole batch again.
func (c *Client) WriteBatch(ctx context.Context, b *Batch) error {
	for _, body := range b.Requests() {
		if err := c.send(ctx, body); err != nil {
			return err
		}
	}
	series, samples := b.Len()
	c.series.Add(uint64(series))
	c.samplesWrote.Add(uint64(samples))
	return nil
}

// send POSTs one compressed write request until it is acknowledged, fails
// permanently, or ctx is done.
func (c *Client) send(ctx context.Context, body []byte) error {
	for attempt := 1; ; attempt++ {
		c.requests.Add(1)
		c.bytesSent.Add(uint64(len(body)))
		err := c.post(ctx, body)
		if err == nil {
			c.noteSuccess()
			return nil
		}
		if ctx.Err() == nil {
			c.noteFailure(err)
		}
		if ctx.Err() != nil {
			return fmt.Errorf("write %s: %w (after %d attempts; last: %v)", c.writeURL, ctx.Err(), attempt, err)
		}
		var re *RequestError
		if errors.As(err, &re) && !re.Temporary() {
			c.failures.Add(1)
			return fmt.Errorf("write: %w", err)
		}
		wait := c.backoff.wait(attempt)
		if re != nil && re.retryAfter > wait {
			wait = min(re.retryAfter, c.backoff.Max)
		}
		c.retries.Add(1)
		if c.onRetry != nil {
			c.onRetry(attempt, err, wait)
		}
		timer := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			timer.Stop()
			return fmt.Errorf("write %s: %w (after %d attempts; last: %v)", c.writeURL, ctx.Err(), attempt, err)
		case <-timer.C:
		}
	}
}

// post sends one write request, with the per-request timeout.
func (c *Client) post(ctx context.Context, body []byte) error {
	if c.writeURL == "" {
		return errors.New("VictoriaMetrics: no write URL: the client was made for queries only (a vmselect URL)")
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.writeURL, bytes.NewReader(body))
	if err != nil {
		return fmt.Errorf("write %s: %w", c.writeURL, err)
	}
	req.Header.Set("Content-Encoding", "snappy")
	req.Header.Set("Content-Type", "application/x-protobuf")
	req.Header.Set("X-Prometheus-Remote-Write-Version", "0.1.0")
	_, err = c.do(req, maxErrorBody)
	return err
}

// Ping checks that the storage answers and accepts our credentials: it
// POSTs an empty write request to the write URL (so the path, tenant and
// authorization of writes are checked without writing anything) and reads
// the query API's /api/v1/status/buildinfo. It does not retry.
func (c *Client) Ping(ctx context.Context) error {
	enc := c.encoders.Get().(*encoder)
	defer c.encoders.Put(enc)
	body, err := enc.encode(nil)
	if err != nil {
		return err
	}
	if err := c.post(ctx, body); err != nil {
		err = fmt.Errorf("ping: %w", err)
		c.noteFailure(err)
		return err
	}
	if _, err := c.Get(ctx, "/api/v1/status/buildinfo", nil); err != nil {
		err = fmt.Errorf("ping: %w", err)
		c.noteFailure(err)
		return err
	}
	c.noteSuccess()
	return nil
}
