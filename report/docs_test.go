package report

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestDocsNameTheRegistry: docs/reports.md's registry table lists exactly
// the registry's reports, in its order, and the README's report command
// names every report and no other.
func TestDocsNameTheRegistry(t *testing.T) {
	var ids []string
	for _, r := range Reports() {
		ids = append(ids, r.ID)
	}
	read := func(path string) string {
		t.Helper()
		b, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}

	docs := read("../docs/reports.md")
	registry := docs[strings.Index(docs, "## Registry\n"):]
	registry = registry[:strings.Index(registry[1:], "\n## ")+1]
	row := regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\|")
	var table []string
	for _, m := range row.FindAllStringSubmatch(registry, -1) {
		table = append(table, m[1])
	}
	if !slices.Equal(table, ids) {
		t.Errorf("docs/reports.md's registry table lists %q, the registry %q", table, ids)
	}

	readme := read("../README.md")
	start := strings.Index(readme, "### report\n")
	if start < 0 {
		t.Fatal("README.md: no ### report section")
	}
	section := readme[start+len("### report\n"):]
	if end := strings.Index(section, "\n### "); end >= 0 {
		section = section[:end]
	}
	list := section[strings.Index(section, "Reports:"):]
	list = list[:strings.Index(list, "Filters:")]
	var named []string
	for _, m := range regexp.MustCompile("`([a-z]+(?:-[a-z]+)*)`").FindAllStringSubmatch(list, -1) {
		named = append(named, m[1])
	}
	slices.Sort(named)
	sorted := slices.Sorted(slices.Values(ids))
	if !slices.Equal(named, sorted) {
		t.Errorf("README.md's report command names %q, the registry has %q", named, sorted)
	}
}
