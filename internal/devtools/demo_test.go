package devtools

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"
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
		"Exporters (exporters)", "Log Status (log-status)", "/vmui", "docker compose", `msg="collector stopped"`} {
		if !strings.Contains(out.String(), want) {
			t.Errorf("no %q in the demo's output:\n%s", want, out.String())
		}
	}
}
