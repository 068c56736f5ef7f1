package report

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"
)

// TestWriteResult prints one result in each output: JSON of the report
// command's contract, CSV with the unit, the table with its total; values
// exact, whole numbers without an exponent.
func TestWriteResult(t *testing.T) {
	rep, err := Lookup("action")
	if err != nil {
		t.Fatal(err)
	}
	from := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
	res := &Result{Report: rep, Metric: MetricBytes, Mode: ModeTotal, From: from, To: from.Add(time.Hour), Columns: []string{"action"},
		Rows:  []Row{{Labels: map[string]string{"action": "ACCEPT"}, Value: 12345678901234}, {Labels: map[string]string{"action": "REJECT"}, Value: 0.5}},
		Total: 12345678901234.5}
	f := func(output, want string) {
		t.Helper()
		var b bytes.Buffer
		if err := WriteResult(&b, output, res); err != nil || !strings.Contains(b.String(), want) {
			t.Errorf("%s: %v\n%s\nwant it to hold\n%s", output, err, b.String(), want)
		}
	}
	f(OutputJSON, `{
  "report": "action",
  "metric": "bytes",
  "from": "2026-03-01T10:00:00Z",
  "to": "2026-03-01T11:00:00Z",
  "rows": [
    {
      "labels": {
        "action": "ACCEPT"
      },
      "value": 12345678901234
    },`)
	f(OutputCSV, "action,bytes\nACCEPT,12345678901234\nREJECT,0.5\n")
	f(OutputTable, "TOTAL   12345678901234.5")
	if err := CheckOutput("xml"); err == nil || err.Error() != `output "xml": want table, json or csv` {
		t.Errorf("CheckOutput(xml): %v", err)
	}
	// Names: beside the ids in JSON, a column per id column in CSV, "name
	// (id)" in the table; an id without a name alone, Other without any.
	iface, err := Lookup(ReportActionInterface)
	if err != nil {
		t.Fatal(err)
	}
	res = &Result{Report: iface, Metric: MetricBytes, Mode: ModeTotal, From: from, To: from.Add(time.Hour), Columns: iface.Columns(), Names: true,
		Rows: []Row{
			{Labels: map[string]string{"interface_id": "eni-1", "action": "ACCEPT"}, Names: map[string]string{"interface_id": "web-1"}, Value: 30},
			{Labels: map[string]string{"interface_id": "eni-2", "action": "ACCEPT"}, Value: 20},
			{Labels: map[string]string{"interface_id": "Other", "action": "Other"}, Value: 10, Other: true},
		},
		Total: 60}
	var js bytes.Buffer
	if err := WriteResult(&js, OutputJSON, res); err != nil {
		t.Fatal(err)
	}
	var compact bytes.Buffer
	if err := json.Compact(&compact, js.Bytes()); err != nil {
		t.Fatal(err)
	}
	if want := `"rows":[{"labels":{"action":"ACCEPT","interface_id":"eni-1"},"names":{"interface_id":"web-1"},"value":30},` +
		`{"labels":{"action":"ACCEPT","interface_id":"eni-2"},"value":20},{"labels":{"action":"Other","interface_id":"Other"},"value":10}]`; !strings.Contains(compact.String(), want) {
		t.Errorf("json with names:\n%s\nwant it to hold\n%s", compact.String(), want)
	}
	f(OutputCSV, "interface_id,interface_id_name,action,bytes\neni-1,web-1,ACCEPT,30\neni-2,,ACCEPT,20\nOther,,Other,10\n")
	f(OutputTable, "web-1 (eni-1)  ACCEPT")
	f(OutputTable, "\neni-2          ACCEPT")
	res.Names = false // raw ids: no name columns
	f(OutputCSV, "interface_id,action,bytes\neni-1,ACCEPT,30\n")

	var b bytes.Buffer
	if err := WriteList(&b, OutputCSV); err != nil || !strings.HasPrefix(b.String(), "id,title,description\n") || !strings.Contains(b.String(), "\naction,Action,") {
		t.Errorf("list: %v\n%s", err, b.String())
	}
}
