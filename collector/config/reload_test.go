package config

import (
	"reflect"
	"testing"
)

// TestCompare names the sections a reload cannot apply and the sources it
// adds, removes and changes.
func TestCompare(t *testing.T) {
	parse := func(yaml string) *Config {
		t.Helper()
		c, err := Parse([]byte(yaml), "/d")
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	old := parse("storage: {url: http://vm:8428}\nsources: [{name: a, type: dir, path: /a}, {name: b, type: dir, path: /b}, {name: c, type: dir, path: /c}]\n")
	f := func(yaml string, want Diff) {
		t.Helper()
		if got := Compare(old, parse(yaml)); !reflect.DeepEqual(got, want) {
			t.Errorf("%q:\n%+v, want\n%+v", yaml, got, want)
		}
	}
	f("storage: {url: http://vm:8428}\nsources: [{name: a, type: dir, path: /a}, {name: b, type: dir, path: /b}, {name: c, type: dir, path: /c}]\n", Diff{})
	f("storage: {url: http://vm:8428, timeout: 30s}\nbatch: {max_objects: 16}\nsources: [{name: c, type: dir, path: /c}, {name: a, type: dir, path: /a}]\n", Diff{Removed: []string{"b"}})
	f("storage: {url: http://vm:9428}\nrank: {top_k: 0}\nserver: {listen: off}\nsources: [{name: a, type: dir, path: /a, format: v5}, {name: d, type: dir, path: /d}, {name: b, type: dir, path: /b}, {name: c, type: dir, path: /c}]\n",
		Diff{Restart: []string{"storage", "server"}, Added: []string{"d"}, Changed: []string{"a"}})
	// The ignored rank section changes nothing.
	f("storage: {url: http://vm:8428}\nrank: {top_k: 5}\nsources: [{name: a, type: dir, path: /a}, {name: b, type: dir, path: /b}, {name: c, type: dir, path: /c}]\n", Diff{})
	f("state_dir: /var/lib/vpcflow\nstorage: {url: http://vm:8428}\nlog: {source_files: 4}\nsources: [{name: e, type: dir, path: /e}]\n",
		Diff{Restart: []string{"state_dir", "log", "spool"}, Added: []string{"e"}, Removed: []string{"a", "b", "c"}})
}
