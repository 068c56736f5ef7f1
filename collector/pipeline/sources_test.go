package pipeline_test

import (
	"context"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/decode"
	"github.com/vpcflow/vpcflow/collector/flowlog"
	"github.com/vpcflow/vpcflow/collector/pipeline"
	"github.com/vpcflow/vpcflow/collector/source"
	"github.com/vpcflow/vpcflow/collector/sourcestate"
)

// TestNewSources builds the pipeline's sources from the configuration's:
// settings carried over, the decode bounds with each source's format, a
// source log each, and a source that cannot be set up standing in as
// in the credentials status, saying why, while the others go on.
func TestNewSources(t *testing.T) {
	no := false
	cfgs := []source.Config{
		{Name: "local", Type: source.TypeDir, Path: t.TempDir(), Format: "v5", Account: "123456789012", Region: "eu-west-1",
			OnFirstRun: sourcestate.FirstRunBackfill, Downloaders: 8},
		{Name: "prod", Type: source.TypeS3, Bucket: "logs", Region: "us-east-1", Endpoint: "http://127.0.0.1:1",
			Credentials: source.Credentials{AccessKeyIDEnv: "VPCFLOW_SURELY_UNSET", SecretAccessKey: "s3cret"},
			OnFirstRun:  sourcestate.FirstRunPurge, PurgeOlderThan: time.Hour, Downloaders: 3},
		{Name: "shared", Type: source.TypeS3, Bucket: "shared", Region: "us-east-1", Endpoint: "http://127.0.0.1:1",
			DeleteAfterIngest: &no, Enabled: &no, OnFirstRun: sourcestate.FirstRunSkip, Downloaders: 5},
	}
	logDir := t.TempDir()
	logs := pipeline.NewSourceLogs(logDir, 0, 0)
	defer logs.Close()
	var main strings.Builder
	srcs := pipeline.NewSources(context.Background(), cfgs, decode.Options{MaxObjectBytes: 1 << 20}, logs, slog.New(slog.NewTextHandler(&main, nil)))
	if len(srcs) != 3 {
		t.Fatalf("%d sources, want 3", len(srcs))
	}
	local, prod, shared := srcs[0], srcs[1], srcs[2]
	if _, ok := local.Source.(*source.Dir); !ok || !local.Delete || local.Disabled || local.Account != "123456789012" || local.Region != "eu-west-1" ||
		local.Fetchers != 0 || local.FirstRun != (sourcestate.FirstRun{Mode: sourcestate.FirstRunBackfill}) {
		t.Errorf("local: %+v", local)
	}
	v5, _ := flowlog.ParseFormat("v5")
	if local.Decode.Format == nil || local.Decode.Format.Len() != v5.Len() || local.Decode.MaxObjectBytes != 1<<20 || prod.Decode.Format != nil {
		t.Errorf("decode options: local %+v, prod %+v", local.Decode, prod.Decode)
	}
	if prod.Fetchers != 3 || prod.FirstRun != (sourcestate.FirstRun{Mode: sourcestate.FirstRunPurge, OlderThan: time.Hour}) {
		t.Errorf("prod: %+v", prod)
	}
	_, err := prod.List(context.Background())
	if !errors.Is(err, sourcestate.ErrCredentials) || !strings.Contains(err.Error(), "sources[1] (prod): credentials.access_key_id: environment variable VPCFLOW_SURELY_UNSET is not set") {
		t.Errorf("prod, whose key does not resolve: %v", err)
	}
	if !strings.Contains(main.String(), `msg="source not set up" source=prod`) || strings.Contains(main.String(), "s3cret") {
		t.Errorf("main log: %s", main.String())
	}
	if _, ok := shared.Source.(*source.S3); !ok || shared.Delete || !shared.Disabled || shared.Fetchers != 5 {
		t.Errorf("shared: %+v", shared)
	}
	local.Log.Warn("access denied", "key", "x.log.gz")
	body, err := os.ReadFile(filepath.Join(logDir, "local.jsonl"))
	if err != nil || !strings.Contains(string(body), `"msg":"access denied","key":"x.log.gz"`) {
		t.Errorf("source log: %q, %v", body, err)
	}
	if (*pipeline.SourceLogs)(nil).Get("x") != nil {
		t.Error("nil source logs give a logger")
	}
}
