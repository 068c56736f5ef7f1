package config

import (
	"reflect"
	"slices"
	"strings"

	"github.com/vpcflow/vpcflow/collector/source"
)

// Diff is what changed between a running configuration and the one a
// reload read.
type Diff struct {
	// Restart names the top-level sections that differ, other than
	// sources: they take effect only after a restart.
	Restart []string
	// Added, Removed and Changed name the sources.
	Added, Removed, Changed []string
}

// Compare says what changed from old to next.
func Compare(old, next *Config) Diff {
	var d Diff
	a, b := reflect.ValueOf(*old), reflect.ValueOf(*next)
	for i := range a.NumField() {
		name, _, _ := strings.Cut(a.Type().Field(i).Tag.Get("yaml"), ",")
		if a.Field(i).Type() == reflect.TypeFor[Ignored]() {
			continue // an ignored section changes nothing
		}
		if name != "sources" && !reflect.DeepEqual(a.Field(i).Interface(), b.Field(i).Interface()) {
			d.Restart = append(d.Restart, name)
		}
	}
	byName := map[string]source.Config{}
	for _, s := range old.Sources {
		byName[s.Name] = s
	}
	for _, s := range next.Sources {
		o, ok := byName[s.Name]
		switch {
		case !ok:
			d.Added = append(d.Added, s.Name)
		case !reflect.DeepEqual(o, s):
			d.Changed = append(d.Changed, s.Name)
		}
		delete(byName, s.Name)
	}
	for name := range byName {
		d.Removed = append(d.Removed, name)
	}
	slices.Sort(d.Removed)
	return d
}
