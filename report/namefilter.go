package report

import (
	"context"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/vpcflow/vpcflow/schema"
)

// Filters by name: a query's filter on a label holding entity ids
// (EntityTypeOf) whose value is a name rather than an id, such as
// interface_id="web-1" or interface_id=~"web-.*", matches the ids that had
// that name over the query's range (the entity info samples of the range
// and of the names lookback before it, the window the names join reads).
// The engine asks VictoriaMetrics for those ids before the report's own
// queries and filters on them, escaped, so that every report, the plugin's
// panels and variables and the report command accept names alike.

// ErrTooManyIDs is the error of a filter by name that matches more ids
// than one query can list: the filter must be narrowed.
var ErrTooManyIDs = errors.New("a filter by name matches more ids than one query can list")

// maxResolved bounds the bytes the ids of a query's filters by name add to
// its queries, together (a few hundred ids): VictoriaMetrics refuses
// queries over 16 KiB (-search.maxQueryLen), and a query also carries its
// other filters and, for time series, the restriction to the top label
// sets (maxRestricted).
const maxResolved = maxRestricted

// resolveNames replaces the query's filters on id labels whose values are
// names (byName) with filters on the ids of those names over [from, to)
// (the report's fixed filters are left alone): label="web-1" becomes
// label=~"web-1|eni-1|eni-2" (the value itself, then the ids, escaped),
// label!="web-1" becomes label!~ of the same, and label=~"web-.*" becomes
// label=~"(?:web-.*)|eni-1|eni-2" (ids and names both match the
// expression); a name no id had leaves the filter as it is, so that it
// matches no id (= and =~: no rows) or every one (!= and !~). The ids of
// each filter are asked for in one query, concurrently.
func (x *exec) resolveNames(ctx context.Context, p *plan, from, to time.Time) error {
	var todo []int
	for i := len(p.rep.Filters); i < len(p.filters); i++ {
		if byName(p.filters[i]) {
			todo = append(todo, i)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	ids := make([][]string, len(todo))
	fns := make([]func(context.Context) error, len(todo))
	for j, i := range todo {
		fns[j] = func(ctx context.Context) error {
			var err error
			ids[j], err = x.idsNamed(ctx, p, p.filters[i], from, to)
			return err
		}
	}
	if err := parallel(ctx, fns...); err != nil {
		return err
	}
	added := 0
	for j, i := range todo {
		if len(ids[j]) == 0 {
			continue
		}
		f := p.filters[i]
		nf := withIDs(f, ids[j])
		if added += len(nf.Value) - len(f.Value); added > maxResolved {
			which := "that name"
			if f.Op == OpMatch || f.Op == OpNotMatch {
				which = "a name it matches"
			}
			return fmt.Errorf("filter %s: %w: %d %s ids had %s over the range, and a query lists at most %d bytes of ids (a few hundred); narrow the filter, or filter on ids",
				f, ErrTooManyIDs, len(ids[j]), EntityTypeOf(f.Label), which, maxResolved)
		}
		p.filters[i] = nf
	}
	return nil
}

// idsNamed returns the ids of the entities of f's label's type that had a
// name f's value (=, !=) or matching it (=~, !~) in an entity info sample
// of [from - lookback, to), sorted. A zone's name differs between accounts
// (us-east-1a is use1-az1 in one account and use1-az2 in another): zone
// names are looked up in the accounts the plan's filters on account_id
// allow.
func (x *exec) idsNamed(ctx context.Context, p *plan, f Filter, from, to time.Time) ([]string, error) {
	t := EntityTypeOf(f.Label)
	sel := []Filter{{Label: EntityTypeLabel, Op: OpEqual, Value: string(t)}}
	switch f.Op {
	case OpEqual, OpNotEqual:
		sel = append(sel, Filter{Label: EntityNameLabel, Op: OpEqual, Value: f.Value})
	default:
		// An expression that matches "" would also match the entities
		// without a name (no name label).
		sel = append(sel, Filter{Label: EntityNameLabel, Op: OpMatch, Value: f.Value}, Filter{Label: EntityNameLabel, Op: OpNotEqual, Value: ""})
	}
	if t == EntityAZ {
		for _, g := range p.filters {
			if g.Label == schema.LabelAccount {
				sel = append(sel, g)
			}
		}
	}
	d := to.Sub(from) + max(x.e.namesLookback, 0)
	expr := by("count", []string{EntityIDLabel}, rollup("count_over_time", selector(EntityInfoMetric, sel), d))
	samples, err := x.instant(ctx, expr, to)
	if err != nil {
		return nil, fmt.Errorf("filter %s: the ids of %s entities of that name: %w", f, t, err)
	}
	var ids []string
	for _, s := range samples {
		if id := s.Labels[EntityIDLabel]; id != "" {
			ids = append(ids, id)
		}
	}
	slices.Sort(ids)
	return slices.Compact(ids), nil
}

// withIDs returns f matching, besides what it matched, the ids: see
// resolveNames.
func withIDs(f Filter, ids []string) Filter {
	quoted := make([]string, len(ids))
	for i, id := range ids {
		quoted[i] = regexp.QuoteMeta(id)
	}
	list := strings.Join(quoted, "|")
	switch f.Op {
	case OpEqual:
		return Filter{Label: f.Label, Op: OpMatch, Value: regexp.QuoteMeta(f.Value) + "|" + list}
	case OpNotEqual:
		return Filter{Label: f.Label, Op: OpNotMatch, Value: regexp.QuoteMeta(f.Value) + "|" + list}
	default:
		// The group keeps the expression's flags and alternatives to
		// itself.
		return Filter{Label: f.Label, Op: f.Op, Value: "(?:" + f.Value + ")|" + list}
	}
}

// byName reports whether f, a filter of a query, is on a label holding
// entity ids with a value that may be a name, to be resolved to ids
// (resolveNames):
//
//   - = and != with a value that does not have the shape of an id of the
//     label's type (isID), other than "" and the values that stand for no
//     entity or several ("-", "other"); for zones always, since a zone id's
//     shape (use1-az1) is also that of names (us-east-1a);
//   - =~ and !~ unless the expression matches every id (.*) or only ids of
//     the label's type, as a dashboard variable's selection of ids gives
//     (`(vpc-0a1|vpc-0b2)`), zones again excepted.
//
// The others are taken as they are, without a query.
func byName(f Filter) bool {
	t := EntityTypeOf(f.Label)
	if t == "" || f.Value == "" {
		return false
	}
	switch f.Op {
	case OpEqual, OpNotEqual:
		if f.Value == schema.Absent || f.Value == schema.Other || !utf8.ValidString(f.Value) {
			return false
		}
		return t == EntityAZ || !isID(t, f.Value)
	case OpMatch, OpNotMatch:
		return !idsOnly(t, f.Value)
	}
	return false
}

// maxLiterals bounds the strings idsOnly enumerates.
const maxLiterals = 1024

// idsOnly reports whether the regular expression re (anchored at both
// ends) matches every id, or only ids of type t (never for zones, whose
// id shape is also that of names): then names add nothing to it.
func idsOnly(t EntityType, re string) bool {
	parsed, err := syntax.Parse(re, syntax.Perl)
	if err != nil {
		return false
	}
	parsed = parsed.Simplify()
	if matchesAll(parsed) {
		return true
	}
	if t == EntityAZ {
		return false
	}
	lits, ok := literals(parsed, maxLiterals)
	if !ok || len(lits) == 0 {
		return false
	}
	for _, l := range lits {
		if !isID(t, l) {
			return false
		}
	}
	return true
}

// matchesAll reports whether re matches every id: .* or .+ (ids are one
// line, never empty), maybe in a group.
func matchesAll(re *syntax.Regexp) bool {
	for re.Op == syntax.OpCapture {
		re = re.Sub[0]
	}
	if re.Op != syntax.OpStar && re.Op != syntax.OpPlus {
		return false
	}
	sub := re.Sub[0]
	return sub.Op == syntax.OpAnyChar || sub.Op == syntax.OpAnyCharNotNL
}

// literals returns the strings re matches when they are at most limit
// (anchors match "": a misplaced one gives a string re does not match,
// which only costs idsOnly a query); false when they are more, or re
// repeats, or folds case.
func literals(re *syntax.Regexp, limit int) ([]string, bool) {
	switch re.Op {
	case syntax.OpEmptyMatch, syntax.OpBeginLine, syntax.OpEndLine, syntax.OpBeginText, syntax.OpEndText:
		return []string{""}, true
	case syntax.OpLiteral:
		if re.Flags&syntax.FoldCase != 0 {
			return nil, false
		}
		return []string{string(re.Rune)}, true
	case syntax.OpCharClass:
		var out []string
		for i := 0; i+1 < len(re.Rune); i += 2 {
			for r := re.Rune[i]; r <= re.Rune[i+1]; r++ {
				if out = append(out, string(r)); len(out) > limit {
					return nil, false
				}
			}
		}
		return out, true
	case syntax.OpCapture:
		return literals(re.Sub[0], limit)
	case syntax.OpAlternate:
		var out []string
		for _, sub := range re.Sub {
			l, ok := literals(sub, limit)
			if !ok || len(out)+len(l) > limit {
				return nil, false
			}
			out = append(out, l...)
		}
		return out, true
	case syntax.OpConcat:
		out := []string{""}
		for _, sub := range re.Sub {
			l, ok := literals(sub, limit)
			if !ok || len(out)*len(l) > limit {
				return nil, false
			}
			next := make([]string, 0, len(out)*len(l))
			for _, a := range out {
				for _, b := range l {
					next = append(next, a+b)
				}
			}
			out = next
		}
		return out, true
	}
	return nil, false
}

// maxHexDigits bounds the hex part of a resource id, as the decoder does
// (collector/flowlog, which the read side does not import; a test holds
// the two to the same shapes).
const maxHexDigits = 32

// idPrefixes are the prefixes of the resource ids of each type: the
// prefix, then 1 to maxHexDigits lowercase hex digits.
var idPrefixes = map[EntityType]string{
	EntityVPC:       "vpc-",
	EntitySubnet:    "subnet-",
	EntityInterface: "eni-",
	EntityInstance:  "i-",
}

// isID reports whether v has the shape the flow logs give ids of type t
// (the decoder's checks): a prefix and lowercase hex digits (vpc-0a1,
// eni-0a1b…), or for a zone lowercase letters, digits and '-' with a
// letter or digit at each end, at most 32 bytes (use1-az1).
func isID(t EntityType, v string) bool {
	if t == EntityAZ {
		n := len(v)
		if n == 0 || n > 32 || !lowerAlnum(v[0]) || !lowerAlnum(v[n-1]) {
			return false
		}
		for i := range n {
			if !lowerAlnum(v[i]) && v[i] != '-' {
				return false
			}
		}
		return true
	}
	prefix, ok := idPrefixes[t]
	if !ok {
		return false
	}
	hex, ok := strings.CutPrefix(v, prefix)
	if !ok || len(hex) == 0 || len(hex) > maxHexDigits {
		return false
	}
	for i := range len(hex) {
		if c := hex[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false
		}
	}
	return true
}

// lowerAlnum reports whether c is a lowercase ASCII letter or a digit.
func lowerAlnum(c byte) bool { return c >= 'a' && c <= 'z' || c >= '0' && c <= '9' }
