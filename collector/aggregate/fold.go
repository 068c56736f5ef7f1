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

// Candidates returns, per group and hour of every top-K family, the label
// sets of the output with their amounts in that hour, largest first
// (Larger): what decides which label sets keep their own series.
func (out *Output) Candidates() map[GroupHour][]Tally {
	a := out.a
	res := map[GroupHour][]Tally{}
	for fam, r := range out.rows {
		if r == nil || !r.def.TopK {
			continue
		}
		parts := partsOf(r.def)
		at := map[GroupHour]map[string]int{} // index in res
		for i, key := range r.keys {
			var group, own string
			for _, c := range r.cells[i] {
				if c.bytes == 0 && c.packets == 0 && c.flows == 0 {
					continue
				}
				if group == "" {
					group, own = parts.join(a, key, parts.group), parts.join(a, key, parts.own)
				}
				gh := GroupHour{Family: fam, Group: group, Hour: floorDiv(c.minute, 60)}
				idx := at[gh]
				if idx == nil {
					idx = map[string]int{}
					at[gh] = idx
				}
				j, ok := idx[own]
				if !ok {
					j = len(res[gh])
					idx[own] = j
					res[gh] = append(res[gh], Tally{Labels: own})
				}
				t := &res[gh][j]
				t.Bytes += c.bytes
				t.Packets += c.packets
				t.Flows += c.flows
			}
		}
	}
	for _, ts := range res {
		slices.SortFunc(ts, Larger)
	}
	return res
}

// KeepTop returns, per group and hour of the output's top-K families, the
// k largest label sets.
func (out *Output) KeepTop(k int) Keep {
	keep := Keep{}
	for gh, ts := range out.Candidates() {
		ls := make([]string, 0, min(k, len(ts)))
		for _, t := range ts[:min(k, len(ts))] {
			ls = append(ls, t.Labels)
		}
		keep[gh] = ls
	}
	return keep
}

// foldKept folds, in every group and hour, the label sets outside keep into
// the group's label set whose labels outside the group are other.
func (r *rows) foldKept(fam int, keep map[GroupHour]map[string]bool, other uint32, a *Aggregate) {
	parts := partsOf(r.def)
	type folded struct {
		key   rowKey
		cells []cell
	}
	var fold []folded
	foldAt := map[rowKey]int{}
	for i, key := range r.keys {
		var group, own string
		for j := range r.cells[i] {
			c := &r.cells[i][j]
			if group == "" {
				group, own = parts.join(a, key, parts.group), parts.join(a, key, parts.own)
			}
			if keep[GroupHour{Family: fam, Group: group, Hour: floorDiv(c.minute, 60)}][own] {
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
			fold[n].cells = addCell(fold[n].cells, *c)
			*c = cell{minute: c.minute} // emptied: zero values are not written
		}
	}
	for _, f := range fold {
		r.add(f.key, f.cells)
	}
}
