package report

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vpcflow/vpcflow/schema"
)

// The entity info series the entity sync writes (package
// collector/awssync): vpcflow_entity_info{entity_type, entity_id, name,
// account_id, region, …} 1 at every sync, stamped at the sync's time.
const (
	// EntityInfoMetric is the series' name.
	EntityInfoMetric = "vpcflow_entity_info"
	// EntityTypeLabel holds the entity's type (EntityType).
	EntityTypeLabel = "entity_type"
	// EntityIDLabel holds the entity's id: vpc-…, subnet-…, eni-…, i-…,
	// or an availability zone id such as use1-az1.
	EntityIDLabel = "entity_id"
	// EntityNameLabel holds the entity's name (its Name tag; for a zone,
	// its name such as us-east-1a); absent when it has none.
	EntityNameLabel = "name"
)

// EntityType is the type of an entity whose ids the families hold, the
// entity_type label of the entity info series.
type EntityType string

// Entity types.
const (
	EntityVPC       EntityType = "vpc"
	EntitySubnet    EntityType = "subnet"
	EntityInterface EntityType = "interface"
	EntityInstance  EntityType = "instance"
	EntityAZ        EntityType = "az"
)

// idLabels are the labels of the families that hold entity ids, with the
// type of the entities: read only.
var idLabels = map[string]EntityType{
	schema.LabelVPC: EntityVPC,
	"subnet_id":     EntitySubnet,
	"interface_id":  EntityInterface,
	"src_interface": EntityInterface,
	"dst_interface": EntityInterface,
	"instance_id":   EntityInstance,
	"az_id":         EntityAZ,
}

// EntityTypeOf returns the type of the entities whose ids label holds
// (interface for interface_id, src_interface and dst_interface, vpc for
// vpc_id, …), or "" for a label that holds no entity ids.
func EntityTypeOf(label string) EntityType { return idLabels[label] }

// IDColumns returns the columns of a report that hold entity ids, in
// column order: those that get names (Row.Names, Series.Names).
func (r Report) IDColumns() []string {
	var out []string
	for _, c := range r.GroupBy {
		if EntityTypeOf(c) != "" {
			out = append(out, c)
		}
	}
	return out
}

// DefaultNamesLookback is how far before a range's start the engine looks
// for names (WithNamesLookback): the entity sync's default interval, so
// that a range shorter than an interval still finds the sync before it.
const DefaultNamesLookback = time.Hour

// Option configures an Engine (New, NewEngine).
type Option func(*Engine)

// WithNamesLookback sets how far before a range's start the engine looks
// for names: the entity sync's interval (sync.interval), since an entity
// has a sample only at each sync. A negative d is 0 (names from syncs
// within the range only). The default is DefaultNamesLookback.
func WithNamesLookback(d time.Duration) Option {
	return func(e *Engine) { e.namesLookback = max(d, 0) }
}

// NamesLookback returns the engine's names lookback (WithNamesLookback).
func (e *Engine) NamesLookback() time.Duration { return e.namesLookback }

// NameAndID returns how an id is shown with its name: "web-1 (eni-0a1)",
// or the id alone when name is "".
func NameAndID(name, id string) string {
	if name == "" {
		return id
	}
	return name + " (" + id + ")"
}

// namesSeparator joins the names one id has in several accounts.
const namesSeparator = " / "

// Names returns the names of entities over [from, to): for each type the
// names of the given ids that have one (ids without a known name are left
// out, and so are the values that stand for no entity: "-", "other",
// "Other"). An entity's name is the name of its newest entity info sample
// in [from - lookback, to) (WithNamesLookback): an entity renamed between
// two syncs has the name it had last within the range, one whose name was
// removed has none, and an entity deleted in AWS keeps its name over
// ranges up to a lookback after its last sync. An id synced in several
// accounts (a shared VPC or subnet, an availability zone id, whose zone
// name differs per account) has its newest name in each account, the
// distinct ones sorted and joined by " / ". It sends one query for every
// type at once, restricted to the ids unless that makes it longer than 8
// KiB (VictoriaMetrics refuses queries over 16 KiB): then restricted to
// the types only, the ids picked in Go.
func (e *Engine) Names(ctx context.Context, from, to time.Time, ids map[EntityType][]string) (map[EntityType]map[string]string, error) {
	x := &exec{e: e}
	return x.names(ctx, from, to, ids)
}

// names is Names, its query recorded.
func (x *exec) names(ctx context.Context, from, to time.Time, ids map[EntityType][]string) (map[EntityType]map[string]string, error) {
	var types, all []string
	want := map[EntityType]map[string]bool{}
	for t, vs := range ids {
		for _, v := range vs {
			if !named(v) {
				continue
			}
			if want[t] == nil {
				want[t] = map[string]bool{}
				types = append(types, string(t))
			}
			want[t][v] = true
			all = append(all, v)
		}
	}
	if len(types) == 0 {
		return nil, nil
	}
	slices.Sort(types)
	slices.Sort(all)
	all = slices.Compact(all)
	d := to.Sub(from) + max(x.e.namesLookback, 0)
	group := []string{schema.LabelAccount, schema.LabelRegion, EntityTypeLabel, EntityIDLabel, EntityNameLabel}
	query := func(filters ...Filter) string {
		return by("max", group, rollup("tlast_over_time", selector(EntityInfoMetric, filters), d))
	}
	expr := query(oneOf(EntityTypeLabel, types), oneOf(EntityIDLabel, all))
	if len(expr) > maxRestricted {
		expr = query(oneOf(EntityTypeLabel, types))
	}
	samples, err := x.instant(ctx, expr, to)
	if err != nil {
		return nil, fmt.Errorf("names of %s: %w", strings.Join(types, ", "), err)
	}
	// The newest name per account, region and entity.
	type entity struct{ account, region, id string }
	type seen struct {
		at   float64
		name string
	}
	newest := map[EntityType]map[entity]seen{}
	for _, s := range samples {
		t := EntityType(s.Labels[EntityTypeLabel])
		id := s.Labels[EntityIDLabel]
		if !want[t][id] {
			continue
		}
		k := entity{s.Labels[schema.LabelAccount], s.Labels[schema.LabelRegion], id}
		n := seen{s.Value, s.Labels[EntityNameLabel]}
		if newest[t] == nil {
			newest[t] = map[entity]seen{}
		}
		if old, ok := newest[t][k]; !ok || n.at > old.at || n.at == old.at && n.name > old.name {
			newest[t][k] = n
		}
	}
	// The distinct names of each id over its accounts.
	out := map[EntityType]map[string]string{}
	for t, byEntity := range newest {
		perID := map[string][]string{}
		for k, n := range byEntity {
			if n.name != "" {
				perID[k.id] = append(perID[k.id], n.name)
			}
		}
		if len(perID) == 0 {
			continue
		}
		out[t] = make(map[string]string, len(perID))
		for id, names := range perID {
			slices.Sort(names)
			out[t][id] = strings.Join(slices.Compact(names), namesSeparator)
		}
	}
	return out, nil
}

// named reports whether a value of an id label may have a name: not one
// of the values that stand for no entity or for several (absent, the
// collector's folded remainder, the engine's Other, empty), and valid
// UTF-8 (the entity sync writes ids of the shapes AWS gives; a regular
// expression cannot hold other bytes).
func named(v string) bool {
	return v != "" && v != schema.Absent && v != schema.Other && v != OtherValue && utf8.ValidString(v) &&
		!strings.HasPrefix(v, schema.PairServicePrefix) // an AWS service peer, no entity
}

// idsOf returns, per entity type, the ids the id columns of rows hold
// (the Other row left out).
func idsOf(columns []string, rows []Row) map[EntityType][]string {
	seen := map[EntityType]map[string]bool{}
	out := map[EntityType][]string{}
	for _, r := range rows {
		if r.Other {
			continue
		}
		for _, c := range columns {
			v, t := r.Labels[c], EntityTypeOf(c)
			if !named(v) || seen[t][v] {
				continue
			}
			if seen[t] == nil {
				seen[t] = map[string]bool{}
			}
			seen[t][v] = true
			out[t] = append(out[t], v)
		}
	}
	return out
}

// nameLabels returns the names of a label set's id columns: nil when none
// has one.
func nameLabels(ls map[string]string, columns []string, names map[EntityType]map[string]string) map[string]string {
	var out map[string]string
	for _, c := range columns {
		v := ls[c]
		if !named(v) {
			continue
		}
		if n := names[EntityTypeOf(c)][v]; n != "" {
			if out == nil {
				out = make(map[string]string, len(columns))
			}
			out[c] = n
		}
	}
	return out
}

// nameRows fetches the names of the ids in a table's rows over [from, to)
// and sets each row's Names.
func (x *exec) nameRows(ctx context.Context, p *plan, rows []Row, from, to time.Time) error {
	cols := p.rep.IDColumns()
	ids := idsOf(cols, rows)
	if len(ids) == 0 {
		return nil
	}
	names, err := x.names(ctx, from, to, ids)
	if err != nil {
		return err
	}
	for i := range rows {
		if !rows[i].Other {
			rows[i].Names = nameLabels(rows[i].Labels, cols, names)
		}
	}
	return nil
}
