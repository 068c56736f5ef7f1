package ledger

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"time"
)

// WriteQuarantined prints quarantined objects (the CLI's "quarantine
// list"): per record a line of its source, key, when it was quarantined
// (RFC 3339, UTC) and why, separated by tabs, then how many there are;
// or, with asJSON, a JSON line per record with its source, key, version,
// at and reason.
func WriteQuarantined(w io.Writer, recs []Record, asJSON bool) {
	enc := json.NewEncoder(w)
	for _, r := range recs {
		if asJSON {
			_ = enc.Encode(map[string]any{"source": r.Source, "key": r.Key, "version": r.Version, "at": r.At.UTC().Format(time.RFC3339), "reason": r.Reason})
			continue
		}
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\n", r.Source, r.Key, r.At.UTC().Format(time.RFC3339), r.Reason)
	}
	if !asJSON {
		fmt.Fprintf(w, "%d quarantined\n", len(recs))
	}
}

// ReleaseQuarantined releases (Release) the quarantined objects of a
// source ("" for every source) that have one of the keys, or every one
// with all (the CLI's "quarantine retry"): a key quarantined in several
// sources is released in each. It returns how many objects it released,
// and the keys that are not quarantined, sorted. It stops at the first
// release that fails.
func (l *Ledger) ReleaseQuarantined(source string, keys []string, all bool) (released int, missing []string, err error) {
	recs, err := l.Quarantined(source)
	if err != nil {
		return 0, nil, err
	}
	want := map[string]bool{} // key → found
	for _, k := range keys {
		want[k] = false
	}
	for _, r := range recs {
		if _, asked := want[r.Key]; !all && !asked {
			continue
		}
		if err := l.Release(r.Source, r.Key); err != nil {
			return released, nil, err
		}
		want[r.Key] = true
		released++
	}
	for k, found := range want {
		if !found {
			missing = append(missing, k)
		}
	}
	slices.Sort(missing)
	return released, missing, nil
}
