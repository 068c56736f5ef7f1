package deploycheck

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/sourcestate"
	"github.com/vpcflow/vpcflow/collector/status"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
)

// TestOverloadRuleFires evaluates the query of the rule "Collector
// overloaded", as the rules file has it, in a real VictoriaMetrics over
// the collector's /metrics pages: a source paused (unresourced) in the
// last 10 minutes crosses the threshold, also once resumed; a source
// collected, or only disabled (limit), does not.
func TestOverloadRuleFires(t *testing.T) {
	var expr, threshold string
	for _, g := range readAlertRules(t).Groups {
		for _, r := range g.Rules {
			if r.UID != "vpcflow-collector-overload" {
				continue
			}
			for _, q := range r.Data {
				if q.RefID == "A" {
					expr, _ = q.Model["expr"].(string)
				}
			}
			threshold = thresholds(t, readAlertRules(t))[r.UID]
		}
	}
	var limit float64
	if _, err := fmt.Sscan(threshold, &limit); err != nil || expr == "" {
		t.Fatalf("rule vpcflow-collector-overload: query %q, threshold %q: %v", expr, threshold, err)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	vm := testserver.VictoriaMetrics(t)
	scrape := func(at time.Time, sources ...sourcestate.Report) {
		var page bytes.Buffer
		status.New(&fixedProvider{sources: sources}, "all", "test").WriteMetrics(&page)
		resp, err := http.Post(fmt.Sprintf("%s/api/v1/import/prometheus?timestamp=%d", vm.URL, at.UnixMilli()), "text/plain", &page)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode/100 != 2 {
			t.Fatalf("import: %s %s", resp.Status, body)
		}
	}
	src := func(name string, st sourcestate.Status) sourcestate.Report {
		return sourcestate.Report{Name: name, Status: st}
	}
	// "old" always collected; "new" paused 6 minutes ago, resumed 3 minutes
	// ago; "flapped" paused 20 minutes ago only; "limited" over max_sources.
	for m := 30; m >= 0; m-- {
		at := now.Add(-time.Duration(m) * time.Minute)
		newSt, flapped := sourcestate.StatusEnabled, sourcestate.StatusEnabled
		if m <= 6 && m > 3 {
			newSt = sourcestate.StatusUnresourced
		}
		if m == 20 {
			flapped = sourcestate.StatusUnresourced
		}
		scrape(at, src("old", sourcestate.StatusEnabled), src("new", newSt), src("flapped", flapped), src("limited", sourcestate.StatusDisabledLimit))
	}
	vm.Flush()
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Instant(context.Background(), expr, now)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, s := range res {
		got[s.Labels["source"]] = s.Value > limit
	}
	want := map[string]bool{"old": false, "new": true, "flapped": false, "limited": false}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s over %v: %v, want %v", expr, limit, got, want)
	}
}
