package plugin

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/grafana/grafana-plugin-sdk-go/backend"

	"github.com/vpcflow/vpcflow/plugin/pkg/models"
	"github.com/vpcflow/vpcflow/report"
	"github.com/vpcflow/vpcflow/schema"
)

// DefaultLabelRange is the range label-values looks at when the request
// gives none: the last 24 hours.
const DefaultLabelRange = 24 * time.Hour

// ReportInfo is an entry of the reports resource (ReportInfo in
// plugin/src/types.ts).
type ReportInfo struct {
	// ID is the registry ID queries name.
	ID string `json:"id"`
	// Title is the report's display name.
	Title string `json:"title"`
	// Description says what the report shows.
	Description string `json:"description"`
	// Family is the metric family the report reads, e.g.
	// "vpcflow_interface".
	Family string `json:"family"`
	// GroupBy are the labels a row or series is keyed by.
	GroupBy []string `json:"groupBy"`
	// Labels are the labels a filter or variable may use: every label of
	// the family (the exporters report: account, region, VPC, interface).
	Labels []string `json:"labels"`
	// Metrics are what the report counts, the default first.
	Metrics []report.Metric `json:"metrics"`
}

// Reports returns the report registry as the reports resource gives it.
func Reports() []ReportInfo {
	var out []ReportInfo
	for _, r := range report.Reports() {
		out = append(out, ReportInfo{ID: r.ID, Title: r.Title, Description: r.Description, Family: r.FamilyDef().Name,
			GroupBy: r.GroupBy, Labels: r.Filterable(), Metrics: r.Metrics})
	}
	return out
}

// DisplayNames is the display-names resource (DisplayNames in
// plugin/src/types.ts): the readable names of label values
// (schema.ValueName), which the editors' value pickers show beside the raw
// values.
type DisplayNames struct {
	// Values maps a label to the names of its values, such as
	// {"protocol": {"6": "TCP", …}, "action": {"REJECT": "Rejected", …}}.
	Values map[string]map[string]string `json:"values"`
	// Absent is the value of a label whose field a record lacks ("-"),
	// and its name.
	Absent SpecialValue `json:"absent"`
	// Other is the value of the label sets a top-K family folds together
	// ("other"), and its name.
	Other SpecialValue `json:"other"`
}

// SpecialValue is a value any label may take, and its name.
type SpecialValue struct {
	// Value is the raw label value.
	Value string `json:"value"`
	// Name describes it.
	Name string `json:"name"`
}

// Names returns the display names as the display-names resource gives
// them.
func Names() DisplayNames {
	out := DisplayNames{
		Values: map[string]map[string]string{},
		Absent: SpecialValue{Value: schema.Absent, Name: schema.AbsentName},
		Other:  SpecialValue{Value: schema.Other, Name: schema.OtherName},
	}
	for _, v := range schema.AllValueNames() {
		out.Values[v.Label] = v.Names
	}
	return out
}

// LabelValue is an entry of the label-values resource asked with
// names=true (LabelValue in plugin/src/datasource.ts): what Grafana's
// MetricFindValue holds, text and value, and the name.
type LabelValue struct {
	// Value is the raw label value: what a variable or filter is set to.
	Value string `json:"value"`
	// Text is what a variable's or filter's choices show: "web-1
	// (eni-0a1)" (report.NameAndID) for an id with a name, else Value.
	Text string `json:"text"`
	// Name is the name of the entity whose id Value is; left out when it
	// has none, or the label holds no ids.
	Name string `json:"name,omitempty"`
}

// CallResource answers the editors' resources:
//
//   - GET reports → the registry, []ReportInfo;
//   - GET display-names → the names of label values, DisplayNames;
//   - GET label-values?report=ID&label=L&filter=[…]&from=MS&to=MS → the
//     values the label takes in the report's series over [from, to) (epoch
//     milliseconds; both or neither: by default the last 24 hours), with
//     the report's own filters and the given ones (a JSON array of
//     {label, op, value}; on a label holding ids the value may be a name,
//     as in queries) applied, sorted: []string;
//   - the same with names=true → []LabelValue, each value with its text:
//     for a label holding ids (interface_id, vpc_id, …) "name (id)" when the
//     id has a name over the range, else the value. Without names (or
//     names=false) the answer is the plain list, as before the parameter.
//
// Bad input answers 400 (a filter by name matching more ids than a query
// can list included), a failure of VictoriaMetrics 502, an unknown path
// 404 and another method than GET 405, each with a JSON body
// {"error": …, "message": …} (Grafana shows "message").
func (d *Datasource) CallResource(ctx context.Context, req *backend.CallResourceRequest, sender backend.CallResourceResponseSender) error {
	return d.resources.CallResource(ctx, req, sender)
}

// resourceMux routes the resources.
func (d *Datasource) resourceMux() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/reports", getOnly(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, Reports())
	}))
	mux.HandleFunc("/display-names", getOnly(func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, Names())
	}))
	mux.HandleFunc("/label-values", getOnly(d.labelValues))
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, fmt.Sprintf("no resource %q: the data source has reports, display-names and label-values", strings.TrimPrefix(r.URL.Path, "/")))
	})
	return mux
}

// getOnly answers 405 to every method but GET.
func getOnly(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodGet {
			w.Header().Set("Allow", http.MethodGet)
			writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: only GET is allowed", r.Method, strings.TrimPrefix(r.URL.Path, "/")))
			return
		}
		h(w, r)
	}
}

// labelValues answers GET label-values.
func (d *Datasource) labelValues(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Query()
	id, label := strings.TrimSpace(p.Get("report")), strings.TrimSpace(p.Get("label"))
	if id == "" || label == "" {
		writeError(w, http.StatusBadRequest, "label-values: want the parameters report (a report id) and label (one of its labels)")
		return
	}
	rep, err := report.Lookup(id)
	if err != nil {
		writeError(w, http.StatusBadRequest, "label-values: "+err.Error())
		return
	}
	if valid := rep.Filterable(); !slices.Contains(valid, label) {
		writeError(w, http.StatusBadRequest, fmt.Sprintf("label-values: report %s has no label %q; valid labels: %s", id, label, strings.Join(valid, ", ")))
		return
	}
	filters, err := models.ParseFilters(p.Get("filter"))
	if err == nil {
		err = report.Query{Report: id, Filters: filters}.Validate()
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "label-values: "+err.Error())
		return
	}
	from, to, err := labelRange(p.Get("from"), p.Get("to"), time.Now())
	if err == nil {
		from, to, err = report.Align(from, to, rep.Step())
	}
	if err != nil {
		writeError(w, http.StatusBadRequest, "label-values: "+err.Error())
		return
	}
	names := false
	if s := p.Get("names"); s != "" {
		if names, err = strconv.ParseBool(s); err != nil {
			writeError(w, http.StatusBadRequest, fmt.Sprintf("label-values: names %q: want true or false", s))
			return
		}
	}
	if err := d.ready(); err != nil {
		writeError(w, http.StatusInternalServerError, "label-values: "+err.Error())
		return
	}
	body, err := d.labelValuesOf(r.Context(), id, label, filters, from, to, names)
	if err != nil {
		err = d.redact(err)
		status := http.StatusBadGateway
		if errors.Is(err, report.ErrTooManyIDs) {
			status = http.StatusBadRequest // a filter by name to narrow
		}
		d.logger(r.Context()).Warn("Label values failed", "report", id, "label", label, "error", err.Error())
		writeError(w, status, "label-values: "+err.Error())
		return
	}
	writeJSON(w, http.StatusOK, body)
}

// labelValuesOf returns the label-values resource's answer: the values, or
// with names each value's LabelValue.
func (d *Datasource) labelValuesOf(ctx context.Context, id, label string, filters []report.Filter, from, to time.Time, names bool) (any, error) {
	if !names {
		values, err := d.engine.LabelValues(ctx, id, label, filters, from, to)
		if values == nil {
			values = []string{}
		}
		return values, err
	}
	named, err := d.engine.NamedLabelValues(ctx, id, label, filters, from, to)
	if err != nil {
		return nil, err
	}
	out := make([]LabelValue, len(named))
	for i, v := range named {
		out[i] = LabelValue{Value: v.Value, Text: report.NameAndID(v.Name, v.Value), Name: v.Name}
	}
	return out, nil
}

// labelRange reads the from and to parameters (epoch milliseconds), both
// or neither; neither gives the DefaultLabelRange before now.
func labelRange(from, to string, now time.Time) (time.Time, time.Time, error) {
	if from == "" && to == "" {
		return now.Add(-DefaultLabelRange), now, nil
	}
	if from == "" || to == "" {
		return time.Time{}, time.Time{}, fmt.Errorf("give both from and to (epoch milliseconds), or neither for the last %s", DefaultLabelRange)
	}
	parse := func(name, s string) (time.Time, error) {
		ms, err := strconv.ParseInt(s, 10, 64)
		if err != nil || ms < 0 {
			return time.Time{}, fmt.Errorf("%s %q: want epoch milliseconds", name, s)
		}
		return time.UnixMilli(ms).UTC(), nil
	}
	f, err := parse("from", from)
	if err != nil {
		return f, f, err
	}
	t, err := parse("to", to)
	return f, t, err
}

// apiError is the body of an error answer.
type apiError struct {
	Error   string `json:"error"`
	Message string `json:"message"`
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, apiError{Error: msg, Message: msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"error":"cannot encode the answer","message":"cannot encode the answer"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}
