package jobnet

import (
	"encoding"
	"fmt"
	"reflect"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// decoder maps YAML nodes onto the definition types strictly: unknown
// fields, duplicate keys and values of the wrong shape are findings with
// file:line:column. It reads yaml/json field names from the `yaml` tags, so
// the model types stay the single description of the format.
type decoder struct {
	file     string
	problems fault.Problems
	// depth bounds nesting; open holds the anchored nodes being decoded,
	// so that an alias to one of them (a recursive alias, "a: &x [*x]") is
	// refused; expanded counts the values decoded through aliases, which
	// bounds alias bombs (an alias list of alias lists…) by what they
	// expand to, however large the plain definitions are.
	depth     int
	open      map[*yaml.Node]bool
	inAlias   *yaml.Node // the outermost alias being expanded
	expanded  int
	exhausted bool
	fields    map[reflect.Type][]field
}

// Limits of one ParseFile call.
const (
	// maxDecodeDepth bounds nesting: a jobnet nested in a jobnet takes
	// four levels, so this allows definitions nested about 60 deep.
	maxDecodeDepth = 256
	// maxAliasExpansion bounds the values decoded through aliases.
	maxAliasExpansion = 1_000_000
)

var textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()

func (d *decoder) pos(n *yaml.Node) string {
	return fmt.Sprintf("%s:%d:%d", d.file, n.Line, n.Column)
}

func (d *decoder) fail(n *yaml.Node, format string, args ...any) {
	d.problems.Add(d.pos(n), format, args...)
}

// label names a struct type in messages about its fields when it is the
// element of a list or a document ("unknown field "x" in unit").
func label(t reflect.Type) string {
	switch t.Name() {
	case "OverrideDef":
		return "override"
	case "CapacityProvider":
		return "capacity provider"
	case "Definition":
		return "Calendar"
	case "AWSConnection":
		return "aws"
	case "KubeConnection":
		return "kubernetes"
	case "Folder", "Jobnet", "Pool", "Connection":
		return t.Name()
	}
	return strings.ToLower(t.Name())
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode && i < 100; i++ {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.ShortTag() == "!!null"
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a mapping"
	case yaml.SequenceNode:
		return "a list"
	case yaml.ScalarNode:
		if isNull(n) {
			return "null"
		}
		return fmt.Sprintf("%q", n.Value)
	}
	return "something else"
}

// field is one decodable struct field, reached through index (inline fields
// have longer indexes).
type field struct {
	name  string
	index []int
}

func structFields(t reflect.Type) []field {
	var out []field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" || (!f.IsExported() && !f.Anonymous) {
			continue
		}
		if strings.Contains(opts, "inline") {
			for _, sub := range structFields(f.Type) {
				sub.index = append([]int{i}, sub.index...)
				out = append(out, sub)
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, field{name: name, index: []int{i}})
	}
	return out
}

// decode fills v from n. ctx names the place for messages: the key path
// since the nearest list element or document ("job.local"), or that
// element's label ("unit").
func (d *decoder) decode(n *yaml.Node, v reflect.Value, ctx string) {
	if n == nil || d.exhausted {
		return
	}
	if n.Kind == yaml.AliasNode {
		alias := n
		if n = resolveAlias(n); n == nil {
			return
		}
		if d.open[n] {
			d.exhausted = true
			d.fail(alias, "%s: alias *%s refers to a value that contains it (a recursive alias)", ctx, alias.Value)
			return
		}
		if d.inAlias == nil {
			d.inAlias = alias
			defer func() { d.inAlias = nil }()
		}
	}
	if d.inAlias != nil {
		d.expanded++
		if d.expanded > maxAliasExpansion {
			d.exhausted = true
			d.fail(d.inAlias, "%s: aliases expand to more than %d values (an alias bomb?); write the values out instead", ctx, maxAliasExpansion)
			return
		}
	}
	if d.depth >= maxDecodeDepth {
		d.exhausted = true
		d.fail(n, "%s: nested more than %d levels deep", ctx, maxDecodeDepth)
		return
	}
	if n.Anchor != "" {
		if d.open == nil {
			d.open = map[*yaml.Node]bool{}
		}
		d.open[n] = true
		defer delete(d.open, n)
	}
	d.depth++
	defer func() { d.depth-- }()
	if v.Kind() == reflect.Pointer {
		if isNull(n) {
			v.SetZero()
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), ctx)
		return
	}
	if reflect.PointerTo(v.Type()).Implements(textUnmarshalerType) {
		if n.Kind != yaml.ScalarNode || isNull(n) {
			d.fail(n, "%s: want a text value, got %s", ctx, kindName(n))
			return
		}
		if err := v.Addr().Interface().(encoding.TextUnmarshaler).UnmarshalText([]byte(n.Value)); err != nil {
			d.fail(n, "%s: %v", ctx, err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Struct:
		d.decodeStruct(n, v, ctx)
	case reflect.Slice:
		if isNull(n) {
			v.SetZero()
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.fail(n, "%s: want a list, got %s", ctx, kindName(n))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		elemCtx := ctx
		if et := v.Type().Elem(); et.Kind() == reflect.Struct {
			elemCtx = label(et)
		}
		for i, item := range n.Content {
			d.decode(item, s.Index(i), elemCtx)
		}
		v.Set(s)
	case reflect.Map:
		d.decodeMap(n, v, ctx)
	case reflect.String:
		if n.Kind != yaml.ScalarNode {
			d.fail(n, "%s: want a string, got %s", ctx, kindName(n))
			return
		}
		if isNull(n) {
			v.SetString("")
			return
		}
		v.SetString(n.Value)
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!int" {
			d.fail(n, "%s: want an integer, got %s", ctx, kindName(n))
			return
		}
		i, err := strconv.ParseInt(strings.ReplaceAll(n.Value, "_", ""), 0, 64)
		if err != nil || v.OverflowInt(i) {
			d.fail(n, "%s: integer %s out of range", ctx, n.Value)
			return
		}
		v.SetInt(i)
	case reflect.Bool:
		if n.Kind != yaml.ScalarNode || n.ShortTag() != "!!bool" {
			d.fail(n, "%s: want true or false, got %s", ctx, kindName(n))
			return
		}
		b, err := strconv.ParseBool(strings.ToLower(n.Value))
		if err != nil {
			d.fail(n, "%s: want true or false, got %q", ctx, n.Value)
			return
		}
		v.SetBool(b)
	default:
		d.fail(n, "%s: cannot decode into %s", ctx, v.Type())
	}
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, ctx string) {
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%s: want a mapping, got %s", ctx, kindName(n))
		return
	}
	fields, ok := d.fields[v.Type()]
	if !ok {
		if d.fields == nil {
			d.fields = map[reflect.Type][]field{}
		}
		fields = structFields(v.Type())
		d.fields[v.Type()] = fields
	}
	seen := make(map[string]*yaml.Node, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := resolveAlias(n.Content[i]), n.Content[i+1]
		if k.Kind != yaml.ScalarNode {
			d.fail(k, "%s: want a field name, got %s", ctx, kindName(k))
			continue
		}
		if k.Value == "<<" && k.ShortTag() == "!!merge" {
			d.fail(k, "%s: merge keys (<<) are not supported; repeat the fields", ctx)
			continue
		}
		if prev, dup := seen[k.Value]; dup {
			d.fail(k, "duplicate field %q in %s (first at line %d)", k.Value, ctx, prev.Line)
			continue
		}
		seen[k.Value] = k
		var f *field
		for j := range fields {
			if fields[j].name == k.Value {
				f = &fields[j]
				break
			}
		}
		if f == nil {
			d.fail(k, "unknown field %q in %s", k.Value, ctx)
			continue
		}
		d.decode(val, v.FieldByIndex(f.index), childCtx(ctx, k.Value))
	}
}

// childCtx extends a key path; a label (a list element or document, which
// has no dot and starts a new path) is replaced by the key.
func childCtx(ctx, key string) string {
	if isLabel(ctx) {
		return key
	}
	return ctx + "." + key
}

func isLabel(ctx string) bool {
	switch ctx {
	case "Folder", "Jobnet", "Calendar", "Pool", "unit", "edge", "rule", "override",
		"capacity provider", "toleration":
		return true
	}
	return false
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, ctx string) {
	if isNull(n) {
		v.SetZero()
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, "%s: want a mapping, got %s", ctx, kindName(n))
		return
	}
	m := reflect.MakeMapWithSize(v.Type(), len(n.Content)/2)
	seen := make(map[string]int, len(n.Content)/2)
	for i := 0; i+1 < len(n.Content); i += 2 {
		k := resolveAlias(n.Content[i])
		if k.Kind != yaml.ScalarNode || isNull(k) {
			d.fail(k, "%s: want a key, got %s", ctx, kindName(k))
			continue
		}
		if line, dup := seen[k.Value]; dup {
			d.fail(k, "duplicate key %q in %s (first at line %d)", k.Value, ctx, line)
			continue
		}
		seen[k.Value] = k.Line
		key := reflect.New(v.Type().Key()).Elem()
		d.decode(k, key, ctx)
		val := reflect.New(v.Type().Elem()).Elem()
		d.decode(n.Content[i+1], val, ctx+"."+k.Value)
		m.SetMapIndex(key, val)
	}
	v.Set(m)
}
