// Package dashboards generates the Grafana dashboards of vpcflow
// (dashboards/*.json) with the Grafana Foundation SDK, from the report
// registry of package report: a report added to the registry
// gets its panels on the overview without a hand edit. `go tool mage
// dashboards` writes the files; a test fails when the committed files
// differ from what Generate returns.
//
// Every traffic panel queries the VPC Flow Logs data source (uid
// vpcflow) with the plugin's query model; the collector's own health is
// read through a Prometheus data source (uid vpcflow-vm) on the same
// VictoriaMetrics. Units and legends:
//
//   - time series are rates: the report engine's rate mode gives the
//     metric per second of each step, so bytes are bytes per second; a
//     "multiply by 8" transformation (calculateField, binary, every number
//     field times 8) turns them into bits per second, unit bps. The engine
//     has no bits metric, and doing it in the dashboard keeps the report
//     CLI and the tables in bytes;
//   - tables are totals over the time range, bytes in IEC units (unit
//     bytes: KiB, MiB, …);
//   - the plugin sets each field's unit itself (Bps, decbytes, …), and a
//     field's own unit wins over a panel's default, so the units are
//     overrides of every number field;
//   - legends are the plugin's display names, built from each series'
//     group-by labels ("eni-0a1 · REJECT", "TCP/443", "Other"): no
//     dashboard sets a display name over them.
//
// Dashboard variables (account, region, VPC, interface, action) use the
// plugin's variable query, are multi-value with an All value of .*, and
// narrow every panel whose report can filter on their label (label =~
// "$var"; a single-value variable uses =).
package dashboards

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"

	"github.com/grafana/grafana-foundation-sdk/go/dashboard"
)

// Folder is the Grafana folder the dashboards and the alert rules are
// provisioned into.
const Folder = "VPC Flow Logs"

// Tag is on every generated dashboard; the dashboards link to each other
// through it.
const Tag = "vpcflow"

// Dashboard UIDs.
const (
	UIDOverview  = "vpcflow-overview"
	UIDVPC       = "vpcflow-vpc"
	UIDInterface = "vpcflow-interface"
	UIDRejected  = "vpcflow-rejected"
	UIDCollector = "vpcflow-collector"
	UIDMap       = "vpcflow-network-map"
)

// File is one generated dashboard.
type File struct {
	// Name is the file name under dashboards/, such as "overview.json".
	Name string
	// UID and Title are the dashboard's.
	UID, Title string
	// JSON is the dashboard, indented, with a final newline.
	JSON []byte
}

// generator builds one dashboard.
type generator struct {
	name, uid, title string
	build            func(b *board)
}

// generators lists the dashboards in the order Generate returns them.
var generators = []generator{
	{"overview.json", UIDOverview, "VPC Flow Logs — Overview", overview},
	{"vpc-detail.json", UIDVPC, "VPC detail", vpcDetail},
	{"interface-detail.json", UIDInterface, "Interface detail", interfaceDetail},
	{"rejected-traffic.json", UIDRejected, "Rejected traffic", rejected},
	{"network-map.json", UIDMap, "Network map", networkMap},
	{"collector-health.json", UIDCollector, "Collector health", collectorHealth},
}

// Generate builds every dashboard.
func Generate() ([]File, error) {
	files := make([]File, 0, len(generators))
	for _, g := range generators {
		b := newBoard(g.uid, g.title)
		g.build(b)
		d, err := b.d.Build()
		if err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", g.uid, err)
		}
		// The SDK puts links in the controls menu of newer Grafana
		// versions; left unset, they show beside the variables.
		for i := range d.Links {
			d.Links[i].Placement = nil
		}
		for _, p := range d.Panels {
			if p.Panel != nil {
				paginate(p.Panel)
			}
			if p.RowPanel != nil {
				for i := range p.RowPanel.Panels {
					paginate(&p.RowPanel.Panels[i])
				}
			}
		}
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("dashboard %s: %w", g.uid, err)
		}
		files = append(files, File{Name: g.name, UID: g.uid, Title: g.title, JSON: buf.Bytes()})
	}
	return files, nil
}

// Write writes the dashboards into dir (the repository's dashboards/) and
// removes the .json files there that Generate no longer makes: the folder
// holds generated dashboards only. It returns the names written.
func Write(dir string) ([]string, error) {
	files, err := Generate()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var names []string
	for _, f := range files {
		if err := os.WriteFile(filepath.Join(dir, f.Name), f.JSON, 0o644); err != nil {
			return nil, err
		}
		names = append(names, f.Name)
	}
	stale, err := filepath.Glob(filepath.Join(dir, "*.json"))
	if err != nil {
		return nil, err
	}
	for _, path := range stale {
		if !slices.Contains(names, filepath.Base(path)) {
			if err := os.Remove(path); err != nil {
				return nil, err
			}
		}
	}
	return names, nil
}

// board is a dashboard being built: the SDK's builder, the variables that
// narrow its panels and the next panel id.
//
// The SDK marks its v1 dashboard builder deprecated in favour of the v2
// schema, but v1 JSON is what Grafana 12 provisions from files (v2 needs
// feature toggles), so the dashboards stay v1.
type board struct {
	//lint:ignore SA1019 v1 dashboards are what Grafana 12 file provisioning reads (see above).
	d      *dashboard.DashboardBuilder
	vars   []variable
	nextID uint32
}

func newBoard(uid, title string) *board {
	//lint:ignore SA1019 v1 dashboards are what Grafana 12 file provisioning reads (see board).
	d := dashboard.NewDashboardBuilder(title).
		Uid(uid).
		Tags([]string{Tag}).
		Editable().
		Time("now-6h", "now").
		Refresh("5m").
		Timezone("browser").
		Tooltip(dashboard.DashboardCursorSyncCrosshair).
		Link(dashboard.NewDashboardLinkBuilder("VPC Flow Logs").
			Type(dashboard.DashboardLinkTypeDashboards).
			Tags([]string{Tag}).
			AsDropdown(true).
			IncludeVars(true).
			KeepTime(true))
	return &board{d: d}
}

// id returns the next panel id (ids are unique within a dashboard).
func (b *board) id() uint32 {
	b.nextID++
	return b.nextID
}

// row starts a row of panels.
func (b *board) row(title string) {
	b.d.WithRow(dashboard.NewRowBuilder(title).Id(b.id()))
}

// description joins sentences, leaving out empty ones.
func description(parts ...string) string {
	var out []string
	for _, p := range parts {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return strings.Join(out, " ")
}
