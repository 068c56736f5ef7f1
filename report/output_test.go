package report

import (
	"bytes"
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
	var b bytes.Buffer
	if err := WriteList(&b, OutputCSV); err != nil || !strings.HasPrefix(b.String(), "id,title,description\n") || !strings.Contains(b.String(), "\naction,Action,") {
		t.Errorf("list: %v\n%s", err, b.String())
	}
}
