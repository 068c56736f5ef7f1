package source

import (
	"context"
	"fmt"
	"time"

	"github.com/vpcflow/vpcflow/secret"
)

// Source types (Config.Type).
const (
	// TypeS3 is a bucket AWS delivers flow logs to (S3).
	TypeS3 = "s3"
	// TypeDir is a local folder (Dir).
	TypeDir = "dir"
)

// Defaults of Config.
const (
	DefaultDownloaders    = 8
	DefaultPurgeOlderThan = 15 * time.Minute
)

// Config is one source of the collector's configuration (an entry of its
// sources): where its flow logs arrive, which New needs, and how the
// collector treats them (pipeline.NewSources, spool.Origins).
type Config struct {
	Name string `yaml:"name"`
	// Type is TypeS3 or TypeDir.
	Type string `yaml:"type"`
	// Enabled: false keeps the source configured (and shown in the status)
	// without collecting it; default true.
	Enabled *bool `yaml:"enabled"`

	// Bucket and Prefix say where an s3 source's logs are: the bucket and
	// the key prefix the flow logs were configured with (before AWSLogs/).
	Bucket string `yaml:"bucket"`
	Prefix string `yaml:"prefix"`
	// Endpoint and PathStyle address an S3-compatible server instead of
	// AWS.
	Endpoint  string `yaml:"endpoint"`
	PathStyle bool   `yaml:"path_style"`
	// Credentials of an s3 source; none means the AWS default chain.
	Credentials Credentials `yaml:"credentials"`
	// Notify names an SQS queue of the bucket's S3 event notifications: the
	// source's objects are then taken from them instead of listing the
	// bucket (NewNotify).
	Notify *NotifyConfig `yaml:"notify"`
	// Downloaders is how many objects an s3 source fetches at once;
	// default DefaultDownloaders.
	Downloaders int `yaml:"downloaders"`
	// OnFirstRun is what the source's first run does with the flow logs
	// already there (sourcestate.FirstRun): "purge" (delete those older than
	// PurgeOlderThan, unread), "backfill" (collect them all, oldest first)
	// or "skip" (leave them alone). The configuration's default: skip for
	// an s3 source that does not delete, backfill for a dir source. An s3
	// source that deletes has no default: its first run purges (as
	// Scrutinizer does), which deletes logs unread, so the configuration
	// check refuses the field left out and wants "purge" written to
	// confirm it.
	OnFirstRun string `yaml:"on_first_run"`
	// PurgeOlderThan is the age beyond which the first run's purge
	// deletes; default DefaultPurgeOlderThan.
	PurgeOlderThan time.Duration `yaml:"purge_older_than"`

	// Path is the folder of a dir source.
	Path string `yaml:"path"`
	// DeleteAfterIngest removes an object once its data is stored; default
	// true. False leaves the objects (for shared sources): the ledger
	// remembers what was ingested.
	DeleteAfterIngest *bool `yaml:"delete_after_ingest"`
	// Format decodes objects without a header line: v2 … v8 or field
	// names; default the AWS default format.
	Format string `yaml:"format"`
	// Account and Region label records whose object key does not follow
	// the AWS layout and which lack the fields. For an s3 source, Region is
	// also the bucket's region (required).
	Account string `yaml:"account"`
	Region  string `yaml:"region"`
}

// DefaultConfig returns the defaults of Config.
func DefaultConfig() Config {
	return Config{Downloaders: DefaultDownloaders, PurgeOlderThan: DefaultPurgeOlderThan}
}

// IsEnabled reports whether the source is collected.
func (c Config) IsEnabled() bool { return c.Enabled == nil || *c.Enabled }

// Deletes reports whether the source's objects are removed after ingest.
func (c Config) Deletes() bool { return c.DeleteAfterIngest == nil || *c.DeleteAfterIngest }

// Credentials are an s3 source's AWS credentials. Static keys are given
// each as a value, an environment variable (*_env) or a file (*_file);
// without them the AWS default chain applies (environment, shared profile
// as AWS_PROFILE names it, web identity, ECS or EC2 instance role).
// RoleARN, with an optional ExternalID, assumes a role with those
// credentials (cross-account).
type Credentials struct {
	AccessKeyID         string `yaml:"access_key_id"`
	AccessKeyIDEnv      string `yaml:"access_key_id_env"`
	AccessKeyIDFile     string `yaml:"access_key_id_file"`
	SecretAccessKey     string `yaml:"secret_access_key"`
	SecretAccessKeyEnv  string `yaml:"secret_access_key_env"`
	SecretAccessKeyFile string `yaml:"secret_access_key_file"`
	SessionToken        string `yaml:"session_token"`
	SessionTokenEnv     string `yaml:"session_token_env"`
	SessionTokenFile    string `yaml:"session_token_file"`
	RoleARN             string `yaml:"role_arn"`
	ExternalID          string `yaml:"external_id"`
}

func (c Credentials) accessKey() secret.Secret {
	return secret.Secret{Value: c.AccessKeyID, Env: c.AccessKeyIDEnv, File: c.AccessKeyIDFile}
}

func (c Credentials) secretKey() secret.Secret {
	return secret.Secret{Value: c.SecretAccessKey, Env: c.SecretAccessKeyEnv, File: c.SecretAccessKeyFile}
}

func (c Credentials) sessionToken() secret.Secret {
	return secret.Secret{Value: c.SessionToken, Env: c.SessionTokenEnv, File: c.SessionTokenFile}
}

// Static reports whether static keys are configured.
func (c Credentials) Static() bool { return c.accessKey().IsSet() }

// Resolve returns the static keys (empty without them). Errors name the
// field, never the value.
func (c Credentials) Resolve() (accessKeyID, secretAccessKey, sessionToken string, err error) {
	if !c.Static() {
		return "", "", "", nil
	}
	if accessKeyID, err = c.accessKey().Resolve(); err != nil {
		return "", "", "", fmt.Errorf("credentials.access_key_id: %w", err)
	}
	if secretAccessKey, err = c.secretKey().Resolve(); err != nil {
		return "", "", "", fmt.Errorf("credentials.secret_access_key: %w", err)
	}
	if sessionToken, err = c.sessionToken().Resolve(); err != nil {
		return "", "", "", fmt.Errorf("credentials.session_token: %w", err)
	}
	return accessKeyID, secretAccessKey, sessionToken, nil
}

// AWS returns the credentials with their static keys resolved (Resolve),
// for NewS3 or LoadAWSConfig. Errors name the field, never the value.
func (c Credentials) AWS() (S3Credentials, error) {
	id, key, token, err := c.Resolve()
	if err != nil {
		return S3Credentials{}, err
	}
	return S3Credentials{AccessKeyID: id, SecretAccessKey: key, SessionToken: token, RoleARN: c.RoleARN, ExternalID: c.ExternalID}, nil
}

// New returns the source cfg describes: a Dir, or an S3 source (a Notify
// around it when a queue is named) with its credentials resolved (an error names the field that does not resolve,
// never a value). It sends no request.
func New(ctx context.Context, cfg Config) (Source, error) {
	switch cfg.Type {
	case TypeDir:
		return NewDir(cfg.Name, cfg.Path), nil
	case TypeS3:
		creds, err := cfg.Credentials.AWS()
		if err != nil {
			return nil, err
		}
		s3src, err := NewS3(ctx, S3Config{
			Name: cfg.Name, Bucket: cfg.Bucket, Prefix: cfg.Prefix, Region: cfg.Region, Endpoint: cfg.Endpoint, PathStyle: cfg.PathStyle,
			Credentials: creds,
		})
		if err != nil {
			return nil, err
		}
		if !cfg.Notify.IsSet() {
			return s3src, nil
		}
		return NewNotify(ctx, s3src, *cfg.Notify)
	}
	return nil, fmt.Errorf("type %q is not supported", cfg.Type)
}
