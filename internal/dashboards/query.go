package dashboards

import (
	"errors"
	"reflect"
	"slices"
	"time"

	"github.com/grafana/grafana-foundation-sdk/go/cog"
	"github.com/grafana/grafana-foundation-sdk/go/cog/variants"
	"github.com/grafana/grafana-foundation-sdk/go/common"

	"github.com/vpcflow/vpcflow/report"
)

// Data source references: the uids and types the provisioning files give
// the two data sources (provisioning/datasources/vpcflow.yaml).
const (
	// PluginUID is the uid of the VPC Flow Logs data source.
	PluginUID = "vpcflow"
	// PluginType is the plugin id of the VPC Flow Logs data source
	// (plugin/src/plugin.json).
	PluginType = "vpcflow-flowlogs-datasource"
	// PrometheusUID is the uid of the Prometheus data source on the same
	// VictoriaMetrics, which reads the collector's own /metrics.
	PrometheusUID = "vpcflow-vm"
	// PrometheusType is Grafana's Prometheus data source type.
	PrometheusType = "prometheus"
)

// PluginRef returns a reference to the VPC Flow Logs data source.
func PluginRef() common.DataSourceRef { return dsRef(PluginType, PluginUID) }

// PrometheusRef returns a reference to the Prometheus data source.
func PrometheusRef() common.DataSourceRef { return dsRef(PrometheusType, PrometheusUID) }

func dsRef(typ, uid string) common.DataSourceRef {
	return common.DataSourceRef{Type: &typ, Uid: &uid}
}

// Query is a query of the VPC Flow Logs data source as a dashboard stores
// it: Grafana's refId and data source reference, then the report query
// (report.Query: {report, metric, mode, top, filters, format}), whose JSON
// is the query model the plugin reads (models.Query, FlowQuery of
// plugin/src/types.ts). The generator sets every field; one left empty is
// left out, and the plugin reads it as it would read it empty. Filter
// values may hold dashboard variables ($vpc), which the plugin's frontend
// replaces before a query is sent.
type Query struct {
	// RefID names the query within its panel.
	RefID string `json:"refId"`
	// Datasource is the VPC Flow Logs data source.
	Datasource *common.DataSourceRef `json:"datasource,omitempty"`
	report.Query
}

// ImplementsDataqueryVariant marks Query as a data query of the SDK.
func (Query) ImplementsDataqueryVariant() {}

// DataqueryType returns the plugin id of the data source answering the
// query.
func (Query) DataqueryType() string { return PluginType }

// Equals reports whether other is the same query.
func (q Query) Equals(other variants.Dataquery) bool {
	o, ok := other.(Query)
	return ok && reflect.DeepEqual(q, o)
}

// Validate checks the query as the report engine will see it once the
// frontend has replaced the variables: a known report, a metric it
// counts, labels it can filter on, a top of 1 or more (see errTop).
// Each variable stands for a plain value (every variable of these
// dashboards is a label value or the regular expression .* for All).
func (q Query) Validate() error {
	rq := q.Query
	rq.Filters = slices.Clone(q.Filters)
	for i := range rq.Filters {
		rq.Filters[i].Value = variableName.ReplaceAllString(rq.Filters[i].Value, "x")
	}
	if q.Top < 1 {
		return errTop
	}
	return rq.Validate()
}

// Step returns the step of the data the query reads once the variables
// are replaced (report.Query.Step: a minute, or five for the five-minute
// families): the plugin answers time series at a multiple of it.
func (q Query) Step() (time.Duration, error) {
	rq := q.Query
	rq.Filters = slices.Clone(q.Filters)
	for i := range rq.Filters {
		rq.Filters[i].Value = variableName.ReplaceAllString(rq.Filters[i].Value, "x")
	}
	return rq.Step()
}

// errTop is what Validate says about a top of 0 (every row): Query's JSON
// leaves a top of 0 out (report.Query's omitempty), and the plugin reads a
// query without a top as top 10, its default (models.DefaultTop).
var errTop = errors.New("top must be 1 or more: a top of 0 is left out of the stored query, which the plugin then reads as top 10")

// queryBuilder hands a Query to the SDK's panel builders.
type queryBuilder struct{ q Query }

// Build returns the query.
func (b queryBuilder) Build() (variants.Dataquery, error) {
	if err := b.q.Validate(); err != nil {
		return nil, cog.MakeBuildErrors("vpcflow query "+b.q.RefID, err)
	}
	return b.q, nil
}

var _ cog.Builder[variants.Dataquery] = queryBuilder{}

// VariableQuery is the query of a dashboard variable answered by the VPC
// Flow Logs data source: the FlowVariableQuery of plugin/src/types.ts, the
// values one label takes in a report's series, narrowed by filters.
type VariableQuery struct {
	// RefID names the query (Grafana's data query model wants one).
	RefID string `json:"refId"`
	// Report is the report whose series hold the values.
	Report string `json:"report"`
	// Label is the label whose values the variable offers.
	Label string `json:"label"`
	// Filters narrow the series; their values may refer to the variables
	// before this one.
	Filters []report.Filter `json:"filters"`
}

// Map returns the query as the JSON object a dashboard stores.
func (v VariableQuery) Map() map[string]any {
	filters := make([]any, len(v.Filters))
	for i, f := range v.Filters {
		filters[i] = map[string]any{"label": f.Label, "op": string(f.Op), "value": f.Value}
	}
	return map[string]any{"refId": v.RefID, "report": v.Report, "label": v.Label, "filters": filters}
}
