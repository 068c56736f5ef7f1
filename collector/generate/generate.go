// Package generate writes deterministic, realistic synthetic VPC flow log
// objects, laid out and encoded as AWS delivers them to S3: one object per
// flow log (one per VPC) per 5-minute interval, gzipped text with a header
// line or Parquet, under AWS's key layout. The traffic follows a skewed mix
// of intra-VPC client/server pairs logged at both interfaces, NAT gateway
// and internet gateway egress, load balancers, AWS services, scanners and
// refused connections; see traffic.go for the model.
//
// The same Config (Seed included) always yields byte-identical objects and
// keys.
package generate

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"time"

	"github.com/vpcflow/vpcflow/collector/flowlog"
)

// Config describes what to generate. Zero values take the defaults noted.
type Config struct {
	// Records is the total number of records to write across all objects:
	// OK, NODATA and SKIPDATA lines, not counting header lines.
	Records int
	// Seed selects the data: the same Seed and Config give byte-identical
	// output.
	Seed int64
	// Format is the columns to write; nil means flowlog.DefaultFormat() (v2).
	// Any subset and order of known fields is allowed if it holds the
	// fields flowlog.Required returns.
	Format *flowlog.Format
	// Parquet writes Parquet objects (.log.parquet) instead of text.
	Parquet bool
	// Plain writes text without gzip (.log); the default is gzip (.log.gz).
	Plain bool
	// Hive uses the Hive-compatible key layout, with hourly partitions.
	Hive bool
	// Start is the start of the first 5-minute interval; required.
	Start time.Time
	// Duration is the span of the data; default 1h.
	Duration time.Duration
	// ENIs is the number of network interfaces; default 50, at least two
	// per VPC.
	ENIs int
	// VPCs is the number of VPCs, each with one flow log; default 3.
	VPCs int
	// Accounts is the number of AWS accounts the VPCs are spread over;
	// default 1, at most VPCs.
	Accounts int
	// Region is the AWS region; default "us-east-1".
	Region string
	// Observe, when set, is called with every record written, in write
	// order, as a decoder reads it back: ground truth for tests. The record
	// is reused after Observe returns.
	Observe func(key string, r *flowlog.Record)
}

// Defaults of Config.
const (
	DefaultDuration = time.Hour
	DefaultENIs     = 50
	DefaultVPCs     = 3
	DefaultAccounts = 1
	DefaultRegion   = "us-east-1"
)

// Interval is the time span of one object: AWS publishes each flow log's
// records every 5 minutes.
const Interval = 5 * time.Minute

// Summary counts what Generate wrote.
type Summary struct {
	Objects  int    // objects written
	Records  int64  // records written (OK + NODATA + SKIPDATA)
	OK       int64  // records with log-status OK
	NoData   int64  // NODATA records
	SkipData int64  // SKIPDATA records
	Bytes    uint64 // sum of bytes over OK records
	Packets  uint64 // sum of packets over OK records
	// StoredBytes is the size of the objects as written to the sink.
	StoredBytes int64
	// TextBytes is the size of the text before compression (0 for Parquet).
	TextBytes int64
}

func (c *Config) setDefaults() error {
	if c.Records < 0 {
		return fmt.Errorf("records %d is negative", c.Records)
	}
	if c.Start.IsZero() {
		return errors.New("start time is required")
	}
	c.Start = c.Start.UTC()
	if c.Format == nil {
		c.Format = flowlog.DefaultFormat()
	}
	if len(c.Format.Unknown()) > 0 {
		return fmt.Errorf("format has fields that are not flow log fields: %v", c.Format.Unknown())
	}
	if missing := c.Format.MissingRequired(); len(missing) > 0 {
		return fmt.Errorf("format lacks required fields %v", missing)
	}
	if c.Duration <= 0 {
		c.Duration = DefaultDuration
	}
	if c.ENIs <= 0 {
		c.ENIs = DefaultENIs
	}
	if c.VPCs <= 0 {
		c.VPCs = DefaultVPCs
	}
	if c.Accounts <= 0 {
		c.Accounts = DefaultAccounts
	}
	if c.Region == "" {
		c.Region = DefaultRegion
	}
	if c.ENIs < minIfacesPerVPC*c.VPCs {
		return fmt.Errorf("%d interfaces are too few for %d VPCs (at least %d each)", c.ENIs, c.VPCs, minIfacesPerVPC)
	}
	if c.Accounts > c.VPCs {
		return fmt.Errorf("%d accounts need at least as many VPCs, not %d", c.Accounts, c.VPCs)
	}
	return nil
}

// object is one object to write.
type object struct {
	vp      *vpc
	t0, t1  int64 // the interval, Unix seconds
	records int
}

// plan spreads the records over the VPCs' flow logs and the intervals,
// weighted by VPC activity and by a daily cycle, in delivery order.
func plan(cfg *Config, topo *topology) []object {
	rng := rand.New(rand.NewPCG(uint64(cfg.Seed), 0x706c616e)) // "plan"
	start := cfg.Start.Unix()
	end := cfg.Start.Add(cfg.Duration).Unix()
	end = max(end, start+1)
	var objects []object
	var weights []float64
	for t0 := start; t0 < end; t0 += int64(Interval / time.Second) {
		t1 := min(t0+int64(Interval/time.Second), end)
		hour := float64(t0%86400) / 3600
		daily := 1 + 0.35*math.Sin(2*math.Pi*(hour-9)/24) // busiest at 15:00 UTC
		cover := float64(t1-t0) / Interval.Seconds()
		for _, vp := range topo.vpcs {
			objects = append(objects, object{vp: vp, t0: t0, t1: t1})
			weights = append(weights, vp.weight*daily*cover*(0.85+0.3*rng.Float64()))
		}
	}
	counts := apportion(cfg.Records, len(objects), func(i int) float64 { return weights[i] })
	for i := range objects {
		objects[i].records = counts[i]
	}
	return objects
}

// key returns the S3 key AWS gives the object of flow log vp for the
// interval starting at t.
func (c *Config) key(vp *vpc, t time.Time, hash uint32) string {
	ext := ".log.gz"
	switch {
	case c.Parquet:
		ext = ".log.parquet"
	case c.Plain:
		ext = ".log"
	}
	name := fmt.Sprintf("%s_vpcflowlogs_%s_%s_%s_%08x%s", vp.account, c.Region, vp.flowLogID, t.Format("20060102T1504Z"), hash, ext)
	if c.Hive {
		return fmt.Sprintf("AWSLogs/aws-account-id=%s/aws-service=vpcflowlogs/aws-region=%s/year=%04d/month=%02d/day=%02d/hour=%02d/%s",
			vp.account, c.Region, t.Year(), t.Month(), t.Day(), t.Hour(), name)
	}
	return fmt.Sprintf("AWSLogs/%s/vpcflowlogs/%s/%04d/%02d/%02d/%s", vp.account, c.Region, t.Year(), t.Month(), t.Day(), name)
}

// Status lines: about 1.5% of an object's records are NODATA, and a
// quarter of the objects have a few SKIPDATA lines.
const (
	noDataShare  = 0.015
	skipDataOdds = 4
)

// Generate writes the objects cfg describes to sink, one after another,
// and returns what it wrote. It stops at the first error.
func Generate(cfg Config, sink Sink) (Summary, error) {
	var sum Summary
	if err := cfg.setDefaults(); err != nil {
		return sum, fmt.Errorf("generate: %w", err)
	}
	topo, err := newTopology(&cfg)
	if err != nil {
		return sum, fmt.Errorf("generate: %w", err)
	}
	r := newRenderer(cfg.Format, cfg.Region)
	var ow objectWriter
	if cfg.Parquet {
		ow = newParquetWriter(r)
	} else {
		ow = newTextWriter(r, !cfg.Plain)
	}
	pcg := rand.NewPCG(0, 0)
	g := &objectGen{rng: rand.New(pcg), topo: topo}
	out := bufio.NewWriterSize(nil, 256<<10)
	var rec flowlog.Record
	var buf []byte
	for i, obj := range objectsOf(&cfg, topo) {
		pcg.Seed(uint64(cfg.Seed), 0x6f626a6563740000+uint64(i)) // "object"
		g.vp, g.t0, g.t1, g.n = obj.vp, obj.t0, obj.t1, 0
		key := cfg.key(obj.vp, time.Unix(obj.t0, 0).UTC(), g.rng.Uint32())
		wc, err := sink.Create(key)
		if err != nil {
			return sum, fmt.Errorf("create %s: %w", key, err)
		}
		cw := &countingWriter{w: wc}
		out.Reset(cw)
		ow.begin(out)

		n := obj.records
		noData := int(noDataShare*float64(n) + g.rng.Float64())
		skipData := 0
		if n >= 20 && g.rng.IntN(skipDataOdds) == 0 {
			skipData = 1 + g.rng.IntN(3)
		}
		var fl flow
		for left := n; left > 0; left-- {
			switch status := noData + skipData; {
			case status > 0 && g.rng.IntN(left) < status:
				if g.rng.IntN(status) < noData {
					g.statusRecord(&fl, flowlog.StatusNoData)
					noData--
				} else {
					g.statusRecord(&fl, flowlog.StatusSkipData)
					skipData--
				}
			default:
				g.next(&fl)
			}
			if err := ow.write(&fl); err != nil {
				abort(wc)
				return sum, fmt.Errorf("write %s: %w", key, err)
			}
			sum.count(&fl)
			if cfg.Observe != nil {
				if buf, err = r.record(&rec, &fl, buf[:0]); err != nil {
					abort(wc)
					return sum, fmt.Errorf("%s: %w", key, err)
				}
				cfg.Observe(key, &rec)
			}
		}
		text, err := ow.end()
		if err == nil {
			err = out.Flush()
		}
		if err != nil {
			abort(wc)
			return sum, fmt.Errorf("write %s: %w", key, err)
		}
		if err := wc.Close(); err != nil {
			return sum, fmt.Errorf("close %s: %w", key, err)
		}
		sum.Objects++
		sum.StoredBytes += cw.n
		sum.TextBytes += text
	}
	return sum, nil
}

// abort gives up an object that could not be written completely: the sink
// drops it when it can (Dir does), or it is closed as it is.
func abort(wc io.WriteCloser) {
	if a, ok := wc.(interface{ Abort() }); ok {
		a.Abort()
		return
	}
	wc.Close()
}

// objectsOf returns the objects to write: those with records.
func objectsOf(cfg *Config, topo *topology) []object {
	all := plan(cfg, topo)
	out := all[:0]
	for _, o := range all {
		if o.records > 0 {
			out = append(out, o)
		}
	}
	return out
}

func (s *Summary) count(fl *flow) {
	s.Records++
	switch fl.status {
	case flowlog.StatusOK:
		s.OK++
		s.Bytes += fl.bytes
		s.Packets += fl.packets
	case flowlog.StatusNoData:
		s.NoData++
	case flowlog.StatusSkipData:
		s.SkipData++
	}
}
