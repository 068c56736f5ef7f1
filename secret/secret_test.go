package secret

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/goccy/go-yaml"
)

func TestResolve(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "pw")
	if err := os.WriteFile(path, []byte("from-file\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	t.Setenv("VPCFLOW_TEST_SECRET", "from-env")
	f := func(s Secret, want, wantErr string) {
		t.Helper()
		got, err := s.Resolve()
		switch {
		case wantErr != "" && (err == nil || !strings.Contains(err.Error(), wantErr)):
			t.Errorf("%v: error %v, want %q", s, err, wantErr)
		case wantErr == "" && (err != nil || got != want):
			t.Errorf("%v: %q, %v; want %q", s, got, err, want)
		}
	}
	f(Secret{File: path}, "from-file", "")
	f(Secret{Env: "VPCFLOW_TEST_SECRET"}, "from-env", "")
	f(Secret{Value: "inline"}, "inline", "")
	f(Secret{}, "", "")
	f(Secret{Env: "VPCFLOW_SURELY_UNSET"}, "", "environment variable VPCFLOW_SURELY_UNSET is not set")
	f(Secret{File: filepath.Join(dir, "missing")}, "", "read secret file")
}

// TestYAML reads the three forms and a plain string.
func TestYAML(t *testing.T) {
	f := func(in string, want Secret) {
		t.Helper()
		var got struct {
			S Secret `yaml:"s"`
		}
		if err := yaml.Unmarshal([]byte(in), &got); err != nil || got.S != want {
			t.Errorf("%q: %+v, %v; want %+v", in, got.S, err, want)
		}
	}
	f("s: hunter2\n", Secret{Value: "hunter2"})
	f("s: {value: hunter2}\n", Secret{Value: "hunter2"})
	f("s: {file: /run/secrets/vm}\n", Secret{File: "/run/secrets/vm"})
	f("s: {env: VM_PASSWORD}\n", Secret{Env: "VM_PASSWORD"})
}

// TestNeverPrinted: printing a secret, or a struct holding one, never
// shows its value.
func TestNeverPrinted(t *testing.T) {
	holder := struct{ Password Secret }{Secret{Value: "hunter2"}}
	for _, format := range []string{"%v", "%+v", "%#v", "%s"} {
		if out := fmt.Sprintf(format, holder); strings.Contains(out, "hunter2") {
			t.Errorf("%s prints the value: %s", format, out)
		}
	}
	if got := (Secret{Env: "VM_PASSWORD"}).String(); got != "{env: VM_PASSWORD}" {
		t.Errorf("env secret prints %q", got)
	}
}
