package aggregate

import (
	"cmp"
	"maps"
	"slices"
	"strings"
)

// KeepHours is how many hours before the latest one of a group a Keeper
// holds its keep sets and tallies: records that arrive later than that for
// an hour find no keep set and decide a new one (AWS delivers within
// minutes).
const KeepHours = 6

// Keeper decides which label sets of the top-K families keep their own
// series, batch after batch (docs/pipeline.md, Bounded families). Per group
// and hour, the keep set is decided once, by the first batch with data for
// it: the K largest label sets of the group's previous hour (as tallied),
// and the K largest of the batch's own data for the hour. Every batch then
// adds, to the hour's tally, the amounts of the kept label sets and of its
// K largest others, and the tally keeps its 2K largest. The decisions
// depend only on the batches' candidates, in order: the collector records
// what changed (Changes) in its ledger with each batch, and loads it back
// at start, so that a run after a crash decides as an undisturbed one.
type Keeper struct {
	k     int
	keep  map[GroupHour][]string
	tally map[GroupHour][]Tally
}

// NewKeeper returns a Keeper that keeps k label sets per group and hour
// from the hour before, and k from the first batch (k > 0).
func NewKeeper(k int) *Keeper {
	return &Keeper{k: k, keep: map[GroupHour][]string{}, tally: map[GroupHour][]Tally{}}
}

// Changes says what a decision changed in a Keeper: the group hours whose
// keep set it decided, those whose tally it changed, and those it forgot.
type Changes struct {
	Kept, Tallied, Forgotten []GroupHour
}

// KeepSet returns a group hour's keep set (sorted) and whether it is
// decided.
func (kp *Keeper) KeepSet(gh GroupHour) ([]string, bool) {
	ls, ok := kp.keep[gh]
	return ls, ok
}

// Tally returns a group hour's tally, largest first.
func (kp *Keeper) Tally(gh GroupHour) []Tally { return kp.tally[gh] }

// Load takes back a group hour's keep set (nil: undecided) and tally, as
// KeepSet and Tally returned them.
func (kp *Keeper) Load(gh GroupHour, keep []string, decided bool, tally []Tally) {
	if decided {
		kp.keep[gh] = keep
	}
	if tally != nil {
		kp.tally[gh] = tally
	}
}

// Decide returns the keep sets of a batch with the candidates given
// (Output.Candidates, in any order: Decide reorders them), and what it
// changed.
func (kp *Keeper) Decide(cands map[GroupHour][]Tally) (Keep, Changes) {
	keep := Keep{}
	var ch Changes
	ghs := slices.SortedFunc(maps.Keys(cands), CompareGroupHours)
	for _, gh := range ghs {
		ts := cands[gh]
		set, decided := kp.keep[gh]
		if !decided {
			LargestFirst(ts, kp.k)
			prev := gh
			prev.Hour--
			seen := map[string]bool{}
			set = []string{}
			for _, list := range [][]Tally{kp.tally[prev], ts} {
				for _, t := range list[:min(kp.k, len(list))] {
					if !seen[t.Labels] {
						seen[t.Labels] = true
						set = append(set, t.Labels)
					}
				}
			}
			slices.Sort(set)
			kp.keep[gh] = set
			ch.Kept = append(ch.Kept, gh)
		}
		keep[gh] = set
		// The hour's tally: the kept label sets, and the batch's k largest
		// others (among its k + len(set) largest).
		LargestFirst(ts, kp.k+len(set))
		tally := slices.Clone(kp.tally[gh])
		at := make(map[string]int, len(tally))
		for i, t := range tally {
			at[t.Labels] = i
		}
		others := 0
		for _, t := range ts {
			if _, kept := slices.BinarySearch(set, t.Labels); !kept {
				if others == kp.k {
					continue
				}
				others++
			}
			if i, ok := at[t.Labels]; ok {
				tally[i].Bytes += t.Bytes
				tally[i].Packets += t.Packets
				tally[i].Flows += t.Flows
				continue
			}
			at[t.Labels] = len(tally)
			tally = append(tally, t)
		}
		slices.SortFunc(tally, Larger)
		kp.tally[gh] = tally[:min(len(tally), 2*kp.k)]
		ch.Tallied = append(ch.Tallied, gh)
	}
	ch.Forgotten = kp.prune(ghs)
	return keep, ch
}

// prune forgets the keep sets and tallies of the groups of ghs more than
// KeepHours before the group's latest hour, and returns them.
func (kp *Keeper) prune(ghs []GroupHour) []GroupHour {
	type group struct {
		family int
		group  string
	}
	latest := map[group]int64{}
	for _, gh := range ghs {
		g := group{gh.Family, gh.Group}
		if h, ok := latest[g]; !ok || gh.Hour > h {
			latest[g] = gh.Hour
		}
	}
	old := map[GroupHour]bool{}
	check := func(gh GroupHour) {
		if h, ok := latest[group{gh.Family, gh.Group}]; ok && gh.Hour < h-KeepHours {
			old[gh] = true
		}
	}
	for gh := range kp.keep {
		check(gh)
	}
	for gh := range kp.tally {
		check(gh)
	}
	for gh := range old {
		delete(kp.keep, gh)
		delete(kp.tally, gh)
	}
	return slices.SortedFunc(maps.Keys(old), CompareGroupHours)
}

// CompareGroupHours orders group hours by family, group and hour.
func CompareGroupHours(x, y GroupHour) int {
	if c := cmp.Compare(x.Family, y.Family); c != 0 {
		return c
	}
	if c := strings.Compare(x.Group, y.Group); c != 0 {
		return c
	}
	return cmp.Compare(x.Hour, y.Hour)
}
