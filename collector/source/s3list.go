package source

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	s3types "github.com/aws/aws-sdk-go-v2/service/s3/types"
)

// The levels of the AWS key layouts below "AWSLogs/":
//
//	{account}/vpcflowlogs/{region}/{yyyy}/{MM}/{dd}/[{HH}/]file
//	aws-account-id={account}/aws-service=vpcflowlogs/aws-region={region}/year={yyyy}/month={MM}/day={dd}/[hour={HH}/]file
const (
	levelAccount = iota
	levelService
	levelRegion
	levelYear
	levelMonth
	levelDay
	levelFiles // the day's objects, hour folders included
)

// walkState is what a walk down the layout knows so far.
type walkState struct {
	hive       bool
	year, mon  int
	sinceYMD   int // yyyymmdd
	sinceYear  int
	sinceMonth int // yyyymm
}

// ListSince returns the flow log objects under the prefix in the AWS key
// layouts (plain and Hive-compatible) whose date folder is day or later
// (UTC), ordered by key. Rather than listing the whole bucket, it walks
// the layout with delimiter listings: the accounts under AWSLogs/, their
// vpcflowlogs regions, and the date folders from day on, then lists each
// of those days. Other AWS services' logs (AWSLogs/{account}/CloudTrail/…)
// are never listed. Meant for a bucket whose objects are kept after
// ingest, where List would read every key ever delivered: pass a day or
// two before the oldest object not yet ingested, as AWS may deliver an
// object after its day's folder started.
//
// The prefix is the flow log destination's folder (keys start with
// PREFIX/AWSLogs/; a prefix without a trailing '/' gets one), or a key
// prefix inside the layout (AWSLogs/123456789012/vpcflowlogs/). Objects
// outside the layout are not listed: use List for them.
func (s *S3) ListSince(ctx context.Context, day time.Time) ([]Object, error) {
	day = day.UTC()
	st := walkState{
		sinceYMD:   day.Year()*10000 + int(day.Month())*100 + day.Day(),
		sinceYear:  day.Year(),
		sinceMonth: day.Year()*100 + int(day.Month()),
	}
	start, level, ok := st.startOf(s.cfg.Prefix)
	if !ok {
		return nil, nil
	}
	var (
		mu  sync.Mutex
		out []Object
	)
	add := func(o s3types.Object) {
		if IsFlowLog(*o.Key) {
			mu.Lock()
			out = append(out, objectOf(o))
			mu.Unlock()
		}
	}
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(s.cfg.ListConcurrency)
	var walk func(prefix string, level int, st walkState) error
	walk = func(prefix string, level int, st walkState) error {
		if level >= levelFiles {
			return s.listTree(gctx, prefix, add)
		}
		dirs, _, err := s.listLevel(gctx, prefix)
		if err != nil {
			return err
		}
		parent := prefix[:strings.LastIndexByte(prefix, '/')+1]
		for _, dir := range dirs {
			seg := strings.TrimSuffix(strings.TrimPrefix(dir, parent), "/")
			next, ok := st.accept(level, seg)
			if !ok {
				continue
			}
			task := func() error { return walk(dir, level+1, next) }
			// Run it beside when a slot is free, else here: waiting for
			// a slot from inside a task could deadlock.
			if !g.TryGo(task) {
				if err := task(); err != nil {
					return err
				}
			}
		}
		return nil
	}
	g.Go(func() error { return walk(start, level, st) })
	if err := g.Wait(); err != nil {
		return nil, err
	}
	sortObjects(out)
	return out, nil
}

// startOf returns where a walk starts for the configured prefix: the
// prefix's AWSLogs/ folder at the account level, or, for a prefix inside
// the layout, the prefix itself at the level it reaches. ok is false when
// the prefix's own date folders are before the day.
func (st *walkState) startOf(prefix string) (start string, level int, ok bool) {
	i := -1
	for j := 0; ; {
		k := strings.Index(prefix[j:], "AWSLogs/")
		if k < 0 {
			break
		}
		if k += j; k == 0 || prefix[k-1] == '/' {
			i = k
			break
		}
		j = k + 1
	}
	if i < 0 {
		if prefix != "" && !strings.HasSuffix(prefix, "/") {
			prefix += "/"
		}
		return prefix + "AWSLogs/", levelAccount, true
	}
	rest := prefix[i+len("AWSLogs/"):]
	segs := strings.Split(rest, "/")
	complete := segs[:len(segs)-1]
	for level, seg := range complete {
		if level >= levelFiles {
			break
		}
		next, ok := st.accept(level, seg)
		if !ok {
			return "", 0, false
		}
		*st = next
	}
	return prefix, min(len(complete), levelFiles), true
}

// accept reports whether the folder seg at level belongs to the layout
// and, for a date folder, is not before the day; it returns the state for
// the level below.
func (st walkState) accept(level int, seg string) (walkState, bool) {
	value := func(key string) (string, bool) {
		if !st.hive {
			return seg, !strings.Contains(seg, "=")
		}
		return strings.CutPrefix(seg, key+"=")
	}
	number := func(key string, digits int) (int, bool) {
		v, ok := value(key)
		if !ok || len(v) != digits {
			return 0, false
		}
		n, err := strconv.Atoi(v)
		return n, err == nil && n >= 0
	}
	switch level {
	case levelAccount:
		st.hive = strings.HasPrefix(seg, "aws-account-id=")
		v, ok := value("aws-account-id")
		return st, ok && v != ""
	case levelService:
		v, ok := value("aws-service")
		return st, ok && v == "vpcflowlogs"
	case levelRegion:
		v, ok := value("aws-region")
		return st, ok && v != ""
	case levelYear:
		y, ok := number("year", 4)
		st.year = y
		return st, ok && y >= st.sinceYear
	case levelMonth:
		m, ok := number("month", 2)
		st.mon = m
		return st, ok && m >= 1 && m <= 12 && st.year*100+m >= st.sinceMonth
	case levelDay:
		d, ok := number("day", 2)
		return st, ok && d >= 1 && d <= 31 && st.year*10000+st.mon*100+d >= st.sinceYMD
	}
	return st, true
}
