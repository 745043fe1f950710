package jobnet

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Kind names the type of one YAML document.
type Kind string

const (
	// KindFolder is a document holding a Folder.
	KindFolder Kind = "Folder"
	// KindJobnet is a document holding a root Jobnet.
	KindJobnet Kind = "Jobnet"
	// KindCalendar is a document holding a calendar.Definition.
	KindCalendar Kind = "Calendar"
	// KindPool is a document holding a Pool.
	KindPool Kind = "Pool"
	// KindConnection is a document holding a Connection.
	KindConnection Kind = "Connection"
)

// Kinds lists the document kinds in the order Encode writes them.
var Kinds = []Kind{KindCalendar, KindPool, KindConnection, KindFolder, KindJobnet}

// Bundle is a set of definitions read from or written to YAML files.
type Bundle struct {
	Folders   []Folder              `json:"folders,omitempty"`
	Jobnets   []Jobnet              `json:"jobnets,omitempty"`
	Calendars []calendar.Definition `json:"calendars,omitempty"`
	Pools     []Pool                `json:"pools,omitempty"`
	// Connections name AWS accounts and Kubernetes clusters (kind: Connection).
	Connections []Connection `json:"connections,omitempty"`
}

// Add appends the definitions of o to b.
func (b *Bundle) Add(o *Bundle) {
	b.Folders = append(b.Folders, o.Folders...)
	b.Jobnets = append(b.Jobnets, o.Jobnets...)
	b.Calendars = append(b.Calendars, o.Calendars...)
	b.Pools = append(b.Pools, o.Pools...)
	b.Connections = append(b.Connections, o.Connections...)
}

// Len returns the number of definitions in b.
func (b *Bundle) Len() int {
	return len(b.Folders) + len(b.Jobnets) + len(b.Calendars) + len(b.Pools) + len(b.Connections)
}

// yamlLineRE finds the line yaml reports in its syntax errors.
var yamlLineRE = regexp.MustCompile(`^yaml: line (\d+): (.*)$`)

// syntaxProblem turns a yaml parser error into a finding at file:line:column.
// The parser names the line but not the column; the column is that of the
// line's first non-blank character.
func syntaxProblem(name string, data []byte, err error) fault.Problem {
	msg := err.Error()
	line := 1
	if m := yamlLineRE.FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = m[2]
	} else {
		msg = strings.TrimPrefix(msg, "yaml: ")
		line = bytes.Count(data, []byte("\n")) + 1
	}
	lines := bytes.Split(data, []byte("\n"))
	col := 1
	if line >= 1 && line <= len(lines) {
		l := lines[line-1]
		col = len(l) - len(bytes.TrimLeft(l, " ")) + 1
		if len(bytes.TrimSpace(l)) == 0 {
			col = 1
		}
	}
	return fault.Problem{Path: fmt.Sprintf("%s:%d:%d", name, line, col), Message: "invalid YAML: " + msg}
}

// ParseFile reads the YAML documents of one file. name is used in messages
// only. Every finding carries file:line:column; the error is fault.Problems
// (unwrapping to fault.ErrInvalid). ParseFile checks the document shape only;
// Validate checks the definitions.
func ParseFile(name string, data []byte) (*Bundle, error) {
	b := &Bundle{}
	d := &decoder{file: name}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	for {
		var doc yaml.Node
		err := dec.Decode(&doc)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			d.problems = append(d.problems, syntaxProblem(name, data, err))
			return nil, d.problems
		}
		d.document(&doc, b)
	}
	if len(d.problems) > 0 {
		return nil, d.problems
	}
	return b, nil
}

func (d *decoder) document(doc *yaml.Node, b *Bundle) {
	n := doc
	if n.Kind == yaml.DocumentNode {
		if len(n.Content) == 0 {
			return
		}
		n = n.Content[0]
	}
	n = resolveAlias(n)
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.fail(n, "document: want a mapping with kind: Folder, Jobnet, Calendar, Pool or Connection, got %s", kindName(n))
		return
	}
	var kindNode *yaml.Node
	rest := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Line: n.Line, Column: n.Column}
	for i := 0; i+1 < len(n.Content); i += 2 {
		if k := n.Content[i]; k.Kind == yaml.ScalarNode && k.Value == "kind" && kindNode == nil {
			kindNode = resolveAlias(n.Content[i+1])
			continue
		}
		rest.Content = append(rest.Content, n.Content[i], n.Content[i+1])
	}
	if kindNode == nil {
		d.fail(n, "document: missing kind (Folder, Jobnet, Calendar, Pool or Connection)")
		return
	}
	switch Kind(kindNode.Value) {
	case KindFolder:
		var f Folder
		d.decode(rest, reflect.ValueOf(&f).Elem(), string(KindFolder))
		b.Folders = append(b.Folders, f)
	case KindJobnet:
		var j Jobnet
		d.decode(rest, reflect.ValueOf(&j).Elem(), string(KindJobnet))
		b.Jobnets = append(b.Jobnets, j)
	case KindCalendar:
		var c calendar.Definition
		d.decode(rest, reflect.ValueOf(&c).Elem(), string(KindCalendar))
		b.Calendars = append(b.Calendars, c)
	case KindPool:
		var p Pool
		d.decode(rest, reflect.ValueOf(&p).Elem(), string(KindPool))
		b.Pools = append(b.Pools, p)
	case KindConnection:
		var c Connection
		d.decode(rest, reflect.ValueOf(&c).Elem(), string(KindConnection))
		b.Connections = append(b.Connections, c)
	default:
		d.fail(kindNode, "unknown kind %q: want Folder, Jobnet, Calendar, Pool or Connection", kindNode.Value)
	}
}

// LoadPath reads a file, or the *.yaml and *.yml files directly in a
// directory (in lexical order; not its subdirectories), into one bundle.
// Findings of all files are returned together.
func LoadPath(path string) (*Bundle, error) {
	return Load(false, path)
}

// Load reads every path as LoadPath does into one bundle; with recursive,
// a directory's subdirectories are read too (except those whose name
// starts with a dot). Findings of all files are returned together.
func Load(recursive bool, paths ...string) (*Bundle, error) {
	var files []string
	for _, path := range paths {
		fs, err := yamlFiles(path, recursive)
		if err != nil {
			return nil, err
		}
		files = append(files, fs...)
	}
	all := &Bundle{}
	var problems fault.Problems
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			return nil, fmt.Errorf("load definitions: %w", err)
		}
		b, err := ParseFile(f, data)
		if err != nil {
			ps, ok := fault.AsProblems(err)
			if !ok {
				return nil, err
			}
			problems = append(problems, ps...)
			continue
		}
		all.Add(b)
	}
	if len(problems) > 0 {
		return nil, problems
	}
	return all, nil
}

// yamlFiles lists the definition files a path names.
func yamlFiles(path string, recursive bool) ([]string, error) {
	info, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("load definitions: %w", err)
	}
	if !info.IsDir() {
		return []string{path}, nil
	}
	var files []string
	skipped := false
	err = filepath.WalkDir(path, func(p string, e fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if e.IsDir() && p != path && (!recursive || strings.HasPrefix(e.Name(), ".")) {
			skipped = skipped || !strings.HasPrefix(e.Name(), ".")
			return filepath.SkipDir
		}
		if ext := filepath.Ext(p); !e.IsDir() && (ext == ".yaml" || ext == ".yml") {
			files = append(files, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("load definitions from %s: %w", path, err)
	}
	if len(files) == 0 {
		// Applying nothing and saying nothing would look like success.
		if skipped {
			return nil, fmt.Errorf("load definitions: %s holds no *.yaml or *.yml file of its own; its subdirectories are read with -R: %w", path, fault.ErrInvalid)
		}
		return nil, fmt.Errorf("load definitions: %s holds no *.yaml or *.yml file: %w", path, fault.ErrInvalid)
	}
	return files, nil
}
