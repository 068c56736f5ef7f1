package source

import (
	"context"
	"slices"
	"strings"
)

// Origin is an account and region whose flow logs an S3 source holds.
type Origin struct {
	Account, Region string
}

// Origins returns the accounts and regions whose flow log folders are
// under the prefix in the AWS key layouts (plain and Hive-compatible:
// AWSLogs/{account}/vpcflowlogs/{region}/…), sorted, each once. It lists
// the folders only (delimiter listings of the account, service and region
// levels, one request or page each), never the objects; a prefix inside
// the layout narrows the walk as ListSince's does. Values are as the keys
// have them: the caller checks their shape.
//
// A folder exists while it holds an object: a bucket whose objects are
// deleted after ingest shows the accounts and regions of the objects not
// yet ingested.
func (s *S3) Origins(ctx context.Context) ([]Origin, error) {
	var st walkState // no day: every date folder is accepted, and none is listed
	start, level, ok := st.startOf(s.cfg.Prefix)
	if !ok {
		return nil, nil
	}
	var out []Origin
	add := func(folder string) {
		if a, r := KeyContext(folder); a != "" && r != "" {
			out = append(out, Origin{Account: a, Region: r})
		}
	}
	var walk func(prefix string, level int, st walkState) error
	walk = func(prefix string, level int, st walkState) error {
		if level > levelRegion {
			add(prefix)
			return nil
		}
		dirs, _, err := s.listLevel(ctx, prefix)
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
			if err := walk(dir, level+1, next); err != nil {
				return err
			}
		}
		return nil
	}
	if err := walk(start, level, st); err != nil {
		return nil, err
	}
	slices.SortFunc(out, func(a, b Origin) int { return strings.Compare(a.Account+"/"+a.Region, b.Account+"/"+b.Region) })
	return slices.Compact(out), nil
}
