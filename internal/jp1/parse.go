package jp1

import (
	"bytes"
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/japanese"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Param is one `key=value;` of a unit definition. Value is the text between
// "=" and ";" as written (quotes and #-escapes included); Line is where the
// key starts.
type Param struct {
	Key   string
	Value string
	Line  int
}

// Unit is one `unit=name,perm,user,group;{ ... }` block with its parameters
// and nested units, in file order.
type Unit struct {
	// Name is the first field of unit=; a top-level unit may carry a full
	// path (/group/jobnet).
	Name string
	// Attrs are the other fields of unit= (permission mode, JP1 user,
	// resource group), possibly empty.
	Attrs    []string
	File     string
	Line     int
	Params   []Param
	Children []*Unit
}

// Type returns the unit type (the value of ty), or "".
func (u *Unit) Type() string {
	for _, p := range u.Params {
		if p.Key == "ty" {
			return p.Value
		}
	}
	return ""
}

// maxDepth bounds unit nesting, so hostile input cannot exhaust the stack.
const maxDepth = 64

// Decode returns the text of an ajsprint file: UTF-8 (a BOM is dropped) or,
// when the bytes are not valid UTF-8, Shift_JIS.
func Decode(data []byte) (string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if utf8.Valid(data) {
		return string(data), nil
	}
	out, err := japanese.ShiftJIS.NewDecoder().Bytes(data)
	if err != nil {
		return "", fmt.Errorf("neither UTF-8 nor Shift_JIS: %w", err)
	}
	return string(out), nil
}

// Parse reads the unit definitions of one ajsprint (ajsdefine) file. name is
// used in messages and in Unit.File. Every syntax error is reported at
// file:line; the error is fault.Problems (unwrapping to fault.ErrInvalid).
func Parse(name string, data []byte) ([]*Unit, error) {
	text, err := Decode(data)
	if err != nil {
		return nil, fault.Problems{{Path: name + ":1", Message: err.Error()}}
	}
	p := &parser{file: name, s: text, line: 1}
	units := p.units(0)
	if len(p.probs) > 0 {
		return nil, p.probs
	}
	return units, nil
}

type parser struct {
	file  string
	s     string
	i     int
	line  int
	probs fault.Problems
}

func (p *parser) fail(line int, format string, args ...any) {
	p.probs.Add(fmt.Sprintf("%s:%d", p.file, line), format, args...)
}

// skip passes blanks and /* comments */.
func (p *parser) skip() {
	for p.i < len(p.s) {
		c := p.s[p.i]
		switch {
		case c == '\n':
			p.line++
			p.i++
		case c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v':
			p.i++
		case strings.HasPrefix(p.s[p.i:], "/*"):
			start := p.line
			end := strings.Index(p.s[p.i+2:], "*/")
			if end < 0 {
				p.fail(start, "comment /* is not closed")
				p.line += strings.Count(p.s[p.i:], "\n")
				p.i = len(p.s)
				return
			}
			p.line += strings.Count(p.s[p.i:p.i+2+end], "\n")
			p.i += 2 + end + 2
		default:
			return
		}
	}
}

// units reads unit blocks until the end of input (depth 0) or a "}".
func (p *parser) units(depth int) []*Unit {
	var out []*Unit
	for {
		p.skip()
		if p.i >= len(p.s) || p.s[p.i] == '}' {
			return out
		}
		line := p.line
		key, val, ok := p.param()
		if !ok {
			return out
		}
		if key != "unit" {
			p.fail(line, "want unit=NAME,...; at the top level, got %q", key)
			return out
		}
		u := p.unit(val, line, depth)
		if u == nil {
			return out
		}
		out = append(out, u)
	}
}

// unit reads the { ... } body of a unit whose unit= value is val.
func (p *parser) unit(val string, line, depth int) *Unit {
	fields := strings.Split(val, ",")
	u := &Unit{Name: strings.TrimSpace(fields[0]), File: p.file, Line: line}
	for _, f := range fields[1:] {
		u.Attrs = append(u.Attrs, strings.TrimSpace(f))
	}
	if u.Name == "" {
		p.fail(line, "unit= without a unit name")
		return nil
	}
	if depth >= maxDepth {
		p.fail(line, "units nested deeper than %d", maxDepth)
		return nil
	}
	p.skip()
	if p.i >= len(p.s) || p.s[p.i] != '{' {
		p.fail(p.line, "want { after unit=%s;", u.Name)
		return nil
	}
	p.i++
	for {
		p.skip()
		if p.i >= len(p.s) {
			p.fail(line, "unit %s: the { is not closed by }", u.Name)
			return nil
		}
		if p.s[p.i] == '}' {
			p.i++
			return u
		}
		pl := p.line
		key, val, ok := p.param()
		if !ok {
			return nil
		}
		if key == "unit" {
			c := p.unit(val, pl, depth+1)
			if c == nil {
				return nil
			}
			u.Children = append(u.Children, c)
			continue
		}
		u.Params = append(u.Params, Param{Key: key, Value: val, Line: pl})
	}
}

// param reads key=value; where value runs to the first ";" outside double
// quotes ("#" escapes the next character inside them).
func (p *parser) param() (string, string, bool) {
	start := p.line
	eq := p.i
	for eq < len(p.s) && isKeyChar(p.s[eq]) {
		eq++
	}
	key := p.s[p.i:eq]
	if key == "" || eq >= len(p.s) || p.s[eq] != '=' {
		got := p.s[p.i:min(len(p.s), p.i+20)]
		if nl := strings.IndexByte(got, '\n'); nl >= 0 {
			got = got[:nl]
		}
		p.fail(start, "want key=value;, got %q", got)
		return "", "", false
	}
	i := eq + 1
	inQuote, quoteLine := false, 0
	for ; i < len(p.s); i++ {
		c := p.s[i]
		switch {
		case c == '\n':
			if !inQuote {
				p.fail(start, "%s=: missing ; at the end of the line", key)
				return "", "", false
			}
			p.line++
		case inQuote && c == '#' && i+1 < len(p.s):
			if p.s[i+1] == '\n' {
				p.line++
			}
			i++
		case c == '"':
			inQuote = !inQuote
			quoteLine = p.line
		case c == ';' && !inQuote:
			val := strings.TrimRight(p.s[eq+1:i], " \t\r")
			p.i = i + 1
			return key, val, true
		}
	}
	if inQuote {
		p.fail(quoteLine, "%s=: the quoted string is not closed", key)
	} else {
		p.fail(start, "%s=: missing ; at the end", key)
	}
	p.i = len(p.s)
	return "", "", false
}

func isKeyChar(c byte) bool {
	return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

// Unquote returns the text of a "quoted" value with #" and ## unescaped, or
// the value itself when it is not quoted.
func Unquote(v string) string {
	if len(v) < 2 || v[0] != '"' || v[len(v)-1] != '"' {
		return v
	}
	v = v[1 : len(v)-1]
	if !strings.Contains(v, "#") {
		return v
	}
	var b strings.Builder
	for i := 0; i < len(v); i++ {
		if v[i] == '#' && i+1 < len(v) {
			i++
		}
		b.WriteByte(v[i])
	}
	return b.String()
}

// Quote writes s as a quoted value, escaping " and # with #.
func Quote(s string) string {
	r := strings.NewReplacer("#", "##", `"`, `#"`)
	return `"` + r.Replace(s) + `"`
}

// Format writes units back in the definition-file format (one parameter a
// line, tabs for nesting). Parse(Format(u)) yields the same units.
func Format(units []*Unit) string {
	var b strings.Builder
	for _, u := range units {
		format(&b, u, 0)
	}
	return b.String()
}

func format(b *strings.Builder, u *Unit, depth int) {
	ind := strings.Repeat("\t", depth)
	fmt.Fprintf(b, "%sunit=%s", ind, u.Name)
	for _, a := range u.Attrs {
		b.WriteString("," + a)
	}
	fmt.Fprintf(b, ";\n%s{\n", ind)
	for _, p := range u.Params {
		fmt.Fprintf(b, "%s\t%s=%s;\n", ind, p.Key, p.Value)
	}
	for _, c := range u.Children {
		format(b, c, depth+1)
	}
	fmt.Fprintf(b, "%s}\n", ind)
}
