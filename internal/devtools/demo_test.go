package devtools

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/tools"
)

// TestDemoOnce runs the main job on a small day: the servers start, the
// first run purges the old objects, the backlog is collected and every
// report prints.
func TestDemoOnce(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the demo")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	if err := Demo(ctx, &out, DemoOptions{Records: 20000, Once: true, Dir: t.TempDir()}); err != nil {
		t.Fatalf("demo: %v\n%s", err, out.String())
	}
	for _, want := range []string{"purged flow logs older than the first run", "objects=36",
		"Action (action)", "Pair Interface Action (pair-interface-action)", "Traffic Path (traffic-path)", "VPCs (vpcs)",
		"Exporters (exporters)", "Log Status (log-status)", "/vmui", composeHint("                             "), `msg="collector stopped"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the demo's output:\n%s", want, out.String())
		}
	}
	// Every step ran, in order, and ended.
	var done []string
	for _, m := range regexp.MustCompile(`(?m)^\[\S+\] step \d+/\d+ (.+): done in \S+$`).FindAllStringSubmatch(out.String(), -1) {
		done = append(done, m[1])
	}
	want := []string{"build the collector", "empty the demo folder", "start VictoriaMetrics", "start S3 (versitygw)",
		"generate flow logs", "deliver them into s3://vpc-flow-logs", "write the collector's configuration", "start the collector",
		"collect the backlog", "print every report", "say where to look next", "stop the collector"}
	if !slices.Equal(done, want) {
		t.Errorf("steps done %q, want %q:\n%s", done, want, out.String())
	}
}

// TestComposeHint: the demo's hint builds the plugin before it starts the
// stack, and sets every variable docker-compose.yml requires (${VAR:?…}),
// so that it runs as printed.
func TestComposeHint(t *testing.T) {
	root, err := tools.RepoRoot(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	compose, err := os.ReadFile(filepath.Join(root, "docker-compose.yml"))
	if err != nil {
		t.Fatal(err)
	}
	hint := composeHint("  ")
	build, up := strings.Index(hint, "go tool mage build\n"), strings.Index(hint, "docker compose ")
	if build < 0 || up < build {
		t.Errorf("the hint does not build the plugin before starting the stack:\n%s", hint)
	}
	required := regexp.MustCompile(`\$\{(\w+):\?`).FindAllStringSubmatch(string(compose), -1)
	if len(required) == 0 {
		t.Fatal("docker-compose.yml requires no variable: the test reads it wrong")
	}
	for _, m := range required {
		if !regexp.MustCompile(`(?m)\b` + m[1] + `=\S+ .*docker compose `).MatchString(hint) {
			t.Errorf("docker-compose.yml requires %s; the hint does not set it:\n%s", m[1], hint)
		}
	}
	for _, line := range strings.Split(strings.TrimSuffix(hint, "\n"), "\n") {
		if !strings.HasPrefix(line, "  ") {
			t.Errorf("line %q is not indented", line)
		}
	}
}
