package source

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestNew builds each type of source from its configuration, resolving an
// s3 source's keys from where they are given; a key that does not resolve
// fails with its field, never a value.
func TestNew(t *testing.T) {
	keyFile := filepath.Join(t.TempDir(), "key")
	if err := os.WriteFile(keyFile, []byte("wJalr-secret\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VPCFLOW_TEST_KEY_ID", "AKIAEXAMPLE")
	s3 := func(c Credentials) Config {
		return Config{Name: "prod", Type: TypeS3, Bucket: "logs", Region: "eu-west-1", Endpoint: "http://127.0.0.1:1", PathStyle: true, Credentials: c}
	}
	f := func(cfg Config, want, wantErr string) {
		t.Helper()
		src, err := New(context.Background(), cfg)
		switch {
		case wantErr != "":
			if err == nil || !strings.Contains(err.Error(), wantErr) || strings.Contains(err.Error(), "wJalr") {
				t.Errorf("%s: error %v, want %q without the secret", cfg.Name, err, wantErr)
			}
		case err != nil:
			t.Errorf("%s: %v", cfg.Name, err)
		default:
			if got := fmt.Sprintf("%T %s", src, src.Name()); got != want {
				t.Errorf("%s: %s, want %s", cfg.Name, got, want)
			}
		}
	}
	f(Config{Name: "local", Type: TypeDir, Path: "/x"}, "*source.Dir local", "")
	f(s3(Credentials{}), "*source.S3 prod", "")
	f(s3(Credentials{AccessKeyIDEnv: "VPCFLOW_TEST_KEY_ID", SecretAccessKeyFile: keyFile}), "*source.S3 prod", "")
	f(s3(Credentials{AccessKeyIDEnv: "VPCFLOW_SURELY_UNSET", SecretAccessKeyFile: keyFile}), "", "credentials.access_key_id: environment variable VPCFLOW_SURELY_UNSET is not set")
	f(s3(Credentials{AccessKeyID: "AKIA", SecretAccessKeyFile: keyFile + ".missing"}), "", "credentials.secret_access_key: read secret file")
	f(Config{Name: "odd", Type: "ftp"}, "", `type "ftp" is not supported`)

	src, err := New(context.Background(), s3(Credentials{AccessKeyIDEnv: "VPCFLOW_TEST_KEY_ID", SecretAccessKeyFile: keyFile}))
	if err != nil {
		t.Fatal(err)
	}
	if c := src.(*S3).cfg; c.Credentials.AccessKeyID != "AKIAEXAMPLE" || c.Credentials.SecretAccessKey != "wJalr-secret" || c.Bucket != "logs" || !c.PathStyle {
		t.Errorf("s3 source configured as %+v", c)
	}
	if d := DefaultConfig(); d.Downloaders != 8 || d.PurgeOlderThan.String() != "15m0s" {
		t.Errorf("defaults %+v", d)
	}
}
