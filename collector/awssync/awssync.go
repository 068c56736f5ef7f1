// Package awssync syncs the names of a cloud account's network entities
// (VPCs, subnets, network interfaces, instances, availability zones) from
// the EC2 API, for one account and region, and turns them into the
// vpcflow_entity_info series that reports join to show names beside ids.
//
// New, Sync, Series and CheckPermissions are its whole interface;
// collector/entitysync runs it inside the collector (which accounts and
// regions, how often, the writes and the metrics).
package awssync

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/service/ec2"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/source"
)

// Defaults of Config.
const (
	// DefaultPageSize is the MaxResults of every paginated Describe
	// request: EC2's maximum.
	DefaultPageSize = 1000
	// DefaultMaxAttempts bounds the attempts of one request: throttling
	// (RequestLimitExceeded), 5xx answers, timeouts and broken
	// connections are retried with exponential backoff and jitter.
	DefaultMaxAttempts = 8
	// DefaultMaxBackoff bounds the wait between two attempts.
	DefaultMaxBackoff = 20 * time.Second
)

// MaxTagKeyBytes bounds a configured tag key, as AWS does (128
// characters).
const MaxTagKeyBytes = 128

// Config configures the sync of one account and region.
type Config struct {
	// Endpoint replaces the AWS EC2 endpoint of the region (a VPC
	// endpoint, a test server), as a URL such as http://127.0.0.1:7070.
	Endpoint string `yaml:"endpoint"`
	// Region is the region synced (required).
	Region string `yaml:"region"`
	// Tags are the tag keys copied from the entities as labels
	// tag_<key> (Name, Environment, Team …); the Name tag is always the
	// name label.
	Tags []string `yaml:"tags"`
	// Credentials are given as a source's: static keys inline, from the
	// environment or a file; none for the AWS default chain; role_arn with
	// external_id to assume a role (cross-account).
	Credentials source.Credentials `yaml:"credentials"`
	// PageSize is the MaxResults of the paginated Describe requests, 5 to
	// 1000; default DefaultPageSize.
	PageSize int32 `yaml:"page_size"`
	// MaxAttempts bounds the attempts of one request; default
	// DefaultMaxAttempts.
	MaxAttempts int `yaml:"max_attempts"`
	// MaxBackoff bounds the wait between two attempts, which grows
	// exponentially with jitter; default DefaultMaxBackoff.
	MaxBackoff time.Duration `yaml:"max_backoff"`
}

// DefaultConfig returns the defaults of Config.
func DefaultConfig() Config {
	return Config{PageSize: DefaultPageSize, MaxAttempts: DefaultMaxAttempts, MaxBackoff: DefaultMaxBackoff}
}

// Validate checks the configuration; its errors name the field.
func (c Config) Validate() error {
	if c.Region == "" {
		return errors.New("region: required")
	}
	if !flowlog.ValidString(flowlog.Region, []byte(c.Region)) {
		return fmt.Errorf("region %q: want %s", c.Region, flowlog.Region.Shape())
	}
	if c.PageSize != 0 && (c.PageSize < 5 || c.PageSize > 1000) {
		return fmt.Errorf("page_size %d: want 5 to 1000", c.PageSize)
	}
	if c.MaxAttempts < 0 {
		return fmt.Errorf("max_attempts %d: want 1 or more", c.MaxAttempts)
	}
	if c.MaxBackoff < 0 {
		return fmt.Errorf("max_backoff %s: want a positive duration", c.MaxBackoff)
	}
	labels := map[string]string{}
	for i, k := range c.Tags {
		switch {
		case k == "":
			return fmt.Errorf("tags[%d]: empty tag key", i)
		case len(k) > MaxTagKeyBytes:
			return fmt.Errorf("tags[%d]: tag key of %d bytes: at most %d", i, len(k), MaxTagKeyBytes)
		}
		l := TagLabel(k)
		if prev, ok := labels[l]; ok {
			return fmt.Errorf("tags[%d] %q: label %s is also tag %q's", i, k, l, prev)
		}
		labels[l] = k
	}
	return nil
}

// tagLabelChar matches what a label name cannot hold.
var tagLabelChar = regexp.MustCompile(`[^a-zA-Z0-9_]`)

// TagLabel returns the label name of the tag key: tag_ and the key, each
// character other than an ASCII letter, digit or '_' replaced by '_'
// (aws:cloudformation:stack-name is tag_aws_cloudformation_stack_name).
func TagLabel(key string) string { return "tag_" + tagLabelChar.ReplaceAllString(key, "_") }

// Syncer syncs one account and region's entities.
type Syncer struct {
	cfg    Config
	client *ec2.Client
	// creds says where the credentials come from, for messages.
	creds string
}

// New returns the Syncer of cfg, its credentials resolved (an error names
// the field that does not resolve, never a value). It sends no request.
func New(ctx context.Context, cfg Config) (*Syncer, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("sync: %w", err)
	}
	if cfg.PageSize == 0 {
		cfg.PageSize = DefaultPageSize
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = DefaultMaxAttempts
	}
	if cfg.MaxBackoff == 0 {
		cfg.MaxBackoff = DefaultMaxBackoff
	}
	creds, err := cfg.Credentials.AWS()
	if err != nil {
		return nil, fmt.Errorf("sync %s: %w", cfg.Region, err)
	}
	awsCfg, kind, err := source.LoadAWSConfig(ctx, creds, cfg.Region,
		config.WithRetryer(func() aws.Retryer { return newRetryer(cfg.MaxAttempts, cfg.MaxBackoff) }))
	if err != nil {
		return nil, fmt.Errorf("sync %s: %w", cfg.Region, err)
	}
	client := ec2.NewFromConfig(awsCfg, func(o *ec2.Options) {
		o.HTTPClient = source.BufferRequestBodies(o.HTTPClient)
		if cfg.Endpoint != "" {
			o.BaseEndpoint = aws.String(cfg.Endpoint)
		}
	})
	return &Syncer{cfg: cfg, client: client, creds: kind}, nil
}

// newRetryer is the SDK's standard retryer (which retries EC2's
// RequestLimitExceeded, 5xx answers, timeouts, refused and reset
// connections) with attempts and maxBackoff. The retry quota, a
// client-wide circuit breaker, is off: each request gets its attempts.
func newRetryer(attempts int, maxBackoff time.Duration) aws.Retryer {
	return retry.NewStandard(func(o *retry.StandardOptions) {
		o.MaxAttempts = attempts
		o.MaxBackoff = maxBackoff
		o.RateLimiter = ratelimit.None
	})
}

// Region returns the region synced.
func (s *Syncer) Region() string { return s.cfg.Region }

// Credentials says where the credentials come from (static keys, the AWS
// default chain, an assumed role), never a secret.
func (s *Syncer) Credentials() string { return s.creds }

// String describes the Syncer for messages.
func (s *Syncer) String() string {
	return fmt.Sprintf("sync of %s with %s", s.cfg.Region, s.creds)
}

// plural returns "n thing" or "n things".
func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
