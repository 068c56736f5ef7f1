package report_test

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// idsFilter returns a filter of op (=~ or !~) on label matching the ids,
// or what re matches besides them when re is not "": what a filter by
// name must match, as the ground truth's own filter.
func idsFilter(label string, op report.Op, re string, ids []string) report.Filter {
	alts := make([]string, 0, len(ids)+1)
	if re != "" {
		alts = append(alts, "(?:"+re+")")
	}
	for _, id := range ids {
		alts = append(alts, regexp.QuoteMeta(id))
	}
	if len(alts) == 0 {
		alts = append(alts, "$^") // nothing
	}
	return report.Filter{Label: label, Op: op, Value: strings.Join(alts, "|")}
}

// named returns the ids of names whose name is name (sorted), or, with
// re, whose name re matches.
func namedIDs(names map[string]string, name string, re *regexp.Regexp) []string {
	var out []string
	for id, n := range names {
		if n != "" && (re == nil && n == name || re != nil && re.MatchString(n)) {
			out = append(out, id)
		}
	}
	slices.Sort(out)
	return out
}

// TestFilterByNameGroundTruth loads an hour of generated flow logs and an
// entity sync naming the ids in it, per type: of every five ids, one is
// named "shared <type>" (several ids of one name), one gets a hostile
// name (quotes, a backslash, regular expression metacharacters), one has
// no name, one a unique name ("m.<type>" for the first, "mX<type>" for the
// second: a name that is also a regular expression matching the other),
// one no entity info. Every report filtered on each of its id labels by
// these names (=, !=), by expressions on them (=~, !~) and by an unknown
// name gives, as a table and as time series, exactly the rows of the ground
// truth filtered on the ids of those names, with one entity info query per
// filter by name; filters by ids, or on every id, send none.
func TestFilterByNameGroundTruth(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	ds := reporttest.Load(t, vm, reporttest.Hour(t, 37))
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	checkFilterByName(t, e, ds, func(syncs ...entitySync) { writeSyncs(t, vm, syncs...) })
}

// checkFilterByName is TestFilterByNameGroundTruth on the dataset ds
// (seed 37) the engine e reads, write storing the entity syncs where e
// reads.
func checkFilterByName(t *testing.T, e *report.Engine, ds *reporttest.Dataset, write func(...entitySync)) {
	t.Helper()
	ids := ds.EntityIDs(t)
	sync := entitySync{account: "111111111111", at: ds.From.Add(-10 * time.Minute), names: map[report.EntityType]map[string]string{}}
	names := map[report.EntityType]map[string]string{} // what the filters must find
	hostile := map[report.EntityType]string{}
	for typ, set := range ids {
		sync.names[typ], names[typ] = map[string]string{}, map[string]string{}
		unique := 0
		for i, id := range slices.Sorted(maps.Keys(set)) {
			var n string
			switch i % 5 {
			case 0:
				n = "shared " + string(typ)
			case 1:
				n = fmt.Sprintf(`it's "%s" \%d (a|b).*{x="y"}`, typ, i)
				if hostile[typ] == "" {
					hostile[typ] = n
				}
			case 2: // no name
			case 3:
				n = fmt.Sprintf("n-%s-%d", typ, i)
				if unique++; unique == 1 {
					n = "m." + string(typ)
				} else if unique == 2 {
					n = "mX" + string(typ)
				}
			case 4:
				continue // no entity info
			}
			sync.names[typ][id] = n
			names[typ][id] = n
		}
	}
	write(sync)
	ctx := context.Background()

	type check struct {
		filter report.Filter
		want   report.Filter // the ground truth's filter
		byName bool          // resolved with an entity info query
	}
	nonEmpty := map[string]bool{}
	seriesChecked := 0
	for _, rep := range report.Reports() {
		if rep.ID == report.ReportExporters {
			continue // first and last seen are not filtered in the truth
		}
		m := rep.DefaultMetric()
		for _, label := range rep.Filterable() {
			typ := report.EntityTypeOf(label)
			if typ == "" || len(names[typ]) == 0 {
				continue
			}
			byID := names[typ]
			some := slices.Sorted(maps.Keys(byID))[:2]
			re := func(s string) *regexp.Regexp { return regexp.MustCompile("^(?:" + s + ")$") }
			checks := []check{
				{report.Filter{Label: label, Op: "=", Value: "shared " + string(typ)}, idsFilter(label, "=~", "", namedIDs(byID, "shared "+string(typ), nil)), true},
				{report.Filter{Label: label, Op: "!=", Value: "shared " + string(typ)}, idsFilter(label, "!~", "", namedIDs(byID, "shared "+string(typ), nil)), true},
				{report.Filter{Label: label, Op: "=", Value: hostile[typ]}, idsFilter(label, "=~", "", namedIDs(byID, hostile[typ], nil)), true},
				{report.Filter{Label: label, Op: "=", Value: "m." + string(typ)}, idsFilter(label, "=~", "", namedIDs(byID, "m."+string(typ), nil)), true},
				{report.Filter{Label: label, Op: "=~", Value: "shared.*|m\\..*"}, idsFilter(label, "=~", "shared.*|m\\..*", namedIDs(byID, "", re("shared.*|m\\..*"))), true},
				{report.Filter{Label: label, Op: "!~", Value: "shared.*"}, idsFilter(label, "!~", "shared.*", namedIDs(byID, "", re("shared.*"))), true},
				{report.Filter{Label: label, Op: "=~", Value: ".*[\"\\\\].*"}, idsFilter(label, "=~", ".*[\"\\\\].*", namedIDs(byID, "", re(".*[\"\\\\].*"))), true},
				// An id in the expression, and a name.
				{report.Filter{Label: label, Op: "=~", Value: regexp.QuoteMeta(some[1]) + "|shared.*"}, idsFilter(label, "=~", regexp.QuoteMeta(some[1])+"|shared.*", namedIDs(byID, "", re("shared.*"))), true},
				{report.Filter{Label: label, Op: "=", Value: "nobody"}, idsFilter(label, "=~", "", nil), true},
				// Ids, and every id: no entity info query (zone ids look like names).
				{report.Filter{Label: label, Op: "=", Value: some[0]}, report.Filter{Label: label, Op: "=", Value: some[0]}, typ == report.EntityAZ},
				{report.Filter{Label: label, Op: "=~", Value: "(" + strings.Join(some, "|") + ")"}, report.Filter{Label: label, Op: "=~", Value: strings.Join(some, "|")}, typ == report.EntityAZ},
				{report.Filter{Label: label, Op: "=~", Value: ".*"}, report.Filter{Label: label, Op: "=~", Value: ".*"}, false},
			}
			for _, c := range checks {
				want, err := ds.Expected(rep, m, []report.Filter{c.want})
				if err != nil {
					t.Fatal(err)
				}
				what := fmt.Sprintf("%s %s", rep.ID, c.filter)
				if len(want) > 0 {
					nonEmpty[string(c.filter.Op)+" "+label] = true
				}
				res, err := e.Table(ctx, report.Query{Report: rep.ID, Metric: m, Filters: []report.Filter{c.filter}}, ds.From, ds.To)
				if err != nil {
					t.Fatalf("%s: %v", what, err)
				}
				if d := reporttest.Diff(rowsOf(t, res), want); d != "" {
					t.Errorf("%s differs (%d rows, %d expected):\n%s", what, len(res.Rows), len(want), d)
				}
				if n, w := entityQueries(res), map[bool]int{true: 1}[c.byName]; n != w {
					t.Errorf("%s: %d entity info queries, want %d: %q", what, n, w, res.Queries)
				}
				if c.filter.Value != "shared "+string(typ) || c.filter.Op != "=" || len(want) > report.MaxSeries {
					continue
				}
				seriesChecked++
				// As time series: the same label sets, their steps adding up to the rows.
				ts, err := e.TimeSeries(ctx, report.Query{Report: rep.ID, Metric: m, Top: report.MaxSeries, Filters: []report.Filter{c.filter}}, ds.From, ds.To, 0)
				if err != nil {
					t.Fatalf("%s as time series: %v", what, err)
				}
				sums := map[string]float64{}
				for _, s := range ts.Series {
					sums[reporttest.Key(s.Labels, rep.GroupBy)] = sum(s.Values)
				}
				if d := reporttest.Diff(sums, want); d != "" {
					t.Errorf("%s as time series differs:\n%s", what, d)
				}
			}
		}
	}
	if seriesChecked < 10 {
		t.Errorf("%d reports checked as time series", seriesChecked)
	}
	for _, k := range []string{"= interface_id", "= vpc_id", "= subnet_id", "= instance_id", "= az_id", "= src_interface", "= dst_interface",
		"!= interface_id", "=~ interface_id", "!~ interface_id", "=~ dst_interface"} {
		if !nonEmpty[k] {
			t.Errorf("no report has rows for a filter %s: a useless check", k)
		}
	}
}

func sum(vs []float64) float64 {
	t := 0.0
	for _, v := range vs {
		t += v
	}
	return t
}

// TestFilterByNameOverTime: hand-made traffic of interfaces from 10:00 to
// 14:00 and hourly entity syncs at 10:00, 11:00, 12:00 and 13:00. A filter
// by name matches the interfaces that had the name at a sync within the
// range or the names lookback before it: one renamed web-1 → web-2 between
// 11:00 and 12:00 by either name over the ranges that saw it, one deleted
// after 11:00 by its name up to a lookback after its last sync (and with
// a longer lookback); two of one name both; hostile names exactly (a name
// that is also a regular expression matches itself only, with =); an
// unknown name gives no rows and no error; zones by their name in the
// accounts the query's account filter allows. Label values take filters
// by name too, and NamedLabelValues names the ids.
func TestFilterByNameOverTime(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	day := time.Date(2026, 7, 1, 0, 0, 0, 0, time.UTC)
	at := func(hhmm string) time.Time {
		tm, err := time.Parse("15:04", hhmm)
		if err != nil {
			t.Fatal(err)
		}
		return day.Add(time.Duration(tm.Hour())*time.Hour + time.Duration(tm.Minute())*time.Minute)
	}
	const (
		accountA, accountB = "111111111111", "222222222222"
		renamed            = "eni-0000000000000000a"
		deleted            = "eni-0000000000000000b"
		db1                = "eni-0000000000000000c"
		db2                = "eni-0000000000000000d"
		unnamed            = "eni-0000000000000000e" // in account B, zone use1-az1
		dotted             = "eni-0000000000000001a" // a.b
		ax                 = "eni-0000000000000001b" // aXb
		pipe               = "eni-0000000000000001c" // x|y
		quoted             = "eni-0000000000000001d" // say "hi" \o/
		x                  = "eni-0000000000000001e" // x
	)
	interfaces := []string{renamed, deleted, db1, db2, unnamed, dotted, ax, pipe, quoted, x}
	value := map[string]float64{}
	var series []vmclient.Series
	for i, iface := range interfaces {
		value[iface] = float64(10 * (i + 1))
		var samples []vmclient.Sample
		for ts := at("10:00"); ts.Before(at("14:00")); ts = ts.Add(5 * time.Minute) {
			samples = append(samples, vmclient.Sample{Timestamp: ts.UnixMilli() + 3, Value: value[iface]})
		}
		account, az := accountA, "use1-az2"
		switch iface {
		case renamed:
			az = "use1-az1"
		case unnamed:
			account, az = accountB, "use1-az1"
		}
		series = append(series, reporttest.Series("vpcflow_interface_bytes", schema.Interface,
			map[string]string{"interface_id": iface, "az_id": az, "action": "ACCEPT", schema.LabelVPC: "vpc-0a1",
				schema.LabelAccount: account, schema.LabelRegion: "us-east-1"}, samples...))
	}
	reporttest.Write(t, vm.URL, series...)
	vm.Flush()
	sync := func(hhmm string, names map[string]string) entitySync {
		byID := map[string]string{db1: "db", db2: "db", dotted: "a.b", ax: "aXb", pipe: "x|y", quoted: `say "hi" \o/`, x: "x"}
		maps.Copy(byID, names)
		return entitySync{account: accountA, at: at(hhmm), names: map[report.EntityType]map[string]string{
			report.EntityInterface: byID,
			report.EntityAZ:        {"use1-az1": "us-east-1a", "use1-az2": "us-east-1b"},
			report.EntityVPC:       {"vpc-0a1": "prod"},
		}}
	}
	writeSyncs(t, vm,
		sync("10:00", map[string]string{renamed: "web-1", deleted: "old"}),
		sync("11:00", map[string]string{renamed: "web-1", deleted: "old"}),
		sync("12:00", map[string]string{renamed: "web-2"}),
		sync("13:00", map[string]string{renamed: "web-2"}),
		entitySync{account: accountB, at: at("10:00"), names: map[report.EntityType]map[string]string{
			report.EntityInterface: {unnamed: ""},
			report.EntityAZ:        {"use1-az1": "us-east-1c"},
		}})

	// Entity info written by something else than the sync, with ids that
	// are expressions: they stay literal.
	c, err := vmclient.New(vmclient.Config{URL: vm.URL})
	if err != nil {
		t.Fatal(err)
	}
	var hostileIDs []vmclient.Series
	for _, id := range []string{".*", "eni-0000000000000000.", `eni-0000000000000000[a-e]|\`} {
		hostileIDs = append(hostileIDs, vmclient.Series{Labels: []vmclient.Label{{Name: "__name__", Value: report.EntityInfoMetric},
			{Name: schema.LabelAccount, Value: accountA}, {Name: schema.LabelRegion, Value: "us-east-1"},
			{Name: report.EntityTypeLabel, Value: "interface"}, {Name: report.EntityIDLabel, Value: id}, {Name: report.EntityNameLabel, Value: "evil"}},
			Samples: []vmclient.Sample{{Timestamp: at("10:00").UnixMilli(), Value: 1}}})
	}
	if err := c.Write(context.Background(), hostileIDs); err != nil {
		t.Fatal(err)
	}
	vm.Flush()

	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	longer := report.NewEngine(e.Client(), report.WithNamesLookback(2*time.Hour))
	ctx := context.Background()
	// f checks the interface report over from–to with the filters: the
	// rows of exactly the interfaces want, with their values.
	f := func(e *report.Engine, from, to string, want []string, filters ...report.Filter) {
		t.Helper()
		what := fmt.Sprintf("%s–%s %v", from, to, filters)
		res, err := e.Table(ctx, report.Query{Report: report.ReportInterface, Filters: filters}, at(from), at(to))
		if err != nil {
			t.Errorf("%s: %v", what, err)
			return
		}
		steps := float64(at(to).Sub(at(from)) / (5 * time.Minute))
		got, exp := map[string]float64{}, map[string]float64{}
		for _, r := range res.Rows {
			got[r.Labels["interface_id"]] = r.Value
		}
		total := 0.0
		for _, id := range want {
			exp[id] = value[id] * steps
			total += exp[id]
		}
		if !maps.Equal(got, exp) || res.Total != total {
			t.Errorf("%s: rows %v, total %v; want %v, %v", what, got, res.Total, exp, total)
		}
		// The same as time series.
		ts, err := e.TimeSeries(ctx, report.Query{Report: report.ReportInterface, Top: 100, Filters: filters}, at(from), at(to), 0)
		if err != nil {
			t.Errorf("%s as time series: %v", what, err)
			return
		}
		got = map[string]float64{}
		for _, s := range ts.Series {
			got[s.Labels["interface_id"]] = sum(s.Values)
		}
		if !maps.Equal(got, exp) {
			t.Errorf("%s as time series: %v; want %v", what, got, exp)
		}
	}
	is := func(v string) report.Filter { return report.Filter{Label: "interface_id", Op: "=", Value: v} }
	op := func(op report.Op, v string) report.Filter {
		return report.Filter{Label: "interface_id", Op: op, Value: v}
	}
	all := interfaces
	without := func(ids ...string) []string {
		return slices.DeleteFunc(slices.Clone(all), func(id string) bool { return slices.Contains(ids, id) })
	}

	// Renamed: each name over the ranges whose window saw it.
	f(e, "10:00", "11:00", []string{renamed}, is("web-1"))
	f(e, "10:00", "11:00", nil, is("web-2"))
	f(e, "11:30", "12:30", []string{renamed}, is("web-1")) // the sync of 11:00, in the hour before
	f(e, "11:30", "12:30", []string{renamed}, is("web-2"))
	f(e, "12:05", "12:30", nil, is("web-1"))
	f(e, "12:05", "12:30", []string{renamed}, is("web-2"))
	f(e, "10:00", "14:00", []string{renamed}, is("web-1"))
	f(e, "10:00", "14:00", []string{renamed}, op("=~", "web-.*"))
	f(e, "12:05", "12:30", without(renamed), op("!=", "web-2"))
	// Deleted after the sync of 11:00: its name up to a lookback after.
	f(e, "11:30", "12:00", []string{deleted}, is("old"))
	f(e, "12:05", "12:30", nil, is("old"))
	f(longer, "12:05", "12:30", []string{deleted}, is("old"))
	// Two of one name.
	f(e, "10:00", "14:00", []string{db1, db2}, is("db"))
	f(e, "10:00", "14:00", without(db1, db2), op("!=", "db"))
	f(e, "10:00", "14:00", without(db1, db2, renamed), op("!~", "db|web-.*"))
	f(e, "10:00", "14:00", []string{db1, db2}, op("=~", "(db)?")) // matching "": not the entities without a name
	// Hostile names: = matches the name exactly, =~ takes it as an expression.
	f(e, "10:00", "14:00", []string{dotted}, is("a.b"))
	f(e, "10:00", "14:00", []string{dotted, ax}, op("=~", "a.b"))
	f(e, "10:00", "14:00", []string{pipe}, is("x|y"))
	f(e, "10:00", "14:00", []string{x}, op("=~", "x|y"))
	f(e, "10:00", "14:00", []string{quoted}, is(`say "hi" \o/`))
	f(e, "10:00", "14:00", []string{quoted}, op("=~", `.*"hi" \\.*`))
	f(e, "10:00", "14:00", without(quoted), op("!=", `say "hi" \o/`))
	f(e, "10:00", "14:00", nil, is(`"} or vector(1)`))
	// Ids and names both.
	f(e, "10:00", "14:00", []string{db1, db2, unnamed}, op("=~", "db|"+unnamed))
	f(e, "10:00", "14:00", []string{unnamed}, is(unnamed))
	// Ids that are expressions in the entity info match themselves only.
	f(e, "10:00", "14:00", nil, is("evil"))
	f(e, "10:00", "14:00", all, op("!=", "evil"))
	// Unknown: no rows, no error.
	f(e, "10:00", "14:00", nil, is("nobody"))
	f(e, "10:00", "14:00", nil, op("=~", "nobody.*"))
	f(e, "10:00", "14:00", all, op("!=", "nobody"))
	// Other labels by name: the VPC, and zones per account (us-east-1a
	// is use1-az1 in account A, us-east-1c in account B).
	f(e, "10:00", "14:00", all, report.Filter{Label: "vpc_id", Op: "=", Value: "prod"})
	f(e, "10:00", "14:00", nil, report.Filter{Label: "vpc_id", Op: "!=", Value: "prod"})
	az := func(op report.Op, v string) report.Filter { return report.Filter{Label: "az_id", Op: op, Value: v} }
	account := func(v string) report.Filter { return report.Filter{Label: schema.LabelAccount, Op: "=", Value: v} }
	f(e, "10:00", "14:00", []string{renamed, unnamed}, az("=", "us-east-1a"))
	f(e, "10:00", "14:00", []string{renamed}, az("=", "us-east-1a"), account(accountA))
	f(e, "10:00", "14:00", nil, az("=", "us-east-1a"), account(accountB))
	f(e, "10:00", "14:00", []string{unnamed}, az("=", "us-east-1c"), account(accountB))
	f(e, "10:00", "14:00", []string{unnamed}, az("=~", "us-east-1[cd]"), account(accountB))
	f(e, "10:00", "14:00", without(renamed, unnamed), az("=", "us-east-1b"))
	f(e, "10:00", "14:00", []string{renamed, unnamed}, az("=", "use1-az1")) // an id still
	// Several filters by name at once.
	f(e, "10:00", "14:00", []string{db2}, is("db"), op("!=", db1), report.Filter{Label: "vpc_id", Op: "=", Value: "prod"})

	// Another report: per VPC, the traffic of the interfaces named db.
	res, err := e.Table(ctx, report.Query{Report: report.ReportVPCs, Filters: []report.Filter{is("db")}}, at("10:00"), at("14:00"))
	if err != nil || len(res.Rows) != 1 || res.Rows[0].Value != (value[db1]+value[db2])*48 {
		t.Errorf("vpcs filtered by interface db: %v, %v", res, err)
	}

	// Label values: filters by name; the names of ids.
	vs, err := e.LabelValues(ctx, report.ReportInterface, "interface_id", []report.Filter{is("db")}, at("10:00"), at("14:00"))
	if err != nil || !slices.Equal(vs, []string{db1, db2}) {
		t.Errorf("label values of interfaces named db: %q, %v", vs, err)
	}
	vs, err = e.LabelValues(ctx, report.ReportInterface, "interface_id", []report.Filter{is("nobody")}, at("10:00"), at("14:00"))
	if err != nil || len(vs) != 0 {
		t.Errorf("label values of interfaces named nobody: %q, %v", vs, err)
	}
	e2, tr := newEngine(t, vmclient.Config{URL: vm.URL})
	named, err := e2.NamedLabelValues(ctx, report.ReportInterface, "interface_id", []report.Filter{op("=~", "db|web-.*|"+unnamed)}, at("12:05"), at("12:30"))
	wantNamed := []report.LabelValue{{Value: renamed, Name: "web-2"}, {Value: db1, Name: "db"}, {Value: db2, Name: "db"}, {Value: unnamed}}
	if err != nil || !slices.Equal(named, wantNamed) {
		t.Errorf("NamedLabelValues = %v, %v; want %v", named, err, wantNamed)
	}
	if tr.queries != 3 { // the filter's names, the values, their names
		t.Errorf("NamedLabelValues sent %d queries, want 3", tr.queries)
	}
	before := tr.queries
	named, err = e2.NamedLabelValues(ctx, report.ReportInterface, "action", nil, at("12:05"), at("12:30"))
	if err != nil || !slices.Equal(named, []report.LabelValue{{Value: "ACCEPT"}}) || tr.queries-before != 1 {
		t.Errorf("NamedLabelValues of action = %v, %v in %d queries; want ACCEPT without a name, in 1", named, err, tr.queries-before)
	}
	// A zone's names in every account, as the reports show them.
	named, err = e2.NamedLabelValues(ctx, report.ReportAvailabilityZones, "az_id", []report.Filter{account(accountB)}, at("10:00"), at("11:00"))
	if want := []report.LabelValue{{Value: "use1-az1", Name: "us-east-1a / us-east-1c"}}; err != nil || !slices.Equal(named, want) {
		t.Errorf("NamedLabelValues of az_id in account B = %v, %v; want %v", named, err, want)
	}
}

// TestFilterByNameTooManyIDs: a name shared by more interfaces than a
// query can list fails with ErrTooManyIDs, naming the filter; one shared
// by fewer matches each of them. An entity info query that fails is an
// error naming the filter.
func TestFilterByNameTooManyIDs(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	from := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	const workers, web = 600, 200
	var series []vmclient.Series
	names := map[string]string{}
	for i := range workers + web {
		id := fmt.Sprintf("eni-%017x", i+1)
		names[id] = "worker"
		if i >= workers {
			names[id] = "web"
		}
		series = append(series, reporttest.Series("vpcflow_interface_bytes", schema.Interface,
			map[string]string{"interface_id": id, "action": "ACCEPT", schema.LabelVPC: "vpc-0a1"},
			vmclient.Sample{Timestamp: from.UnixMilli() + 3, Value: float64(i + 1)}))
	}
	reporttest.Write(t, vm.URL, series...)
	writeSyncs(t, vm, entitySync{account: "111111111111", at: from, names: map[report.EntityType]map[string]string{report.EntityInterface: names}})
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	ctx := context.Background()
	to := from.Add(5 * time.Minute)
	q := func(v string) report.Query {
		return report.Query{Report: report.ReportInterface, Filters: []report.Filter{{Label: "interface_id", Op: "=", Value: v}}}
	}
	_, err := e.Table(ctx, q("worker"), from, to)
	if !errors.Is(err, report.ErrTooManyIDs) || !strings.Contains(err.Error(), `report interface: filter interface_id="worker": `) ||
		!strings.Contains(err.Error(), "600 interface ids had that name over the range") {
		t.Errorf("600 interfaces of one name: %v", err)
	}
	if _, err := e.LabelValues(ctx, report.ReportInterface, "interface_id", q("worker").Filters, from, to); !errors.Is(err, report.ErrTooManyIDs) {
		t.Errorf("label values, 600 interfaces of one name: %v", err)
	}
	res, err := e.Table(ctx, q("web"), from, to)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Rows) != web || res.Total != float64((workers+1+workers+web)*web/2) {
		t.Errorf("%d rows, total %v: want %d", len(res.Rows), res.Total, web)
	}
	for _, q := range res.Queries {
		if len(q) > 16<<10 {
			t.Errorf("a query of %d bytes", len(q))
		}
	}
	vm.Stop()
	if _, err := e.Table(ctx, q("web"), from, to); err == nil || errors.Is(err, report.ErrTooManyIDs) ||
		!strings.Contains(err.Error(), `filter interface_id="web": the ids of interface entities of that name: `) {
		t.Errorf("storage down: %v", err)
	}
}
