package report_test

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vpcflow/vpcflow/collector/awssync"
	"github.com/vpcflow/vpcflow/internal/reporttest"
	"github.com/vpcflow/vpcflow/internal/testserver"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
	"github.com/vpcflow/vpcflow/vmclient"
)

// TestEntityInfoContract: the engine reads the series the entity sync
// writes, by the names the sync gives them.
func TestEntityInfoContract(t *testing.T) {
	if report.EntityInfoMetric != awssync.MetricName || report.EntityTypeLabel != awssync.LabelKind ||
		report.EntityIDLabel != awssync.LabelID || report.EntityNameLabel != awssync.LabelName ||
		schema.LabelAccount != awssync.LabelAccountID || schema.LabelRegion != awssync.LabelRegion ||
		report.EntityVPCLabel != awssync.LabelVPCID || report.EntitySubnetLabel != awssync.LabelSubnetID ||
		report.EntityInterfaceTypeLabel != awssync.LabelInterfaceType {
		t.Errorf("the engine reads %s{%s, %s, %s}, the sync writes %s{%s, %s, %s}", report.EntityInfoMetric, report.EntityTypeLabel,
			report.EntityIDLabel, report.EntityNameLabel, awssync.MetricName, awssync.LabelKind, awssync.LabelID, awssync.LabelName)
	}
	for typ, kind := range map[report.EntityType]awssync.Kind{
		report.EntityVPC: awssync.KindVPC, report.EntitySubnet: awssync.KindSubnet, report.EntityInterface: awssync.KindInterface,
		report.EntityInstance: awssync.KindInstance, report.EntityAZ: awssync.KindAZ,
	} {
		if string(typ) != string(kind) {
			t.Errorf("entity type %q, the sync's kind %q", typ, kind)
		}
	}
	// Every label of a family that holds an entity's id has its type; the
	// others none.
	want := map[string]report.EntityType{
		"vpc_id": report.EntityVPC, "subnet_id": report.EntitySubnet, "az_id": report.EntityAZ, "instance_id": report.EntityInstance,
		"interface_id": report.EntityInterface, "src_interface": report.EntityInterface, "dst_interface": report.EntityInterface,
	}
	for _, f := range schema.Families() {
		for _, l := range f.Labels {
			if got := report.EntityTypeOf(l); got != want[l] {
				t.Errorf("EntityTypeOf(%q) = %q, want %q", l, got, want[l])
			}
		}
	}
	// The reports with id columns.
	ids := map[string][]string{}
	for _, r := range report.Reports() {
		if c := r.IDColumns(); c != nil {
			ids[r.ID] = c
		}
	}
	wantIDs := map[string][]string{
		"action-interface": {"interface_id"}, "action-interface-dst": {"interface_id"}, "action-interface-src": {"interface_id"},
		"availability-zones": {"az_id"}, "interface": {"interface_id"}, "pair-interface": {"src_interface", "dst_interface"},
		"pair-interface-action": {"src_interface", "dst_interface"}, "vpcs": {"vpc_id"}, "subnets": {"vpc_id", "subnet_id"},
		"instances": {"instance_id"}, "exporters": {"vpc_id"},
	}
	if fmt.Sprint(ids) != fmt.Sprint(wantIDs) {
		t.Errorf("IDColumns: %v\nwant %v", ids, wantIDs)
	}
}

func TestNameAndID(t *testing.T) {
	f := func(name, id, want string) {
		t.Helper()
		if got := report.NameAndID(name, id); got != want {
			t.Errorf("NameAndID(%q, %q) = %q, want %q", name, id, got, want)
		}
	}
	f("web-1", "eni-0a1", "web-1 (eni-0a1)")
	f("", "eni-0a1", "eni-0a1")
	f("us-east-1a", "use1-az1", "us-east-1a (use1-az1)")
}

// entitySync is one entity sync's entities of one account: per entity type, id
// to name ("" for an entity without a name).
type entitySync struct {
	account string
	at      time.Time
	names   map[report.EntityType]map[string]string
}

// writeSyncs writes the entity info series of the syncs as the entity sync
// does (awssync.Series), in region us-east-1, and flushes.
func writeSyncs(t *testing.T, vm *testserver.VM, syncs ...entitySync) {
	t.Helper()
	writeSyncsTo(t, vmclient.Config{URL: vm.URL}, vm.Flush, syncs...)
}

// writeSyncsTo is writeSyncs through a client of cfg (a cluster's
// vminsert), flushing with flush.
func writeSyncsTo(t *testing.T, cfg vmclient.Config, flush func(), syncs ...entitySync) {
	t.Helper()
	var series []vmclient.Series
	for _, s := range syncs {
		res := awssync.Result{Region: "us-east-1"}
		n := 0
		for typ, byID := range s.names {
			for _, id := range slices.Sorted(maps.Keys(byID)) {
				e := awssync.Entity{Kind: awssync.Kind(typ), ID: id, Name: byID[id]}
				switch typ {
				case report.EntityVPC:
					res.VPCs = append(res.VPCs, e)
				case report.EntitySubnet:
					res.Subnets = append(res.Subnets, e)
				case report.EntityInterface:
					res.Interfaces = append(res.Interfaces, e)
				case report.EntityInstance:
					res.Instances = append(res.Instances, e)
				case report.EntityAZ:
					res.AZs = append(res.AZs, e)
				}
				n++
			}
		}
		out := awssync.Series(res, s.account, s.at)
		if len(out) != n {
			t.Fatalf("awssync.Series wrote %d series of %d entities: an id without the shape AWS gives", len(out), n)
		}
		series = append(series, out...)
	}
	c, err := vmclient.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Write(context.Background(), series); err != nil {
		t.Fatal(err)
	}
	flush()
}

// noNames strips the names of a result's rows and series, for comparing
// it with the same query without names.
func noNames(res *report.Result) (rows []report.Row, series []report.Series) {
	for _, r := range res.Rows {
		r.Names = nil
		rows = append(rows, r)
	}
	for _, s := range res.Series {
		c := *s
		c.Names = nil
		series = append(series, c)
	}
	return rows, series
}

// entityQueries counts the queries of a result that read the entity info.
func entityQueries(res *report.Result) int {
	n := 0
	for _, q := range res.Queries {
		if strings.Contains(q, report.EntityInfoMetric) {
			n++
		}
	}
	return n
}

// checkNames runs q with and without names over [from, to) as a table and
// as time series: the same rows and series, values and order, and with
// names each row and series (but Other) has for each id column the name
// want gives its id (none when want has none), in one query of the entity
// info (none for a report without id columns or without names). It returns
// how many rows had a name.
func checkNames(t *testing.T, e *report.Engine, q report.Query, from, to time.Time, want map[report.EntityType]map[string]string) int {
	t.Helper()
	rep, err := report.Lookup(q.Report)
	if err != nil {
		t.Fatal(err)
	}
	cols := rep.IDColumns()
	expect := func(labels map[string]string, other bool) map[string]string {
		var out map[string]string
		for _, c := range cols {
			if n := want[report.EntityTypeOf(c)][labels[c]]; n != "" && !other {
				if out == nil {
					out = map[string]string{}
				}
				out[c] = n
			}
		}
		return out
	}
	named := 0
	for _, format := range []report.Format{report.FormatTable, report.FormatTimeSeries} {
		q := q
		q.Format = format
		if format == report.FormatTimeSeries && q.Top == 0 {
			q.Top = report.MaxSeries
		}
		what := fmt.Sprintf("%s %s top %d", q.Report, format, q.Top)
		q.Names = true
		on, err := e.Run(context.Background(), q, report.TimeRange{From: from, To: to})
		if err != nil {
			t.Fatalf("%s: %v", what, err)
		}
		q.Names = false
		off, err := e.Run(context.Background(), q, report.TimeRange{From: from, To: to})
		if err != nil {
			t.Fatalf("%s without names: %v", what, err)
		}
		if len(off.Rows)+len(off.Series) == 0 {
			t.Errorf("%s: no rows: a useless check", what)
		}
		rowsOn, seriesOn := noNames(on)
		rowsOff, seriesOff := noNames(off)
		if fmt.Sprint(rowsOn) != fmt.Sprint(rowsOff) || fmt.Sprint(seriesOn) != fmt.Sprint(seriesOff) || on.Total != off.Total {
			t.Errorf("%s: with names the rows or series differ from without:\n%v %v\n%v %v", what, rowsOn, seriesOn, rowsOff, seriesOff)
		}
		if !on.Names || off.Names {
			t.Errorf("%s: Result.Names %v with names, %v without", what, on.Names, off.Names)
		}
		if n := entityQueries(off); n != 0 {
			t.Errorf("%s: %d entity info queries without names", what, n)
		}
		wantQueries := 0
		if len(cols) > 0 {
			wantQueries = 1
		}
		if n := entityQueries(on); n != wantQueries {
			t.Errorf("%s: %d entity info queries, want %d: %q", what, n, wantQueries, on.Queries)
		}
		for _, r := range off.Rows {
			if r.Names != nil {
				t.Errorf("%s: row %v has names %v without names asked for", what, r.Labels, r.Names)
			}
		}
		check := func(labels, names map[string]string, other bool) {
			t.Helper()
			if w := expect(labels, other); !maps.Equal(names, w) || (names == nil) != (w == nil) {
				t.Errorf("%s: %v has names %v, want %v", what, labels, names, w)
			}
			if len(names) > 0 {
				named++
			}
		}
		for _, r := range on.Rows {
			check(r.Labels, r.Names, r.Other)
		}
		for _, s := range on.Series {
			check(s.Labels, s.Names, s.Other)
		}
	}
	return named
}

// TestNamesGroundTruth loads an hour of generated flow logs and two entity
// syncs (writeSyncs: the series the entity sync writes), half an hour
// before the hour and twenty minutes into it, of the ids in the data: per
// type, of every five ids one has no entity info, one was named at the
// first sync and has no name at the second (its Name tag removed), one was
// named at the first and deleted before the second, the others renamed
// between them to a name of a pool of three (so several ids share a name). Every
// report, as a table (every row and top 3) and as time series (top 1,000 and
// top 3), gives each row the name its ids have last in the range, and the
// same rows and values as without names.
func TestNamesGroundTruth(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	ds := reporttest.Load(t, vm, reporttest.Hour(t, 23))
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	checkNamesGroundTruth(t, e, ds, func(syncs ...entitySync) { writeSyncs(t, vm, syncs...) })
}

// checkNamesGroundTruth is TestNamesGroundTruth on the dataset ds (seed
// 23) the engine e reads, write storing the entity syncs where e reads.
func checkNamesGroundTruth(t *testing.T, e *report.Engine, ds *reporttest.Dataset, write func(...entitySync)) {
	t.Helper()
	ids := ds.EntityIDs(t)
	first := entitySync{account: "111111111111", at: ds.From.Add(-30 * time.Minute), names: map[report.EntityType]map[string]string{}}
	second := entitySync{account: "111111111111", at: ds.From.Add(20 * time.Minute), names: map[report.EntityType]map[string]string{}}
	want := map[report.EntityType]map[string]string{}
	for _, typ := range []report.EntityType{report.EntityVPC, report.EntitySubnet, report.EntityInterface, report.EntityInstance, report.EntityAZ} {
		if len(ids[typ]) < 3 {
			t.Fatalf("%d ids of type %s in the data: too few to try the cases", len(ids[typ]), typ)
		}
		first.names[typ], second.names[typ], want[typ] = map[string]string{}, map[string]string{}, map[string]string{}
		for i, id := range slices.Sorted(maps.Keys(ids[typ])) {
			switch i % 5 {
			case 1: // deleted after the first sync
				first.names[typ][id] = fmt.Sprintf("%s-deleted-%d", typ, i)
				want[typ][id] = first.names[typ][id]
			case 2: // no entity info
			case 3: // its name removed
				first.names[typ][id] = fmt.Sprintf("%s-old-%d", typ, i)
				second.names[typ][id] = ""
			default: // renamed, to one of three names
				first.names[typ][id] = fmt.Sprintf("%s-old-%d", typ, i)
				second.names[typ][id] = fmt.Sprintf("%s %d", typ, i%3)
				want[typ][id] = second.names[typ][id]
			}
		}
	}
	write(first, second)

	shared := false // two ids of one name seen as two rows
	for _, rep := range report.Reports() {
		named := 0
		for _, top := range []int{0, 3} {
			named += checkNames(t, e, report.Query{Report: rep.ID, Top: top}, ds.From, ds.To, want)
		}
		if len(rep.IDColumns()) > 0 && named == 0 {
			t.Errorf("%s: no row has a name: a useless check", rep.ID)
		}
		res, err := e.Table(context.Background(), report.Query{Report: rep.ID, Names: true}, ds.From, ds.To)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range rep.IDColumns() {
			byName := map[string]map[string]bool{}
			for _, r := range res.Rows {
				if n := r.Names[c]; n != "" {
					if byName[n] == nil {
						byName[n] = map[string]bool{}
					}
					byName[n][r.Labels[c]] = true
				}
			}
			for _, idsOfName := range byName {
				shared = shared || len(idsOfName) > 1
			}
		}
	}
	if !shared {
		t.Error("no two ids of one name in any report: the case is not tried")
	}
}

// TestNamesOverTime: hand-made traffic of five interfaces from 10:00 to
// 14:00 and hourly entity syncs at 10:00, 11:00, 12:00 and 13:00: an
// interface renamed between the syncs of 11:00 and 12:00 shows, in each
// range, the name of its newest sync within the range or the hour before
// it; an interface deleted after the sync of 11:00 keeps its name over
// ranges up to an hour after it, none later, and a longer lookback
// (WithNamesLookback) finds it; two interfaces of one name are two rows;
// a zone id has its name in each account (us-east-1a in one, us-east-1c
// in the other: both).
func TestNamesOverTime(t *testing.T) {
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
		renamed = "eni-0000000000000000a"
		deleted = "eni-0000000000000000b"
		db1     = "eni-0000000000000000c"
		db2     = "eni-0000000000000000d"
		unnamed = "eni-0000000000000000e"
	)
	interfaces := []string{renamed, deleted, db1, db2, unnamed}
	var series []vmclient.Series
	for i, iface := range interfaces {
		var samples []vmclient.Sample
		for ts := at("10:00"); ts.Before(at("14:00")); ts = ts.Add(5 * time.Minute) {
			samples = append(samples, vmclient.Sample{Timestamp: ts.UnixMilli() + 3, Value: float64(10 * (i + 1))})
		}
		az := "use1-az2"
		if iface == renamed {
			az = "use1-az1"
		}
		series = append(series, reporttest.Series("vpcflow_interface_bytes", schema.Interface,
			map[string]string{"interface_id": iface, "az_id": az, "action": "ACCEPT", schema.LabelVPC: "vpc-0a1"}, samples...))
	}
	reporttest.Write(t, vm.URL, series...)
	vm.Flush()
	ifaces := func(hhmm string, names map[string]string) entitySync {
		byID := map[string]string{db1: "db", db2: "db", unnamed: ""}
		maps.Copy(byID, names)
		return entitySync{account: "111111111111", at: at(hhmm), names: map[report.EntityType]map[string]string{
			report.EntityInterface: byID,
			report.EntityAZ:        {"use1-az1": "us-east-1a", "use1-az2": "us-east-1b"},
			report.EntityVPC:       {"vpc-0a1": "prod"},
		}}
	}
	other := entitySync{account: "222222222222", at: at("10:30"), names: map[report.EntityType]map[string]string{
		report.EntityAZ:  {"use1-az1": "us-east-1c"},
		report.EntityVPC: {"vpc-0a1": ""}, // shared, and not named in this account
	}}
	writeSyncs(t, vm,
		ifaces("10:00", map[string]string{renamed: "web-1", deleted: "old"}),
		ifaces("11:00", map[string]string{renamed: "web-1", deleted: "old"}),
		ifaces("12:00", map[string]string{renamed: "web-2"}),
		ifaces("13:00", map[string]string{renamed: "web-2"}),
		other)

	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	longer := report.NewEngine(e.Client(), report.WithNamesLookback(2*time.Hour))
	if e.NamesLookback() != report.DefaultNamesLookback || longer.NamesLookback() != 2*time.Hour {
		t.Errorf("lookbacks %s and %s, want %s and 2h", e.NamesLookback(), longer.NamesLookback(), report.DefaultNamesLookback)
	}
	// f checks the names over from–to: those of the interfaces besides
	// the two named db, and whether the other account's sync of 10:30 is
	// within the range or the lookback before it.
	f := func(e *report.Engine, from, to string, names map[string]string, otherAccount bool) {
		t.Helper()
		want := map[report.EntityType]map[string]string{
			report.EntityInterface: {db1: "db", db2: "db"},
			report.EntityAZ:        {"use1-az1": "us-east-1a", "use1-az2": "us-east-1b"},
			report.EntityVPC:       {"vpc-0a1": "prod"},
		}
		if otherAccount {
			want[report.EntityAZ]["use1-az1"] = "us-east-1a / us-east-1c"
		}
		maps.Copy(want[report.EntityInterface], names)
		for _, id := range []string{report.ReportInterface, report.ReportActionInterface, report.ReportAvailabilityZones, report.ReportVPCs} {
			for _, top := range []int{0, 2} {
				checkNames(t, e, report.Query{Report: id, Top: top}, at(from), at(to), want)
			}
		}
		res, err := e.Table(context.Background(), report.Query{Report: report.ReportInterface, Names: true}, at(from), at(to))
		if err != nil {
			t.Fatal(err)
		}
		if len(res.Rows) != len(interfaces) {
			t.Errorf("%s–%s: %d rows, want one per interface, %d", from, to, len(res.Rows), len(interfaces))
		}
	}
	f(e, "10:00", "11:00", map[string]string{renamed: "web-1", deleted: "old"}, true)
	f(e, "11:00", "12:00", map[string]string{renamed: "web-1", deleted: "old"}, true) // the sync of 12:00 is after the range
	f(e, "11:30", "12:30", map[string]string{renamed: "web-2", deleted: "old"}, true) // the sync of 12:00 is the newest
	f(e, "10:00", "14:00", map[string]string{renamed: "web-2", deleted: "old"}, true)
	f(e, "11:55", "12:00", map[string]string{renamed: "web-1", deleted: "old"}, false) // the sync of 11:00, in the hour before
	f(e, "12:05", "12:30", map[string]string{renamed: "web-2"}, false)                 // deleted: its last sync more than an hour before
	f(e, "13:05", "13:10", map[string]string{renamed: "web-2"}, false)
	f(longer, "12:05", "12:30", map[string]string{renamed: "web-2", deleted: "old"}, true) // within two hours
	f(longer, "13:05", "13:10", map[string]string{renamed: "web-2"}, false)
	zero := report.NewEngine(e.Client(), report.WithNamesLookback(0))
	f(zero, "10:00", "10:05", map[string]string{renamed: "web-1", deleted: "old"}, false)
	// No sync within the range, and no lookback: no names at all.
	for _, id := range []string{report.ReportInterface, report.ReportAvailabilityZones, report.ReportVPCs} {
		checkNames(t, zero, report.Query{Report: id}, at("11:30"), at("12:00"), nil)
	}
}

// TestNamesWithoutEntityInfo: without any entity info (an account the
// sync has no permission for, or no sync at all) every report answers as
// without names: the same rows, ids and no names.
func TestNamesWithoutEntityInfo(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	ds := reporttest.Load(t, vm, reporttest.Hour(t, 29))
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	for _, rep := range report.Reports() {
		for _, top := range []int{0, 3} {
			if n := checkNames(t, e, report.Query{Report: rep.ID, Top: top}, ds.From, ds.To, nil); n != 0 {
				t.Errorf("%s: %d rows with names", rep.ID, n)
			}
		}
	}
}

// TestNamesOfManyIDs: the names of a table of more ids than a query
// restricted to them can carry (VictoriaMetrics refuses queries over 16
// KiB) are fetched by type and picked in Go; a top 10 restricts its query
// to its ids.
func TestNamesOfManyIDs(t *testing.T) {
	const n = 600
	vm, from, to := reporttest.LoadPairs(t, n)
	want := map[report.EntityType]map[string]string{report.EntityInterface: {}}
	for i := range n {
		if i%3 != 0 {
			want[report.EntityInterface][reporttest.PairSrc(i)] = fmt.Sprintf("src %d", i)
		}
		if i%4 == 0 {
			want[report.EntityInterface][reporttest.PairDst(i)] = fmt.Sprintf("dst %d", i)
		}
	}
	// And interfaces not in the data.
	all := maps.Clone(want[report.EntityInterface])
	for i := range 50 {
		all[fmt.Sprintf("eni-%017d", 90_000_000+i)] = "elsewhere"
	}
	writeSyncs(t, vm, entitySync{account: "111111111111", at: from, names: map[report.EntityType]map[string]string{report.EntityInterface: all}})
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	if named := checkNames(t, e, report.Query{Report: report.ReportPairInterface}, from, to, want); named == 0 {
		t.Error("no names")
	}
	checkNames(t, e, report.Query{Report: report.ReportPairInterface, Top: 10}, from, to, want)
	for _, c := range []struct {
		top        int
		restricted bool
	}{{0, false}, {10, true}} {
		res, err := e.Table(context.Background(), report.Query{Report: report.ReportPairInterface, Top: c.top, Names: true}, from, to)
		if err != nil {
			t.Fatal(err)
		}
		for _, q := range res.Queries {
			if strings.Contains(q, report.EntityInfoMetric) && strings.Contains(q, report.EntityIDLabel+"=~") != c.restricted {
				t.Errorf("top %d: names query %.200s…: restricted to the ids %v, want %v", c.top, q, !c.restricted, c.restricted)
			}
			if len(q) > 16<<10 {
				t.Errorf("top %d: a query of %d bytes", c.top, len(q))
			}
		}
	}
}

// TestNamesAPI: Engine.Names, for other views than the reports (the
// network map): the names of ids by type over a range; ids without a name
// are left out.
func TestNamesAPI(t *testing.T) {
	vm := testserver.VictoriaMetrics(t)
	at := time.Date(2026, 7, 1, 10, 0, 0, 0, time.UTC)
	writeSyncs(t, vm, entitySync{account: "111111111111", at: at, names: map[report.EntityType]map[string]string{
		report.EntityInterface: {"eni-0a1": "web", "eni-0b2": ""},
		report.EntitySubnet:    {"subnet-0a1": "private"},
		report.EntityInstance:  {"i-0a1": "web host"},
	}})
	e, _ := newEngine(t, vmclient.Config{URL: vm.URL})
	got, err := e.Names(context.Background(), at, at.Add(time.Minute), map[report.EntityType][]string{
		report.EntityInterface: {"eni-0a1", "eni-0b2", "eni-0c3"},
		report.EntitySubnet:    {"subnet-0a1"},
		report.EntityVPC:       {"vpc-0a1"},
	})
	want := map[report.EntityType]map[string]string{report.EntityInterface: {"eni-0a1": "web"}, report.EntitySubnet: {"subnet-0a1": "private"}}
	if err != nil || fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("Names = %v, %v; want %v", got, err, want)
	}
	if got, err := e.Names(context.Background(), at, at.Add(time.Minute), nil); err != nil || got != nil {
		t.Errorf("Names of no ids = %v, %v", got, err)
	}
	// Before the sync, and more than the lookback after it: none.
	for _, from := range []time.Time{at.Add(-time.Hour), at.Add(time.Hour + time.Minute)} {
		got, err := e.Names(context.Background(), from, from.Add(time.Minute), map[report.EntityType][]string{report.EntityInterface: {"eni-0a1"}})
		if err != nil || len(got) != 0 {
			t.Errorf("Names from %s = %v, %v; want none", from.Format(time.Kitchen), got, err)
		}
	}
}
