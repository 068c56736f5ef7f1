package config

import (
	"cmp"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/token"

	"github.com/vpcflow/vpcflow/secret"
)

// FieldError is one problem of a configuration: the field it is about,
// where the file has it, and what is wrong. Parse and Load return the
// problems they find, each a *FieldError, joined (errors.Join) in the
// order of the file: first those of the values' types and shapes, or if
// there are none, those of the values themselves.
type FieldError struct {
	// File is the configuration file (Load), or "" (Parse).
	File string
	// Field is the YAML path of the field, such as "sources[1].path", or ""
	// for the document as a whole.
	Field string
	// Line and Column locate the field in the file (1-based): its key, or
	// the value a type error is about. A field the file lacks is located at
	// its nearest section that the file has; 0 when there is none.
	Line, Column int
	// Msg says what is wrong. It never quotes a secret.
	Msg string
}

// Error formats the problem as FILE:LINE:COLUMN: FIELD: MSG, leaving out
// what is unknown ("line L, column C: …" without a file).
func (e *FieldError) Error() string {
	var b strings.Builder
	switch {
	case e.File != "" && e.Line > 0:
		fmt.Fprintf(&b, "%s:%d:%d: ", e.File, e.Line, e.Column)
	case e.File != "":
		b.WriteString(e.File + ": ")
	case e.Line > 0:
		fmt.Fprintf(&b, "line %d, column %d: ", e.Line, e.Column)
	}
	if e.Field != "" {
		b.WriteString(e.Field + ": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// fieldError names the field a problem is about; Parse adds where the
// file has it.
func fieldError(field, format string, args ...any) error {
	return &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
}

var (
	durationType = reflect.TypeFor[time.Duration]()
	secretType   = reflect.TypeFor[secret.Secret]()
	ignoredType  = reflect.TypeFor[Ignored]()
)

// shape checks a parsed configuration against the Config type before it is
// decoded, so that a value of the wrong type, a bad duration or an unknown
// field is reported with its field's path and line (the YAML library names
// Go types, or nothing). It also remembers where each field is, to locate
// the problems found after decoding.
type shape struct {
	problems []*FieldError
	keys     map[string]token.Position // field path → its key (or list item)
	values   map[[2]int]string         // line, column of a value → its field path
}

func newShape() *shape {
	return &shape{keys: map[string]token.Position{}, values: map[[2]int]string{}}
}

func (s *shape) problem(field string, at *token.Token, format string, args ...any) {
	e := &FieldError{Field: field, Msg: fmt.Sprintf(format, args...)}
	if at != nil {
		e.Line, e.Column = at.Position.Line, at.Position.Column
	}
	s.problems = append(s.problems, e)
}

// document checks the first document of a parsed file.
func (s *shape) document(f *ast.File) {
	if len(f.Docs) == 0 || f.Docs[0] == nil || f.Docs[0].Body == nil {
		return
	}
	s.value(f.Docs[0].Body, reflect.TypeFor[Config](), "", false)
}

// value checks node against type t; path is its field path, secret says
// that its value must not be quoted.
func (s *shape) value(node ast.Node, t reflect.Type, path string, secret bool) {
	for n := node; n != nil; {
		if tk := n.GetToken(); tk != nil {
			s.values[[2]int{tk.Position.Line, tk.Position.Column}] = path
		}
		if u := unwrap1(n); u != n {
			n = u
			continue
		}
		break
	}
	node = unwrap(node)
	if node == nil {
		return
	}
	if _, ok := node.(*ast.AliasNode); ok {
		return // checked where its anchor is
	}
	if _, ok := node.(*ast.NullNode); ok {
		return // left out: the default
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == ignoredType:
		return // anything goes: the section is ignored
	case t == secretType:
		if isMapping(node) {
			s.mapping(node, t, path, true)
		} else if !isScalar(node) {
			s.problem(path, node.GetToken(), "%s: want the secret as a string, {env: NAME} or {file: PATH}", kind(node))
		}
		return
	case t == durationType:
		s.duration(node, path)
		return
	}
	switch t.Kind() {
	case reflect.Struct:
		if !isMapping(node) {
			s.problem(path, node.GetToken(), "%s: want a mapping of %s", s.quote(node, secret), fieldList(t))
			return
		}
		s.mapping(node, t, path, secret)
	case reflect.Slice:
		seq, ok := node.(*ast.SequenceNode)
		if !ok {
			s.problem(path, node.GetToken(), "%s: want a list (items starting with \"- \")", s.quote(node, secret))
			return
		}
		for i, v := range seq.Values {
			p := fmt.Sprintf("%s[%d]", path, i)
			at := v.GetToken()
			if i < len(seq.Entries) && seq.Entries[i] != nil && seq.Entries[i].Start != nil {
				at = seq.Entries[i].Start
			}
			if at != nil {
				s.keys[p] = *at.Position
			}
			s.value(v, t.Elem(), p, secret)
		}
	case reflect.Bool:
		if _, ok := node.(*ast.BoolNode); !ok {
			s.problem(path, node.GetToken(), "%s: want true or false", s.quote(node, secret))
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if !wholeNumber(node, t.Bits()) {
			s.problem(path, node.GetToken(), "%s: want a whole number", s.quote(node, secret))
		}
	case reflect.String:
		if !isScalar(node) {
			s.problem(path, node.GetToken(), "%s: want a string", kind(node))
		}
	}
}

// mapping checks the fields of a mapping against struct type t.
func (s *shape) mapping(node ast.Node, t reflect.Type, path string, secret bool) {
	var entries []*ast.MappingValueNode
	switch m := node.(type) {
	case *ast.MappingNode:
		entries = m.Values
	case *ast.MappingValueNode:
		entries = []*ast.MappingValueNode{m}
	}
	fields := yamlFields(t)
	seen := map[string]*token.Token{}
	for _, e := range entries {
		if e.Key == nil || e.Key.IsMergeKey() {
			continue // "<<: *anchor": checked where the anchor is
		}
		name := keyName(e.Key)
		p := name
		if path != "" {
			p = path + "." + name
		}
		at := e.Key.GetToken()
		if first, ok := seen[name]; ok {
			s.problem(p, at, "given twice (first at line %d, column %d)", first.Position.Line, first.Position.Column)
			continue
		}
		seen[name] = at
		if at != nil {
			s.keys[p] = *at.Position
		}
		f, ok := fields[name]
		if !ok {
			what := "the configuration"
			if path != "" {
				what = path
			}
			s.problem(p, at, "unknown field: %s has %s", what, fieldList(t))
			continue
		}
		s.value(e.Value, f.Type, p, secret || f.Type == secretType)
	}
}

// duration checks a duration such as 30s or 5m.
func (s *shape) duration(node ast.Node, path string) {
	switch n := node.(type) {
	case *ast.StringNode:
		if _, err := time.ParseDuration(n.Value); err != nil {
			s.problem(path, node.GetToken(), "%s: want a duration such as 30s, 5m or 1h (units ns, us, ms, s, m, h)", clip(strconv.Quote(n.Value)))
		}
	case *ast.IntegerNode, *ast.FloatNode:
		s.problem(path, node.GetToken(), "%s: want a duration with its unit, such as 30s, 5m or 1h", clip(node.GetToken().Value))
	default:
		if isScalar(node) {
			s.problem(path, node.GetToken(), "%s: want a duration such as 30s, 5m or 1h", clip(strconv.Quote(node.GetToken().Value)))
			return
		}
		s.problem(path, node.GetToken(), "%s: want a duration such as 30s, 5m or 1h", kind(node))
	}
}

// quote returns how a problem names a value: scalars quoted (but never a
// secret's), lists and mappings by their kind.
func (s *shape) quote(node ast.Node, secret bool) string {
	if !isScalar(node) || secret {
		return kind(node)
	}
	v := node.GetToken().Value
	if _, ok := node.(*ast.StringNode); ok {
		v = strconv.Quote(v)
	}
	return clip(v)
}

// clip shortens a quoted value for a message.
func clip(v string) string {
	if len(v) > 40 {
		return v[:37] + "…"
	}
	return v
}

// kind names what a node is, for a message.
func kind(node ast.Node) string {
	switch {
	case isMapping(node):
		return "a mapping"
	case node.Type() == ast.SequenceType:
		return "a list"
	case isScalar(node):
		return "a value"
	}
	return "a " + node.Type().YAMLName()
}

// unwrap returns the value under a node's anchors and tags.
func unwrap(node ast.Node) ast.Node {
	for {
		u := unwrap1(node)
		if u == node {
			return node
		}
		node = u
	}
}

// unwrap1 returns the value under an anchor or tag node, or node.
func unwrap1(node ast.Node) ast.Node {
	switch n := node.(type) {
	case *ast.AnchorNode:
		return n.Value
	case *ast.TagNode:
		return n.Value
	}
	return node
}

func isMapping(node ast.Node) bool {
	t := node.Type()
	return t == ast.MappingType || t == ast.MappingValueType
}

func isScalar(node ast.Node) bool {
	switch node.(type) {
	case *ast.StringNode, *ast.IntegerNode, *ast.FloatNode, *ast.BoolNode, *ast.LiteralNode, *ast.InfinityNode, *ast.NanNode:
		return true
	}
	return false
}

// wholeNumber reports whether node is an integer that fits in bits.
func wholeNumber(node ast.Node, bits int) bool {
	limit := math.Ldexp(1, bits-1)
	switch n := node.(type) {
	case *ast.IntegerNode:
		switch v := n.Value.(type) {
		case int64:
			return bits == 64 || v >= -(1<<(bits-1)) && v < 1<<(bits-1)
		case uint64:
			return v <= 1<<(bits-1)-1
		}
	case *ast.FloatNode:
		return n.Value == math.Trunc(n.Value) && n.Value >= -limit && n.Value < limit
	case *ast.StringNode: // "16" or 1e6, as the YAML library takes them
		if _, err := strconv.ParseInt(n.Value, 0, bits); err == nil {
			return true
		}
		f, err := strconv.ParseFloat(n.Value, 64)
		return err == nil && f == math.Trunc(f) && f >= -limit && f < limit
	}
	return false
}

func keyName(k ast.MapKeyNode) string {
	if sc, ok := k.(ast.ScalarNode); ok {
		if v, ok := sc.GetValue().(string); ok {
			return v
		}
	}
	return k.String()
}

// yamlFields returns the fields of struct type t by YAML name.
func yamlFields(t reflect.Type) map[string]reflect.StructField {
	out := map[string]reflect.StructField{}
	for i := range t.NumField() {
		f := t.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		if !f.IsExported() || name == "" || name == "-" {
			continue
		}
		out[name] = f
	}
	return out
}

// fieldList names the fields of struct type t, in order.
func fieldList(t reflect.Type) string {
	var names []string
	for i := range t.NumField() {
		f := t.Field(i)
		if name, _, _ := strings.Cut(f.Tag.Get("yaml"), ","); f.IsExported() && name != "" && name != "-" {
			names = append(names, name)
		}
	}
	if len(names) == 1 {
		return names[0]
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

// locate fills in where the file has the field a problem is about: the
// field itself or, when the file lacks it, its nearest section it has.
func (s *shape) locate(e *FieldError) {
	if e.Line > 0 {
		return
	}
	for p := e.Field; p != ""; p = parentPath(p) {
		if pos, ok := s.keys[p]; ok {
			e.Line, e.Column = pos.Line, pos.Column
			return
		}
	}
}

// parentPath drops the last step of a field path: sources[1].path →
// sources[1] → sources.
func parentPath(p string) string {
	i := strings.LastIndexAny(p, ".[")
	if i < 0 {
		return ""
	}
	return p[:i]
}

// collect turns the errors of a stage into located field errors: the
// YAML library's (located by their token, named by the field there) and
// this package's.
func (s *shape) collect(err error, file string) []*FieldError {
	var out []*FieldError
	var walk func(error)
	walk = func(err error) {
		if j, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range j.Unwrap() {
				walk(e)
			}
			return
		}
		var fe *FieldError
		var ye yaml.Error
		switch {
		case errors.As(err, &fe):
			c := *fe
			out = append(out, &c)
		case errors.As(err, &ye) && ye.GetToken() != nil:
			pos := ye.GetToken().Position
			out = append(out, &FieldError{Field: s.values[[2]int{pos.Line, pos.Column}], Line: pos.Line, Column: pos.Column, Msg: yamlMessage(ye)})
		default:
			out = append(out, &FieldError{Msg: err.Error()})
		}
	}
	walk(err)
	for _, e := range out {
		e.File = file
		s.locate(e)
	}
	return out
}

// yamlMessage says what the YAML library found wrong, in the
// configuration's terms rather than Go's.
func yamlMessage(e yaml.Error) string {
	var te *yaml.TypeError
	var oe *yaml.OverflowError
	switch {
	case errors.As(e, &te):
		return "want " + typeName(te.DstType)
	case errors.As(e, &oe):
		return "want " + typeName(oe.DstType) + " in range"
	}
	return e.GetMessage()
}

// typeName names what a configuration value of type t is.
func typeName(t reflect.Type) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch {
	case t == durationType:
		return "a duration such as 30s, 5m or 1h"
	case t == secretType:
		return "the secret as a string, {env: NAME} or {file: PATH}"
	}
	switch t.Kind() {
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64, reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "a string"
	case reflect.Slice:
		return "a list"
	case reflect.Struct, reflect.Map:
		return "a mapping"
	}
	return "a value"
}

// joinProblems orders problems by where they are (those of no place last)
// and joins them.
func joinProblems(problems []*FieldError) error {
	slices.SortStableFunc(problems, func(a, b *FieldError) int {
		if (a.Line == 0) != (b.Line == 0) {
			if a.Line == 0 {
				return 1
			}
			return -1
		}
		return cmp.Or(cmp.Compare(a.Line, b.Line), cmp.Compare(a.Column, b.Column))
	})
	errs := make([]error, len(problems))
	for i, p := range problems {
		errs[i] = p
	}
	return errors.Join(errs...)
}
