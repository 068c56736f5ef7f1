package ledger

import (
	"bytes"
	"reflect"
	"testing"
	"time"
)

// quarantineTest opens a ledger holding quarantined objects s/a, s/b, t/a
// and t/c, quarantined at 10:00:00.123 UTC.
func quarantineTest(t *testing.T) *Ledger {
	t.Helper()
	at := time.Date(2026, 3, 1, 10, 0, 0, 123e6, time.UTC)
	l, _ := openTest(t, Options{Now: func() time.Time { return at }})
	for _, o := range []Object{{Source: "s", Key: "a", Version: "1"}, {Source: "s", Key: "b", Version: "2"},
		{Source: "t", Key: "a", Version: "3"}, {Source: "t", Key: "c", Version: "4"}} {
		if err := l.Quarantine(o, "truncated at byte "+o.Version); err != nil {
			t.Fatal(err)
		}
	}
	return l
}

func TestWriteQuarantined(t *testing.T) {
	l := quarantineTest(t)
	recs, err := l.Quarantined("")
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		recs   []Record
		asJSON bool
		want   string
	}{
		{"text", recs, false, "s\ta\t2026-03-01T10:00:00Z\ttruncated at byte 1\ns\tb\t2026-03-01T10:00:00Z\ttruncated at byte 2\n" +
			"t\ta\t2026-03-01T10:00:00Z\ttruncated at byte 3\nt\tc\t2026-03-01T10:00:00Z\ttruncated at byte 4\n4 quarantined\n"},
		{"json", recs[:2], true, `{"at":"2026-03-01T10:00:00Z","key":"a","reason":"truncated at byte 1","source":"s","version":"1"}` + "\n" +
			`{"at":"2026-03-01T10:00:00Z","key":"b","reason":"truncated at byte 2","source":"s","version":"2"}` + "\n"},
		{"none", nil, false, "0 quarantined\n"},
		{"none as json", nil, true, ""},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var b bytes.Buffer
			WriteQuarantined(&b, tt.recs, tt.asJSON)
			if b.String() != tt.want {
				t.Errorf("got\n%s\nwant\n%s", b.String(), tt.want)
			}
		})
	}
}

func TestReleaseQuarantined(t *testing.T) {
	for _, tt := range []struct {
		name     string
		source   string
		keys     []string
		all      bool
		released int
		missing  []string
		left     []string // source/key still quarantined
	}{
		{"a key of every source", "", []string{"a"}, false, 2, nil, []string{"s/b", "t/c"}},
		{"a key of one source", "s", []string{"zz", "a", "c"}, false, 1, []string{"c", "zz"}, []string{"s/b", "t/a", "t/c"}},
		{"all of one source", "t", nil, true, 2, nil, []string{"s/a", "s/b"}},
		{"all", "", nil, true, 4, nil, nil},
		{"none of them", "", []string{"x"}, false, 0, []string{"x"}, []string{"s/a", "s/b", "t/a", "t/c"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			l := quarantineTest(t)
			released, missing, err := l.ReleaseQuarantined(tt.source, tt.keys, tt.all)
			if err != nil || released != tt.released || !reflect.DeepEqual(missing, tt.missing) {
				t.Errorf("released %d, missing %q, err %v; want %d and %q", released, missing, err, tt.released, tt.missing)
			}
			recs, err := l.Quarantined("")
			if err != nil {
				t.Fatal(err)
			}
			var left []string
			for _, r := range recs {
				left = append(left, r.Source+"/"+r.Key)
			}
			if !reflect.DeepEqual(left, tt.left) {
				t.Errorf("still quarantined %q, want %q", left, tt.left)
			}
		})
	}
}
