package deploycheck

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/entitysync"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/vmclient"
)

// TestSyncRuleFires evaluates the query of the rule "Entity sync
// failing", as the rules file has it, in a real VictoriaMetrics over the
// collector's /metrics page: it gives each failing account·region the
// seconds since it failed, and nothing for one that succeeds or
// recovered; only the one failing for longer than the threshold crosses
// it.
func TestSyncRuleFires(t *testing.T) {
	var expr string
	var threshold float64
	for _, g := range readAlertRules(t).Groups {
		for _, r := range g.Rules {
			if r.UID != "vpcflow-collector-sync" {
				continue
			}
			for _, q := range r.Data {
				if q.RefID == "A" {
					expr, _ = q.Model["expr"].(string)
				}
			}
			if _, err := fmt.Sscan(thresholds(t, readAlertRules(t))[r.UID], &threshold); err != nil {
				t.Fatal(err)
			}
		}
	}
	if expr == "" || threshold != 3*3600 {
		t.Fatalf("rule vpcflow-collector-sync: query %q, threshold %v; want a query and 3 hours", expr, threshold)
	}
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	st := entitysync.NewStatus()
	rec := func(acct string, at time.Time, err error) {
		st.Record(entitysync.Outcome{Target: entitysync.Target{Account: acct, Region: "us-east-1"}, Start: at, Err: err, Series: 1})
	}
	failed := errors.New("denied")
	rec("111111111111", now.Add(-4*time.Hour), failed) // never succeeded, failing for 4 hours
	rec("111111111111", now.Add(-time.Hour), failed)
	rec("222222222222", now.Add(-5*time.Hour), nil) // succeeded, then failing for 1 hour
	rec("222222222222", now.Add(-time.Hour), failed)
	rec("333333333333", now.Add(-5*time.Hour), failed) // failed, then recovered
	rec("333333333333", now.Add(-time.Hour), nil)
	var page bytes.Buffer
	st.WriteMetrics(&page)

	vm := testserver.VictoriaMetrics(t)
	resp, err := http.Post(fmt.Sprintf("%s/api/v1/import/prometheus?timestamp=%d", vm.URL, now.UnixMilli()), "text/plain", &page)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("import: %s %s", resp.Status, body)
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
	got := map[string]float64{}
	for _, s := range res {
		got[s.Labels["account_id"]+"/"+s.Labels["region"]] = s.Value
		if len(s.Labels) != 2 {
			t.Errorf("labels %v, want account_id and region", s.Labels)
		}
	}
	want := map[string]float64{"111111111111/us-east-1": 4 * 3600, "222222222222/us-east-1": 3600}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("%s = %v, want %v", expr, got, want)
	}
	if got["111111111111/us-east-1"] <= threshold || got["222222222222/us-east-1"] > threshold {
		t.Errorf("threshold %v: want only the account failing for 4 hours above it", threshold)
	}
}
