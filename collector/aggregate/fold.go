package aggregate

import (
	"cmp"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/vpcflow/vpcflow/schema"
)

// Fold says how Emit bounds the top-K families (schema.Family.TopK). The
// zero Fold keeps every label set.
type Fold struct {
	// Keep holds, per group and hour, the label sets that keep their own
	// series; the others fold into the group's other label set. A group
	// and hour missing from Keep keeps nothing.
	Keep Keep
	// TopK, with Keep nil, keeps per group and hour the TopK largest label
	// sets of this aggregate (KeepTop): what a batch decides when nothing
	// came before it.
	TopK int
	// LegacyTopK replays a batch recorded before the bounded families:
	// every family at one minute, the top-K families folded per minute to
	// the LegacyTopK largest label sets of their former groups (per
	// interface and action; per action for the pair family). 0 for batches
	// recorded since.
	LegacyTopK int
}

// GroupHour names one group of a top-K family in one hour.
type GroupHour struct {
	// Family is the schema family ID.
	Family int
	// Group is the values of the family's group labels (schema.Family.Group)
	// joined by "|" (no label value holds one: they are checked against
	// AWS's formats).
	Group string
	// Hour is the Unix hour (seconds / 3600).
	Hour int64
}

// String returns "family|group|hour", the GroupHour's text form.
func (g GroupHour) String() string {
	return strconv.Itoa(g.Family) + "|" + g.Group + "|" + strconv.FormatInt(g.Hour, 10)
}

// MarshalText makes a GroupHour a JSON object key.
func (g GroupHour) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText reads the String form.
func (g *GroupHour) UnmarshalText(b []byte) error {
	s := string(b)
	fam, rest, ok1 := strings.Cut(s, "|")
	i := strings.LastIndexByte(rest, '|')
	if !ok1 || i < 0 {
		return fmt.Errorf("group hour %q: want family|group|hour", s)
	}
	f, err1 := strconv.Atoi(fam)
	h, err2 := strconv.ParseInt(rest[i+1:], 10, 64)
	if err1 != nil || err2 != nil || f < 0 || f >= schema.NumFamilies {
		return fmt.Errorf("group hour %q: want family|group|hour", s)
	}
	*g = GroupHour{Family: f, Group: rest[:i], Hour: h}
	return nil
}

// Tally is the amounts of one label set of a group in an hour.
type Tally struct {
	// Labels is the values of the family's labels outside its group, in
	// the family's label order, joined by "|".
	Labels                string
	Bytes, Packets, Flows uint64
}

// Larger orders tallies largest first: by bytes, then packets, then flows,
// then labels (ascending), so that every order is total and the same on
// every run.
func Larger(x, y Tally) int {
	if c := cmp.Compare(y.Bytes, x.Bytes); c != 0 {
		return c
	}
	if c := cmp.Compare(y.Packets, x.Packets); c != 0 {
		return c
	}
	if c := cmp.Compare(y.Flows, x.Flows); c != 0 {
		return c
	}
	return strings.Compare(x.Labels, y.Labels)
}

// Keep holds, per group and hour, the labels (Tally.Labels) of the label
// sets kept.
type Keep map[GroupHour][]string

// sets returns the keep sets as sets.
func (k Keep) sets() map[GroupHour]map[string]bool {
	out := make(map[GroupHour]map[string]bool, len(k))
	for gh, ls := range k {
		set := make(map[string]bool, len(ls))
		for _, l := range ls {
			set[l] = true
		}
		out[gh] = set
	}
	return out
}

// keyParts splits a family's label set into its group's and its own
// labels, each joined by "|".
type keyParts struct {
	group, own []int // positions in the family's labels
}

func partsOf(def schema.Family) keyParts {
	var p keyParts
	for i, l := range def.Labels {
		if slices.Contains(def.Group, l) {
			p.group = append(p.group, i)
		} else {
			p.own = append(p.own, i)
		}
	}
	return p
}

func (p keyParts) join(a *Aggregate, key rowKey, at []int) string {
	var b strings.Builder
	for j, i := range at {
		if j > 0 {
			b.WriteByte('|')
		}
		b.WriteString(a.str(key[i]))
	}
	return b.String()
}

// internedParts sets the positions at of key to the interned ids of the
// values of joined (as keyParts.join writes them), and reports whether the
// aggregate has every one of them (if not, no label set of it has these
// values).
func (a *Aggregate) internedParts(key *rowKey, joined string, at []int) bool {
	for j, p := range at {
		v := joined
		if j < len(at)-1 {
			var ok bool
			if v, joined, ok = strings.Cut(joined, "|"); !ok {
				return false
			}
		}
		id, ok := a.strs.ids[v]
		if !ok {
			return false
		}
		key[p] = id
	}
	return true
}

// Candidates returns, per group and hour of every top-K family, the label
// sets of the output with their amounts in that hour, in no particular
// order (LargestFirst orders what a decision needs of them): what decides
// which label sets keep their own series. A label
// set's cells are in minute order, so each of its hours is one run of
// cells: one map lookup per label set and hour, on the interned group
// labels, and the label strings are joined once per label set and group.
func (out *Output) Candidates() map[GroupHour][]Tally {
	a := out.a
	res := map[GroupHour][]Tally{}
	type groupHour struct {
		group rowKey // the group's labels; the others zero
		hour  int64
	}
	for fam, r := range out.rows {
		if r == nil || !r.def.TopK {
			continue
		}
		parts := partsOf(r.def)
		at := map[groupHour]int{} // index in lists
		var lists [][]Tally
		var keys []groupHour
		for i, key := range r.keys {
			var group rowKey
			for _, p := range parts.group {
				group[p] = key[p]
			}
			own := ""
			cells := r.cells[i]
			for j := 0; j < len(cells); {
				hour := floorDiv(cells[j].minute, 60)
				var t Tally
				for ; j < len(cells) && floorDiv(cells[j].minute, 60) == hour; j++ {
					t.Bytes += cells[j].bytes
					t.Packets += cells[j].packets
					t.Flows += cells[j].flows
				}
				if t.Bytes == 0 && t.Packets == 0 && t.Flows == 0 {
					continue
				}
				if own == "" {
					own = parts.join(a, key, parts.own)
				}
				t.Labels = own
				gh := groupHour{group, hour}
				n, ok := at[gh]
				if !ok {
					n = len(lists)
					at[gh] = n
					lists = append(lists, nil)
					keys = append(keys, gh)
				}
				lists[n] = append(lists[n], t)
			}
		}
		names := map[rowKey]string{}
		for n, gh := range keys {
			name, ok := names[gh.group]
			if !ok {
				name = parts.join(a, gh.group, parts.group)
				names[gh.group] = name
			}
			res[GroupHour{Family: fam, Group: name, Hour: gh.hour}] = lists[n]
		}
	}
	return res
}

// LargestFirst moves the n largest tallies of ts (Larger) to its front,
// largest first, and leaves the others after them in no particular order:
// a group's label sets may be many, and a decision needs only its largest
// (selecting them costs about one comparison a tally, sorting all of
// them log2(len) each). Larger is a total order, so the front is the same
// whatever the order of ts.
func LargestFirst(ts []Tally, n int) {
	if n >= len(ts) {
		slices.SortFunc(ts, Larger)
		return
	}
	if n <= 0 {
		return
	}
	// ts[:n] as a heap whose root is the smallest of the n largest so far.
	h := ts[:n]
	for i := n/2 - 1; i >= 0; i-- {
		siftDown(h, i)
	}
	for i := n; i < len(ts); i++ {
		if Larger(ts[i], h[0]) < 0 {
			h[0], ts[i] = ts[i], h[0]
			siftDown(h, 0)
		}
	}
	slices.SortFunc(h, Larger)
}

// siftDown restores the heap h (its root the smallest by Larger) below i.
func siftDown(h []Tally, i int) {
	for {
		c := 2*i + 1
		if c >= len(h) {
			return
		}
		if r := c + 1; r < len(h) && Larger(h[r], h[c]) > 0 {
			c = r
		}
		if Larger(h[c], h[i]) <= 0 {
			return
		}
		h[i], h[c] = h[c], h[i]
		i = c
	}
}

// KeepTop returns, per group and hour of the output's top-K families, the
// k largest label sets.
func (out *Output) KeepTop(k int) Keep {
	keep := Keep{}
	for gh, ts := range out.Candidates() {
		LargestFirst(ts, k)
		ls := make([]string, 0, min(k, len(ts)))
		for _, t := range ts[:min(k, len(ts))] {
			ls = append(ls, t.Labels)
		}
		keep[gh] = ls
	}
	return keep
}

// foldKept folds, in every group and hour, the label sets outside keep into
// the group's label set whose labels outside the group are other. The keep
// sets of the family are first turned into the aggregate's interned label
// sets (a keep set is K label sets; a batch has many more), so that each
// label set and hour is looked up without building its strings.
func (r *rows) foldKept(fam int, keep map[GroupHour]map[string]bool, other uint32, a *Aggregate) {
	parts := partsOf(r.def)
	type keyHour struct {
		key  rowKey
		hour int64
	}
	kept := map[keyHour]bool{}
	for gh, set := range keep {
		if gh.Family != fam {
			continue
		}
		var key rowKey
		if !a.internedParts(&key, gh.Group, parts.group) {
			continue // a group this batch does not have
		}
		for own := range set {
			k := key
			if a.internedParts(&k, own, parts.own) {
				kept[keyHour{k, gh.Hour}] = true
			}
		}
	}
	type folded struct {
		key   rowKey
		cells []cell
	}
	var fold []folded
	foldAt := map[rowKey]int{}
	for i, key := range r.keys {
		cells := r.cells[i]
		for j := 0; j < len(cells); {
			// The cells of one hour are a run: one lookup for the run.
			hour := floorDiv(cells[j].minute, 60)
			end := j + 1
			for end < len(cells) && floorDiv(cells[end].minute, 60) == hour {
				end++
			}
			if kept[keyHour{key, hour}] {
				j = end
				continue
			}
			ok := key
			for _, p := range parts.own {
				ok[p] = other
			}
			n, seen := foldAt[ok]
			if !seen {
				n = len(fold)
				foldAt[ok] = n
				fold = append(fold, folded{key: ok})
			}
			for ; j < end; j++ {
				c := &cells[j]
				fold[n].cells = addCell(fold[n].cells, *c)
				*c = cell{minute: c.minute} // emptied: zero values are not written
			}
		}
	}
	for _, f := range fold {
		r.add(f.key, f.cells)
	}
}
