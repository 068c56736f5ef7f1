// Package entitysync runs the entity sync (package awssync) inside the
// collector: which accounts and regions it syncs, with which credentials,
// at start and every interval, a bounded number at once, without ever
// holding up ingestion; it writes their vpcflow_entity_info series to
// VictoriaMetrics and keeps the outcome of each for /metrics. Its Config
// is the collector configuration's sync section. docs/names.md is the
// contract for readers of the series.
package entitysync

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/source"
)

// Defaults of Config.
const (
	// DefaultInterval is the time between two syncs of an account·region,
	// as Scrutinizer's awssync (hourly).
	DefaultInterval = time.Hour
	// DefaultTimeout bounds one account·region's sync: its Describe
	// requests (retries included) and its write.
	DefaultTimeout = 10 * time.Minute
	// DefaultConcurrency is how many account·regions are synced at once.
	DefaultConcurrency = 4
)

// MinInterval is the shortest interval the configuration accepts: every
// sync sends at least five requests per account·region to the EC2 API,
// whose request rate is limited per account.
const MinInterval = time.Minute

// Config is the collector configuration's sync section.
type Config struct {
	// Enabled turns the sync on or off. The configuration's default
	// (collector/config): on for instance 0 when there is AWS to ask (an
	// account listed in Accounts, Endpoint given, or an s3 source without
	// an endpoint of its own, which reads AWS itself), off otherwise (a
	// folder-only collector, or one reading an S3-compatible server). IsEnabled
	// reads it.
	Enabled *bool `yaml:"enabled"`
	// Interval is the time between two syncs of every account·region;
	// default DefaultInterval, at least MinInterval.
	Interval time.Duration `yaml:"interval"`
	// Timeout bounds one account·region's sync, its write included;
	// default DefaultTimeout.
	Timeout time.Duration `yaml:"timeout"`
	// Concurrency is how many account·regions are synced at once; default
	// DefaultConcurrency.
	Concurrency int `yaml:"concurrency"`
	// Tags are the tag keys copied as labels tag_<key>
	// (awssync.TagLabel); the Name tag is always the name label.
	Tags []string `yaml:"tags"`
	// Endpoint replaces the EC2 endpoint of every region (a VPC endpoint,
	// a test server); an account's own Endpoint wins.
	Endpoint string `yaml:"endpoint"`
	// MaxAttempts and MaxBackoff bound the retries of one request
	// (throttling, 5xx answers, timeouts); defaults
	// awssync.DefaultMaxAttempts and awssync.DefaultMaxBackoff.
	MaxAttempts int           `yaml:"max_attempts"`
	MaxBackoff  time.Duration `yaml:"max_backoff"`
	// Accounts lists the accounts to sync, with their credentials. Left
	// out, the sync takes the accounts and regions the flow logs show,
	// with the credentials of the s3 source they come from (Targets).
	Accounts []Account `yaml:"accounts"`
}

// Account is an account the sync describes.
type Account struct {
	// AccountID is the account's id, 12 digits (required): the account_id
	// label of its series. The sync checks that the credentials describe
	// this account's interfaces and instances.
	AccountID string `yaml:"account_id"`
	// Regions are synced; left out, the regions the flow logs show for
	// the account.
	Regions []string `yaml:"regions"`
	// Credentials are given as a source's: static keys inline, from the
	// environment or a file; none for the AWS default chain; role_arn with
	// external_id to assume a role in the account.
	Credentials source.Credentials `yaml:"credentials"`
	// Endpoint replaces the EC2 endpoint for this account (default: the
	// section's).
	Endpoint string `yaml:"endpoint"`
}

// DefaultConfig returns the defaults of Config (Enabled aside, which
// depends on the rest of the configuration).
func DefaultConfig() Config {
	return Config{Interval: DefaultInterval, Timeout: DefaultTimeout, Concurrency: DefaultConcurrency,
		MaxAttempts: awssync.DefaultMaxAttempts, MaxBackoff: awssync.DefaultMaxBackoff}
}

// IsEnabled reports whether the sync runs: Enabled set and true (the
// configuration sets it, default included).
func (c Config) IsEnabled() bool { return c.Enabled != nil && *c.Enabled }

// needsDiscovery reports whether Targets needs the accounts and regions
// the flow logs show: no accounts listed, or one without regions.
func (c Config) needsDiscovery() bool {
	return len(c.Accounts) == 0 || slices.ContainsFunc(c.Accounts, func(a Account) bool { return len(a.Regions) == 0 })
}

// Target is one account·region to sync and how.
type Target struct {
	// Account (12 digits) and Region are synced; the series are labelled
	// with them.
	Account, Region string
	// Credentials and Endpoint are those of the sync.
	Credentials source.Credentials
	Endpoint    string
	// From says where the target comes from, for messages:
	// "sync.accounts[0]", or "source prod" for the accounts and regions
	// learned from a source's flow logs.
	From string
}

// String is ACCOUNT/REGION.
func (t Target) String() string { return t.Account + "/" + t.Region }

// Learned is an account and region a source's flow logs show: a folder
// of its AWS key layout (source.S3.Origins), or the labels of its records
// stored (the pipeline's exporters).
type Learned struct {
	Source, Account, Region string
}

// validAccount reports whether v is an account id: 12 digits.
func validAccount(v string) bool {
	return len(v) == 12 && flowlog.ValidString(flowlog.AccountID, []byte(v))
}

// validRegion reports whether v has a region's shape.
func validRegion(v string) bool { return flowlog.ValidString(flowlog.Region, []byte(v)) }

// Targets returns the account·regions to sync, sorted by account and
// region, each once:
//
//   - with Accounts listed, each account's regions (or, for one without
//     regions, the regions learned for it), with its credentials and
//     endpoint (or the section's); nothing else;
//   - without, every account and region learned from an enabled s3
//     source, with that source's credentials (the first such source in
//     the configuration's order, when several show one) and the section's
//     endpoint. Dir sources have no credentials: what only they show is
//     not synced.
//
// A learned account or region without its shape (12 digits; a region
// name) is left out.
func (c Config) Targets(sources []source.Config, learned []Learned) []Target {
	var out []Target
	seen := map[[2]string]bool{}
	add := func(t Target) {
		k := [2]string{t.Account, t.Region}
		if seen[k] || !validAccount(t.Account) || !validRegion(t.Region) {
			return
		}
		seen[k] = true
		out = append(out, t)
	}
	if len(c.Accounts) > 0 {
		for i, a := range c.Accounts {
			endpoint := orElse(a.Endpoint, c.Endpoint)
			from := fmt.Sprintf("sync.accounts[%d]", i)
			regions := a.Regions
			if len(regions) == 0 {
				for _, l := range learned {
					if l.Account == a.AccountID {
						regions = append(regions, l.Region)
					}
				}
				slices.Sort(regions)
			}
			for _, r := range regions {
				add(Target{Account: a.AccountID, Region: r, Credentials: a.Credentials, Endpoint: endpoint, From: from})
			}
		}
	} else {
		order := map[string]int{}
		byName := map[string]source.Config{}
		for i, s := range sources {
			if s.Type == source.TypeS3 && s.IsEnabled() {
				order[s.Name], byName[s.Name] = i, s
			}
		}
		ls := slices.Clone(learned)
		slices.SortStableFunc(ls, func(a, b Learned) int { return order[a.Source] - order[b.Source] })
		for _, l := range ls {
			if s, ok := byName[l.Source]; ok {
				add(Target{Account: l.Account, Region: l.Region, Credentials: s.Credentials, Endpoint: c.Endpoint, From: "source " + s.Name})
			}
		}
	}
	slices.SortFunc(out, func(a, b Target) int { return strings.Compare(a.String(), b.String()) })
	return out
}

// orElse returns a, or b when a is empty.
func orElse(a, b string) string {
	if a != "" {
		return a
	}
	return b
}

// ResolveTargets returns Targets with the accounts and regions of the
// sources' flow log folders (Discover, each source's listing bounded by
// timeout, when Targets needs them: no accounts listed, or one without
// regions), and the errors of the sources that could not be listed.
func (c Config) ResolveTargets(ctx context.Context, sources []source.Config, timeout time.Duration) ([]Target, []error) {
	var learned []Learned
	var errs []error
	if c.needsDiscovery() {
		learned, errs = Discover(ctx, sources, timeout)
	}
	return c.Targets(sources, learned), errs
}

// Discover returns the accounts and regions of the flow log folders of
// the enabled s3 sources (source.S3.Origins), each source's listing
// bounded by timeout, and an error per source that could not be listed
// (naming it); the other sources' are still returned.
func Discover(ctx context.Context, sources []source.Config, timeout time.Duration) ([]Learned, []error) {
	var out []Learned
	var errs []error
	for _, sc := range sources {
		if sc.Type != source.TypeS3 || !sc.IsEnabled() {
			continue
		}
		origins, err := discover(ctx, sc, timeout)
		if err != nil {
			errs = append(errs, fmt.Errorf("source %s: list the accounts and regions of its flow logs: %w", sc.Name, err))
			continue
		}
		for _, o := range origins {
			out = append(out, Learned{Source: sc.Name, Account: o.Account, Region: o.Region})
		}
	}
	return out, errs
}

func discover(ctx context.Context, sc source.Config, timeout time.Duration) ([]source.Origin, error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	src, err := source.New(ctx, sc)
	if err != nil {
		return nil, err
	}
	s3, ok := src.(interface {
		Origins(context.Context) ([]source.Origin, error)
	}) // an S3 source, or a Notify around one
	if !ok {
		return nil, nil
	}
	return s3.Origins(ctx)
}
