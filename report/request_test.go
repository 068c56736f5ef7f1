package report

import (
	"reflect"
	"strings"
	"testing"
	"time"
)

func TestRequestParse(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 30, 0, time.UTC)
	base := Request{Report: "action-interface", From: "now-1h", To: "now", Mode: "total"}
	with := func(f func(r *Request)) Request {
		r := base
		f(&r)
		return r
	}
	for _, tt := range []struct {
		name     string
		req      Request
		want     Query
		from, to time.Time
		wantErr  string // a prefix of the error
	}{
		{name: "relative", req: base, want: Query{Report: "action-interface", Mode: ModeTotal, Format: FormatTable},
			from: now.Add(-time.Hour), to: now},
		{name: "absolute, filters, top", req: with(func(r *Request) {
			r.From, r.To, r.Metric, r.Top = "2026-03-01T10:00:00Z", "1772362800", "flows", 5
			r.Filters = []string{"action=REJECT", "interface_id!~eni-0[0-7].*"}
		}),
			want: Query{Report: "action-interface", Metric: MetricFlows, Mode: ModeTotal, Top: 5, Format: FormatTable,
				Filters: []Filter{{Label: "action", Op: OpEqual, Value: "REJECT"}, {Label: "interface_id", Op: OpNotMatch, Value: "eni-0[0-7].*"}}},
			from: time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC), to: time.Date(2026, 3, 1, 11, 0, 0, 0, time.UTC)},
		{name: "bad from", req: with(func(r *Request) { r.From = "yesterday" }), wantErr: `--from: time "yesterday": want RFC 3339`},
		{name: "bad to", req: with(func(r *Request) { r.To = "now-1x" }), wantErr: `--to: time "now-1x": `},
		{name: "no whole step", req: with(func(r *Request) { r.From, r.To = "2026-03-01T10:00:10Z", "2026-03-01T10:04:50Z" }),
			wantErr: "time range 2026-03-01T10:00:10Z to 2026-03-01T10:04:50Z holds no whole 5-minute step"},
		{name: "bad filter", req: with(func(r *Request) { r.Filters = []string{"vpc"} }), wantErr: `--filter: filter "vpc": after the label "vpc" want =, !=, =~ or !~`},
		{name: "unknown metric", req: with(func(r *Request) { r.Metric = "bits" }), wantErr: `report action-interface: unknown metric "bits"`},
		{name: "label not filterable", req: with(func(r *Request) { r.Filters = []string{"src_addr=1.2.3.4"} }),
			wantErr: `report action-interface: cannot filter on label "src_addr"`},
	} {
		t.Run(tt.name, func(t *testing.T) {
			q, from, to, err := tt.req.Parse(now)
			if tt.wantErr != "" {
				if err == nil || !strings.HasPrefix(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want %q…", err, tt.wantErr)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(q, tt.want) || !from.Equal(tt.from) || !to.Equal(tt.to) {
				t.Errorf("%+v %s %s (%v), want %+v %s %s", q, from, to, err, tt.want, tt.from, tt.to)
			}
		})
	}
}
