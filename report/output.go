package report

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"
)

// Outputs of WriteResult and WriteList (the report command's --output).
const (
	OutputTable = "table"
	OutputJSON  = "json"
	OutputCSV   = "csv"
)

// CheckOutput accepts the outputs WriteResult and WriteList know.
func CheckOutput(output string) error {
	switch output {
	case OutputTable, OutputJSON, OutputCSV:
		return nil
	}
	return fmt.Errorf("output %q: want table, json or csv", output)
}

// WriteList prints the registry: each report's id, title and description
// (and, in JSON, its family, group-by labels and metrics).
func WriteList(w io.Writer, output string) error {
	reps := Reports()
	switch output {
	case OutputJSON:
		type entry struct {
			ID          string   `json:"id"`
			Title       string   `json:"title"`
			Description string   `json:"description"`
			Family      string   `json:"family"`
			GroupBy     []string `json:"group_by"`
			Metrics     []string `json:"metrics"`
		}
		out := make([]entry, len(reps))
		for i, r := range reps {
			ms := make([]string, len(r.Metrics))
			for j, m := range r.Metrics {
				ms[j] = string(m)
			}
			out[i] = entry{r.ID, r.Title, r.Description, r.FamilyDef().Name, r.Columns(), ms}
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case OutputCSV:
		cw := csv.NewWriter(w)
		_ = cw.Write([]string{"id", "title", "description"})
		for _, r := range reps {
			_ = cw.Write([]string{r.ID, r.Title, r.Description})
		}
		cw.Flush()
		return cw.Error()
	case OutputTable:
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ID\tTITLE\tDESCRIPTION")
		for _, r := range reps {
			fmt.Fprintf(tw, "%s\t%s\t%s\n", r.ID, r.Title, r.Description)
		}
		return tw.Flush()
	}
	return CheckOutput(output)
}

// WriteResult prints a table result: as JSON,
// {"report":ID,"metric":"bytes","from":RFC3339,"to":RFC3339,"rows":[{"labels":{...},"names":{...},"value":N}]}
// (names, the names of the row's ids by column, only when it has any);
// as CSV, a header of the columns and the unit, then a record per row,
// and when the result has names (Result.Names) a column <label>_name after
// each id column (Report.IDColumns), empty for an id without a known name;
// as a table, a title line, a row per row (an id with a name as
// "name (id)", NameAndID) and the total. Values are exact: whole numbers
// without a fraction or exponent.
func WriteResult(w io.Writer, output string, res *Result) error {
	unit := string(res.Metric)
	if res.Mode == ModeRate {
		unit += "/s"
	}
	switch output {
	case OutputJSON:
		type row struct {
			Labels map[string]string `json:"labels"`
			Names  map[string]string `json:"names,omitempty"`
			Value  json.Number       `json:"value"`
		}
		out := struct {
			Report string `json:"report"`
			Metric string `json:"metric"`
			From   string `json:"from"`
			To     string `json:"to"`
			Rows   []row  `json:"rows"`
		}{res.Report.ID, string(res.Metric), res.From.Format(time.RFC3339), res.To.Format(time.RFC3339), make([]row, 0, len(res.Rows))}
		for _, r := range res.Rows {
			out.Rows = append(out.Rows, row{r.Labels, r.Names, json.Number(formatValue(r.Value))})
		}
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	case OutputCSV:
		cw := csv.NewWriter(w)
		header := make([]string, 0, 2*len(res.Columns)+1)
		for _, c := range res.Columns {
			header = append(header, c)
			if res.Names && EntityTypeOf(c) != "" {
				header = append(header, c+NameColumnSuffix)
			}
		}
		_ = cw.Write(append(header, unit))
		for _, r := range res.Rows {
			rec := make([]string, 0, len(header))
			for _, c := range res.Columns {
				rec = append(rec, r.Labels[c])
				if res.Names && EntityTypeOf(c) != "" {
					rec = append(rec, r.Names[c])
				}
			}
			_ = cw.Write(append(rec, formatValue(r.Value)))
		}
		cw.Flush()
		return cw.Error()
	case OutputTable:
		fmt.Fprintf(w, "%s (%s) — %s, %s to %s\n", res.Report.Title, res.Report.ID, unit,
			res.From.Format(time.RFC3339), res.To.Format(time.RFC3339))
		tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		for _, c := range res.Columns {
			fmt.Fprintf(tw, "%s\t", strings.ToUpper(c))
		}
		fmt.Fprintf(tw, "%s\t\n", strings.ToUpper(unit))
		for _, r := range res.Rows {
			for _, c := range res.Columns {
				fmt.Fprintf(tw, "%s\t", NameAndID(r.Names[c], r.Labels[c]))
			}
			fmt.Fprintf(tw, "%s\t\n", formatValue(r.Value))
		}
		if len(res.Rows) == 0 {
			fmt.Fprintln(tw, "(no data in the range)\t")
		}
		fmt.Fprintf(tw, "%s\t", "TOTAL")
		for range len(res.Columns) - 1 {
			fmt.Fprint(tw, "\t")
		}
		fmt.Fprintf(tw, "%s\t\n", formatValue(res.Total))
		return tw.Flush()
	}
	return CheckOutput(output)
}

// NameColumnSuffix ends the name of the CSV column that holds the names of
// an id column's ids: interface_id_name.
const NameColumnSuffix = "_name"

// formatValue prints a value: whole numbers without a fraction or
// exponent.
func formatValue(v float64) string { return strconv.FormatFloat(v, 'f', -1, 64) }
