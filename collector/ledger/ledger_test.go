package ledger

import (
	"encoding/binary"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strconv"
	"strings"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// clock is a settable test clock.
type clock struct{ t time.Time }

func (c *clock) Now() time.Time { return c.t }

// openTest opens a ledger in a temporary directory and closes it at the end
// of the test.
func openTest(t testing.TB, opts Options) (*Ledger, string) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "sub", "ledger.db")
	return reopen(t, path, opts), path
}

// reopen opens the ledger at path and closes it at the end of the test.
func reopen(t testing.TB, path string, opts Options) *Ledger {
	t.Helper()
	l, err := Open(path, opts)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { _ = l.Close() })
	return l
}

// obj returns an object of source "s" with the given key and version.
func obj(key, version string) Object {
	return Object{Source: "s", Key: key, Version: version, Size: int64(len(key))}
}

// mustBegin begins a batch and fails the test on error.
func mustBegin(t testing.TB, l *Ledger, objects []Object, minutes []int64) Batch {
	t.Helper()
	b, err := l.BeginBatch(objects, minutes, []byte("snap"), nil)
	if err != nil {
		t.Fatalf("BeginBatch: %v", err)
	}
	return b
}

// mustState checks the state Lookup reports.
func mustState(t *testing.T, l *Ledger, o Object, want State) Record {
	t.Helper()
	r, err := l.Lookup(o.Source, o.Key, o.Version)
	if err != nil {
		t.Fatalf("Lookup(%s): %v", o, err)
	}
	if r.State != want {
		t.Fatalf("Lookup(%s) = %s, want %s", o, r.State, want)
	}
	return r
}

func TestStateString(t *testing.T) {
	tests := []struct {
		s    State
		want string
	}{
		{Unknown, "unknown"},
		{Pending, "pending"},
		{Ingested, "ingested"},
		{Quarantined, "quarantined"},
		{State(9), "state(9)"},
	}
	for _, tt := range tests {
		if got := tt.s.String(); got != tt.want {
			t.Errorf("State(%d).String() = %q, want %q", tt.s, got, tt.want)
		}
	}
}

func TestRecordEncoding(t *testing.T) {
	at := time.UnixMilli(1_700_000_000_123).UTC()
	tests := []struct {
		name string
		r    Record
	}{
		{"pending", Record{Object: Object{Source: "src", Key: "a/b.gz", Version: "etag", Size: 12345}, State: Pending, Batch: 7, At: at}},
		{"quarantined", Record{Object: Object{Source: "src", Key: "k", Version: "", Size: 0}, State: Quarantined, At: at, Reason: "gzip: invalid header"}},
		{"negative size and huge batch", Record{Object: Object{Source: "src", Key: "k", Version: "v", Size: -1}, State: Ingested, Batch: 1<<63 + 5, At: at}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeRecord(tt.r.Source, tt.r.Key, encodeRecord(tt.r))
			if err != nil {
				t.Fatalf("decode: %v", err)
			}
			if !reflect.DeepEqual(got, tt.r) {
				t.Errorf("round trip = %+v, want %+v", got, tt.r)
			}
		})
	}
	for _, bad := range [][]byte{nil, {0}, {9}, {byte(Pending)}, {byte(Pending), 1, 2, 3, 50}} {
		if _, err := decodeRecord("s", "k", bad); !errors.Is(err, errCorrupt) {
			t.Errorf("decodeRecord(%v) error = %v, want corrupt", bad, err)
		}
	}
}

func TestOpenOptions(t *testing.T) {
	tests := []struct {
		name    string
		opts    Options
		wantErr string
	}{
		{"zero value", Options{}, ""},
		{"instance 2 of 3", Options{Instance: 2, Instances: 3}, ""},
		{"instance out of range", Options{Instance: 3, Instances: 3}, "instance must be"},
		{"negative instance", Options{Instance: -1}, "instance must be"},
		{"too many instances", Options{Instances: MaxInstances + 1}, "instances must be"},
		{"most instances", Options{Instance: MaxInstances - 1, Instances: MaxInstances}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := Open(filepath.Join(t.TempDir(), "l.db"), tt.opts)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Open: %v", err)
				}
				_ = l.Close()
				return
			}
			if err == nil {
				_ = l.Close()
				t.Fatalf("Open succeeded, want error %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Open error = %v, want %q", err, tt.wantErr)
			}
		})
	}
}

// TestReconfigure opens a ledger of instance 1 of 3 again as another
// instance: another index is refused, another count only while the ledger
// holds work in flight (a batch not committed, an object ingested and not
// yet deleted), unless AllowReconfigure.
func TestReconfigure(t *testing.T) {
	tests := []struct {
		name    string
		work    func(t *testing.T, l *Ledger)
		second  Options
		wantErr string
	}{
		{"same instance", nil, Options{Instance: 1, Instances: 3}, ""},
		{"other index", nil, Options{Instance: 0, Instances: 3}, "index of a state_dir cannot change"},
		{"other count", nil, Options{Instance: 1, Instances: 4}, ""},
		{"fewer", nil, Options{Instance: 1, Instances: 2}, ""},
		{"other count, batch pending", func(t *testing.T, l *Ledger) {
			if _, err := beginMinutes(l, 1, []int64{5}); err != nil {
				t.Fatal(err)
			}
		}, Options{Instance: 1, Instances: 4}, "1 batches not committed and 1 objects"},
		{"other count, object not deleted", func(t *testing.T, l *Ledger) {
			b, err := beginMinutes(l, 1, []int64{5})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.CommitBatch(b.ID); err != nil {
				t.Fatal(err)
			}
		}, Options{Instance: 1, Instances: 4}, "0 batches not committed and 1 objects"},
		{"other count, object deleted", func(t *testing.T, l *Ledger) {
			b, err := beginMinutes(l, 1, []int64{5})
			if err != nil {
				t.Fatal(err)
			}
			if err := l.CommitBatch(b.ID); err != nil {
				t.Fatal(err)
			}
			if err := l.Forget("s", b.Objects[0].Key); err != nil {
				t.Fatal(err)
			}
		}, Options{Instance: 1, Instances: 4}, ""},
		{"allowed", func(t *testing.T, l *Ledger) {
			if _, err := beginMinutes(l, 1, []int64{5}); err != nil {
				t.Fatal(err)
			}
		}, Options{Instance: 0, Instances: 1, AllowReconfigure: true}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, path := openTest(t, Options{Instance: 1, Instances: 3})
			if tt.work != nil {
				tt.work(t, l)
			}
			if err := l.Close(); err != nil {
				t.Fatal(err)
			}
			l2, err := Open(path, tt.second)
			if err == nil {
				_ = l2.Close()
			}
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("second Open: %v", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("second Open error = %v, want %q", err, tt.wantErr)
			case strings.Contains(tt.wantErr, "batches") && !errors.Is(err, ErrShareInFlight):
				t.Errorf("second Open error = %v, want ErrShareInFlight", err)
			}
		})
	}
}

func TestCrashAndCommit(t *testing.T) {
	clk := &clock{time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)}
	opts := Options{Now: clk.Now}
	l, path := openTest(t, opts)
	objs := []Object{obj("a", "v1"), obj("b", "v1"), {Source: "other", Key: "a", Version: "x", Size: 9}}
	minutes := []int64{100, 99, 100, 101}
	begun, err := l.BeginBatch(objs, minutes, []byte{1, 2, 3, 0}, nil)
	if err != nil {
		t.Fatalf("BeginBatch: %v", err)
	}
	if want := []int64{99, 100, 101}; !reflect.DeepEqual(begun.Minutes, want) {
		t.Errorf("minutes = %v, want sorted unique %v", begun.Minutes, want)
	}
	for _, o := range objs {
		mustState(t, l, o, Pending)
	}
	// "Crash": the ledger is closed without commit and reopened.
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	l = reopen(t, path, opts)
	pending, err := l.PendingBatches()
	if err != nil {
		t.Fatalf("PendingBatches: %v", err)
	}
	if len(pending) != 1 || !reflect.DeepEqual(pending[0], begun) {
		t.Fatalf("PendingBatches = %+v, want [%+v]", pending, begun)
	}
	clk.t = clk.t.Add(time.Minute)
	if err := l.CommitBatch(begun.ID); err != nil {
		t.Fatalf("CommitBatch: %v", err)
	}
	if pending, _ := l.PendingBatches(); len(pending) != 0 {
		t.Errorf("PendingBatches after commit = %+v, want none", pending)
	}
	tests := []struct {
		name string
		o    Object
		want State
	}{
		{"a ingested", obj("a", "v1"), Ingested},
		{"b ingested", obj("b", "v1"), Ingested},
		{"other source ingested", objs[2], Ingested},
		{"a new version", obj("a", "v2"), Unknown},
		{"b empty version", obj("b", ""), Unknown},
		{"unknown key", obj("c", "v1"), Unknown},
		{"unknown source", Object{Source: "nope", Key: "a", Version: "v1"}, Unknown},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustState(t, l, tt.o, tt.want)
			if tt.want == Ingested {
				if r.Batch != begun.ID || !r.At.Equal(clk.t) || r.Size != tt.o.Size {
					t.Errorf("record = %+v, want batch %d at %v size %d", r, begun.ID, clk.t, tt.o.Size)
				}
			}
			if tt.want == Unknown && (r.Source != tt.o.Source || r.Key != tt.o.Key || r.Version != tt.o.Version) {
				t.Errorf("unknown record object = %+v, want %+v", r.Object, tt.o)
			}
		})
	}
	if err := l.CommitBatch(begun.ID); !errors.Is(err, ErrNotFound) {
		t.Errorf("second CommitBatch error = %v, want ErrNotFound", err)
	}
	// New data under an old key is a new object.
	b2 := mustBegin(t, l, []Object{obj("a", "v2")}, []int64{100})
	if b2.Slot == begun.Slot {
		t.Errorf("second batch got slot %d, the first one's", b2.Slot)
	}
	mustState(t, l, obj("a", "v2"), Pending)
	mustState(t, l, obj("a", "v1"), Unknown)
}

func TestBeginBatchRejects(t *testing.T) {
	tests := []struct {
		name    string
		objects []Object
		minutes []int64
		facts   []Fact
		wantErr string
	}{
		{"already pending", []Object{obj("new1", "v"), obj("pending", "v")}, []int64{5}, nil, "s/pending@v is already pending in batch 2"},
		{"pending other version", []Object{obj("pending", "v2")}, nil, nil, "already pending"},
		{"already ingested", []Object{obj("ingested", "v"), obj("new1", "v")}, []int64{5}, nil, "s/ingested@v is already ingested"},
		{"already quarantined", []Object{obj("quarantined", "v")}, nil, nil, "is already quarantined"},
		{"twice in batch", []Object{obj("new1", "v"), obj("new1", "v2")}, nil, nil, "appears twice"},
		{"no objects", nil, []int64{5}, nil, "no objects"},
		{"empty key", []Object{obj("", "v")}, nil, nil, "empty key"},
		{"empty source", []Object{{Key: "k"}}, nil, nil, "empty source"},
		{"negative minute", []Object{obj("new1", "v")}, []int64{-1}, nil, "negative minute"},
		{"empty fact kind", []Object{obj("new1", "v")}, nil, []Fact{{Key: "k"}}, "empty fact kind"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, _ := openTest(t, Options{})
			first := mustBegin(t, l, []Object{obj("ingested", "v")}, []int64{5})
			if err := l.CommitBatch(first.ID); err != nil {
				t.Fatal(err)
			}
			mustBegin(t, l, []Object{obj("pending", "v")}, []int64{5})
			if err := l.Quarantine(obj("quarantined", "v"), "bad"); err != nil {
				t.Fatal(err)
			}
			facts := append([]Fact{{Kind: "iface", Key: "eni-1", Value: []byte("x")}}, tt.facts...)
			_, err := l.BeginBatch(tt.objects, tt.minutes, nil, facts)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("BeginBatch error = %v, want %q", err, tt.wantErr)
			}
			// Nothing of the failed batch is stored.
			mustState(t, l, obj("new1", "v"), Unknown)
			if pending, _ := l.PendingBatches(); len(pending) != 1 {
				t.Errorf("pending batches = %d, want 1", len(pending))
			}
			n := 0
			if err := l.Facts("iface", func(string, []byte) error { n++; return nil }); err != nil || n != 0 {
				t.Errorf("facts after failed begin: %d (%v), want none", n, err)
			}
			// The failed batch used neither an ID nor a slot.
			next := mustBegin(t, l, []Object{obj("later", "v")}, []int64{5})
			if next.ID != 3 || next.Slot != 2 {
				t.Errorf("next batch = id %d slot %d, want id 3 slot 2", next.ID, next.Slot)
			}
		})
	}
}

func TestPersistence(t *testing.T) {
	l, path := openTest(t, Options{})
	var lastID uint64
	var slots []int
	for round := range 3 {
		for i := range 3 {
			b := mustBegin(t, l, []Object{obj(string(rune('a'+round*3+i)), "v")}, []int64{1000})
			if b.ID <= lastID {
				t.Fatalf("round %d: id %d not above %d", round, b.ID, lastID)
			}
			lastID = b.ID
			slots = append(slots, b.Slot)
			if i%2 == 0 {
				if err := l.CommitBatch(b.ID); err != nil {
					t.Fatal(err)
				}
			}
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		l = reopen(t, path, Options{})
	}
	if want := []int{0, 1, 2, 3, 4, 5, 6, 7, 8}; !reflect.DeepEqual(slots, want) {
		t.Errorf("slots of minute 1000 across reopenings = %v, want %v", slots, want)
	}
	// The last batch was committed: its ID stays used all the same.
	if b := mustBegin(t, l, []Object{obj("z", "v")}, nil); b.ID != lastID+1 || b.Slot != NoSlot {
		t.Errorf("batch after reopen = id %d slot %d, want id %d slot %d", b.ID, b.Slot, lastID+1, NoSlot)
	}
}

func TestQuarantine(t *testing.T) {
	l, _ := openTest(t, Options{})
	mustBegin(t, l, []Object{obj("pending", "v")}, nil)
	ingested := mustBegin(t, l, []Object{obj("ingested", "v")}, nil)
	if err := l.CommitBatch(ingested.ID); err != nil {
		t.Fatal(err)
	}
	other := Object{Source: "t", Key: "corrupt", Version: "e"}
	tests := []struct {
		name    string
		o       Object
		wantErr string
	}{
		{"corrupt", obj("corrupt", "v"), ""},
		{"other source", other, ""},
		{"again replaces", obj("corrupt", "v"), ""},
		{"pending", obj("pending", "v"), "pending in batch 1"},
		{"pending other version", obj("pending", "v2"), "pending in batch 1"},
		{"ingested", obj("ingested", "v"), "was ingested"},
		{"ingested other version", obj("ingested", "v2"), ""},
		{"empty key", obj("", "v"), "empty key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := l.Quarantine(tt.o, "reason "+tt.name)
			if tt.wantErr == "" && err != nil {
				t.Fatalf("Quarantine: %v", err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("Quarantine error = %v, want %q", err, tt.wantErr)
			}
		})
	}
	mustState(t, l, obj("pending", "v"), Pending)
	r := mustState(t, l, obj("corrupt", "v"), Quarantined)
	if r.Reason != "reason again replaces" {
		t.Errorf("reason = %q, want the latest", r.Reason)
	}
	lists := []struct {
		source string
		want   []string
	}{
		{"", []string{"s/corrupt@v", "s/ingested@v2", "t/corrupt@e"}},
		{"s", []string{"s/corrupt@v", "s/ingested@v2"}},
		{"t", []string{"t/corrupt@e"}},
		{"none", nil},
	}
	for _, tt := range lists {
		recs, err := l.Quarantined(tt.source)
		if err != nil {
			t.Fatalf("Quarantined(%q): %v", tt.source, err)
		}
		var got []string
		for _, r := range recs {
			got = append(got, r.Object.String())
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Quarantined(%q) = %v, want %v", tt.source, got, tt.want)
		}
	}
	releases := []struct {
		source, key string
		wantErr     bool
	}{
		{"s", "corrupt", false},
		{"s", "corrupt", true}, // already released
		{"s", "pending", true},
		{"s", "nothing", true},
		{"t", "corrupt", false},
	}
	for _, tt := range releases {
		err := l.Release(tt.source, tt.key)
		if (err != nil) != tt.wantErr || (err != nil && !errors.Is(err, ErrNotFound)) {
			t.Errorf("Release(%s, %s) error = %v, want error %v", tt.source, tt.key, err, tt.wantErr)
		}
	}
	mustState(t, l, obj("corrupt", "v"), Unknown)
	mustState(t, l, other, Unknown)
	mustState(t, l, obj("pending", "v"), Pending)
	// A released object can be ingested.
	mustBegin(t, l, []Object{obj("corrupt", "v")}, nil)
}

func TestForget(t *testing.T) {
	l, _ := openTest(t, Options{})
	b := mustBegin(t, l, []Object{obj("done", "v"), obj("kept", "v")}, []int64{1})
	if err := l.CommitBatch(b.ID); err != nil {
		t.Fatal(err)
	}
	mustBegin(t, l, []Object{obj("pending", "v")}, []int64{1})
	if err := l.Quarantine(obj("bad", "v"), "x"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		key     string
		wantErr bool
		after   State
	}{
		{"done", false, Unknown},
		{"done", false, Unknown}, // idempotent
		{"bad", false, Unknown},
		{"never", false, Unknown},
		{"pending", true, Pending},
	}
	for _, tt := range tests {
		err := l.Forget("s", tt.key)
		if (err != nil) != tt.wantErr {
			t.Errorf("Forget(%s) error = %v, want error %v", tt.key, err, tt.wantErr)
		}
		mustState(t, l, obj(tt.key, "v"), tt.after)
	}
	mustState(t, l, obj("kept", "v"), Ingested)
	if err := l.Forget("nosource", "k"); err != nil {
		t.Errorf("Forget in unknown source: %v", err)
	}
	// A forgotten key is new data.
	mustBegin(t, l, []Object{obj("done", "v")}, []int64{1})
}

// TestForgetAll: one call forgets what Forget would, key by key, and keeps
// (and names) a pending object.
func TestForgetAll(t *testing.T) {
	l, _ := openTest(t, Options{})
	b := mustBegin(t, l, []Object{obj("done", "v"), obj("also", "v"), obj("kept", "v")}, []int64{1})
	if err := l.CommitBatch(b.ID); err != nil {
		t.Fatal(err)
	}
	mustBegin(t, l, []Object{obj("pending", "v")}, []int64{1})
	if err := l.Quarantine(obj("bad", "v"), "x"); err != nil {
		t.Fatal(err)
	}
	err := l.ForgetAll("s", []string{"done", "pending", "bad", "never", "also"})
	if err == nil || !strings.Contains(err.Error(), "s/pending") {
		t.Errorf("ForgetAll error = %v, want the pending object named", err)
	}
	for _, key := range []string{"done", "bad", "never", "also"} {
		mustState(t, l, obj(key, "v"), Unknown)
	}
	mustState(t, l, obj("pending", "v"), Pending)
	mustState(t, l, obj("kept", "v"), Ingested)
	if err := l.ForgetAll("s", nil); err != nil {
		t.Errorf("ForgetAll of nothing: %v", err)
	}
	mustBegin(t, l, []Object{obj("done", "v")}, []int64{1}) // new data again
}

func TestPruneIngested(t *testing.T) {
	clk := &clock{time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)}
	l, _ := openTest(t, Options{Now: clk.Now})
	commitAt := func(o Object, at time.Time) {
		clk.t = at
		b := mustBegin(t, l, []Object{o}, nil)
		if err := l.CommitBatch(b.ID); err != nil {
			t.Fatal(err)
		}
	}
	day := func(d int) time.Time { return time.Date(2025, 1, d, 0, 0, 0, 0, time.UTC) }
	commitAt(obj("d1", "v"), day(1))
	commitAt(obj("d2", "v"), day(2))
	commitAt(Object{Source: "t", Key: "d1", Version: "v"}, day(1))
	commitAt(obj("d3", "v"), day(3))
	mustBegin(t, l, []Object{obj("pending", "v")}, nil)
	if err := l.Quarantine(obj("bad", "v"), "x"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		source string
		before time.Time
		want   int
	}{
		{"s", day(1), 0},
		{"s", day(3), 2},
		{"s", day(3), 0},
		{"", day(4), 2},
		{"", day(30), 0},
	}
	for _, tt := range tests {
		n, err := l.PruneIngested(tt.source, tt.before)
		if err != nil || n != tt.want {
			t.Errorf("PruneIngested(%q, %v) = %d, %v, want %d", tt.source, tt.before, n, err, tt.want)
		}
	}
	mustState(t, l, obj("pending", "v"), Pending)
	mustState(t, l, obj("bad", "v"), Quarantined)
	mustState(t, l, obj("d3", "v"), Unknown)
}

func TestFacts(t *testing.T) {
	l, path := openTest(t, Options{})
	facts := []Fact{
		{Kind: "iface", Key: "eni-2", Value: []byte(`{"vpc":"b"}`)},
		{Kind: "iface", Key: "eni-1", Value: []byte(`{"vpc":"a"}`)},
		{Kind: "addr", Key: "10.0.0.1", Value: []byte("x")},
	}
	if _, err := l.BeginBatch([]Object{obj("a", "v")}, []int64{1}, nil, facts); err != nil {
		t.Fatal(err)
	}
	// A fact without a value deletes its key (one that is not there, or of
	// a kind never stored, is no error).
	forget := []Fact{{Kind: "iface", Key: "eni-2", Value: []byte(`{"vpc":"c"}`)}, {Kind: "addr", Key: "10.0.0.1"}, {Kind: "iface", Key: "eni-9"}, {Kind: "none", Key: "k"}}
	if _, err := l.BeginBatch([]Object{obj("b", "v")}, []int64{1}, nil, forget); err != nil {
		t.Fatal(err)
	}
	l.Close()
	l = reopen(t, path, Options{})
	tests := []struct {
		kind string
		want map[string]string
	}{
		{"iface", map[string]string{"eni-1": `{"vpc":"a"}`, "eni-2": `{"vpc":"c"}`}},
		{"addr", map[string]string{}},
		{"none", map[string]string{}},
	}
	for _, tt := range tests {
		got := map[string]string{}
		var keys []string
		err := l.Facts(tt.kind, func(k string, v []byte) error {
			got[k] = string(v)
			keys = append(keys, k)
			return nil
		})
		if err != nil {
			t.Fatalf("Facts(%s): %v", tt.kind, err)
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Facts(%s) = %v, want %v", tt.kind, got, tt.want)
		}
		if !sortedStrings(keys) {
			t.Errorf("Facts(%s) keys %v not in order", tt.kind, keys)
		}
	}
	stop := errors.New("stop")
	if err := l.Facts("iface", func(string, []byte) error { return stop }); !errors.Is(err, stop) {
		t.Errorf("Facts error = %v, want the callback's", err)
	}
}

func sortedStrings(s []string) bool {
	for i := 1; i < len(s); i++ {
		if s[i-1] > s[i] {
			return false
		}
	}
	return true
}

func TestMinutePruning(t *testing.T) {
	day := 24 * time.Hour
	start := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	minute := func(t time.Time) int64 { return t.Unix() / 60 }
	old, recent, pendingMin := minute(start), minute(start.Add(5*day)), minute(start.Add(time.Hour))
	clk := &clock{start.Add(6 * day)}
	opts := Options{MinuteRetention: 3 * day, Now: clk.Now}
	l, path := openTest(t, Options{MinuteRetention: -1, Now: clk.Now})
	for i := range 5 {
		b := mustBegin(t, l, []Object{obj("old"+string(rune('a'+i)), "v")}, []int64{old})
		if err := l.CommitBatch(b.ID); err != nil {
			t.Fatal(err)
		}
	}
	pend := mustBegin(t, l, []Object{obj("pending", "v")}, []int64{pendingMin})
	mustBegin(t, l, []Object{obj("recent", "v")}, []int64{recent})
	l.Close()
	l = reopen(t, path, opts)
	counters := func() map[int64]int {
		t.Helper()
		got := map[int64]int{}
		if err := l.db.View(func(tx *bolt.Tx) error {
			return tx.Bucket(bucketMinutes).ForEach(func(k, v []byte) error {
				if slots := decodeSlots(v); len(slots) > 0 {
					got[int64(binary.BigEndian.Uint64(k))] = slots[len(slots)-1] + 1
				}
				return nil
			})
		}); err != nil {
			t.Fatal(err)
		}
		return got
	}
	if got, want := counters(), map[int64]int{pendingMin: pend.Slot + 1, recent: 1}; !reflect.DeepEqual(got, want) {
		t.Errorf("counters after pruning = %v, want %v (old minute pruned, pending kept)", got, want)
	}
	tests := []struct {
		name   string
		minute int64
		want   int
	}{
		{"pruned minute starts above the pruned counters", old, 5},
		// Its record now holds slot 5 alone: slots 0–4 stay taken.
		{"pruned minute written again stays above them", old, 6},
		{"never-seen old minute too", old + 7, 5},
		{"recent minute", recent, 1},
		// Kept whole, but below the horizon like the pruned minutes.
		{"pending minute", pendingMin, 5},
		{"new minute", recent + 1, 0},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := mustBegin(t, l, []Object{obj("t"+string(rune('a'+i)), "v")}, []int64{tt.minute})
			if b.Slot != tt.want {
				t.Errorf("slot = %d, want %d", b.Slot, tt.want)
			}
		})
	}
}

func TestMarkIngested(t *testing.T) {
	l, err := Open(filepath.Join(t.TempDir(), "d.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	o := Object{Source: "s", Key: "a.log.gz", Version: "e1", Size: 3}
	if err := l.MarkIngested(o); err != nil {
		t.Fatal(err)
	}
	if r, err := l.Lookup("s", "a.log.gz", "e1"); err != nil || r.State != Ingested {
		t.Errorf("lookup same version: %+v %v", r, err)
	}
	if r, err := l.Lookup("s", "a.log.gz", "e2"); err != nil || r.State != Unknown {
		t.Errorf("lookup another version: %+v %v", r, err)
	}
	if err := l.MarkIngested(Object{Source: "s"}); err == nil {
		t.Error("no error for an object without a key")
	}
}

// TestDamagedFile damages a ledger file the ways a bad disk or an
// interrupted copy would: Open fails with ErrDamaged, saying what to do,
// instead of bbolt's panic (on the freelist when opening, on a data page
// when reading it).
func TestDamagedFile(t *testing.T) {
	var root int // of the bucket of source "s"
	build := func(t *testing.T) (string, []byte) {
		t.Helper()
		l, path := openTest(t, Options{})
		for i := range 400 {
			o := obj(strings.Repeat("k", 60)+string(rune('a'+i%26))+strconv.Itoa(i), "v")
			b, err := l.BeginBatch([]Object{o}, []int64{int64(1000 + i)}, nil, nil)
			if err != nil {
				t.Fatal(err)
			}
			if err := l.CommitBatch(b.ID); err != nil {
				t.Fatal(err)
			}
		}
		if err := l.view(func(tx *bolt.Tx) error {
			root = int(tx.Bucket(bucketObjects).Bucket([]byte("s")).Root())
			return nil
		}); err != nil || root < 2 {
			t.Fatalf("root page %d: %v", root, err)
		}
		if err := l.Close(); err != nil {
			t.Fatal(err)
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		return path, data
	}
	pageSize := os.Getpagesize()
	for _, tc := range []struct {
		name  string
		pages func(data []byte, n int) []int // pages whose header is overwritten
	}{
		{"every data page", func(_ []byte, n int) []int {
			var out []int
			for p := 2; p < n; p++ {
				out = append(out, p)
			}
			return out
		}},
		{"the root page of the source's objects", func(_ []byte, _ int) []int { return []int{root} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path, data := build(t)
			n := len(data) / pageSize
			if n < 6 {
				t.Fatalf("%d pages: too few", n)
			}
			for _, p := range tc.pages(data, n) {
				copy(data[p*pageSize+8:], []byte{0xA5, 0xA5}) // the page's flags
			}
			if err := os.WriteFile(path, data, 0o600); err != nil {
				t.Fatal(err)
			}
			l, err := Open(path, Options{})
			if err == nil {
				l.Close()
				t.Fatal("a damaged ledger opened")
			}
			if !errors.Is(err, ErrDamaged) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "restore it from a backup") {
				t.Errorf("Open of a damaged ledger: %v", err)
			}
		})
	}
}

// TestID: a ledger gets an identity when created, keeps it when opened
// again, and another file gets another.
func TestID(t *testing.T) {
	l, path := openTest(t, Options{Instance: 1, Instances: 3})
	id := l.ID()
	if len(id) != 16 || l.Instance() != "1/3" {
		t.Fatalf("id %q, instance %q", id, l.Instance())
	}
	l.Close()
	if again := reopen(t, path, Options{Instance: 1, Instances: 3}); again.ID() != id {
		t.Errorf("reopened: id %q, want %q", again.ID(), id)
	}
	if other, _ := openTest(t, Options{}); other.ID() == id {
		t.Error("two ledgers with one id")
	}
}
