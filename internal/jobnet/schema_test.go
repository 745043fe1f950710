package jobnet

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// schemaNode is the subset of JSON Schema that Schema() emits.
type schemaNode struct {
	Ref                  string                 `json:"$ref"`
	Type                 string                 `json:"type"`
	Properties           map[string]*schemaNode `json:"properties"`
	AdditionalProperties json.RawMessage        `json:"additionalProperties"`
	Required             []string               `json:"required"`
	Items                *schemaNode            `json:"items"`
	Enum                 []any                  `json:"enum"`
	Const                any                    `json:"const"`
	OneOf                []*schemaNode          `json:"oneOf"`
	Pattern              string                 `json:"pattern"`
	Defs                 map[string]*schemaNode `json:"$defs"`
}

// check validates v structurally: refs, types, required and unknown
// properties, enums, consts, patterns and oneOf.
func (s *schemaNode) check(root *schemaNode, path string, v any) error {
	if s.Ref != "" {
		return root.Defs[strings.TrimPrefix(s.Ref, "#/$defs/")].check(root, path, v)
	}
	if len(s.OneOf) > 0 {
		var errs []string
		for _, o := range s.OneOf {
			if err := o.check(root, path, v); err == nil {
				return nil
			} else {
				errs = append(errs, err.Error())
			}
		}
		return fmt.Errorf("%s: matches no alternative: %s", path, strings.Join(errs, "; "))
	}
	if s.Const != nil && v != s.Const {
		return fmt.Errorf("%s: want %v, got %v", path, s.Const, v)
	}
	if len(s.Enum) > 0 {
		found := false
		for _, e := range s.Enum {
			found = found || e == v
		}
		if !found {
			return fmt.Errorf("%s: %v not in %v", path, v, s.Enum)
		}
	}
	switch s.Type {
	case "object":
		m, ok := v.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want object", path)
		}
		for _, r := range s.Required {
			if _, ok := m[r]; !ok {
				return fmt.Errorf("%s: missing %s", path, r)
			}
		}
		for k, x := range m {
			p, ok := s.Properties[k]
			if !ok {
				ap := string(s.AdditionalProperties)
				switch {
				case ap == "false":
					return fmt.Errorf("%s: unknown property %s", path, k)
				case ap == "" || ap == "true":
					continue
				}
				p = &schemaNode{}
				if err := json.Unmarshal(s.AdditionalProperties, p); err != nil {
					return err
				}
			}
			if err := p.check(root, path+"."+k, x); err != nil {
				return err
			}
		}
	case "array":
		a, ok := v.([]any)
		if !ok {
			return fmt.Errorf("%s: want array", path)
		}
		for i, x := range a {
			if err := s.Items.check(root, fmt.Sprintf("%s[%d]", path, i), x); err != nil {
				return err
			}
		}
	case "string":
		str, ok := v.(string)
		if !ok {
			return fmt.Errorf("%s: want string, got %T", path, v)
		}
		if s.Pattern != "" && !regexp.MustCompile(s.Pattern).MatchString(str) {
			return fmt.Errorf("%s: %q does not match %s", path, str, s.Pattern)
		}
	case "integer":
		if _, ok := v.(int64); !ok {
			return fmt.Errorf("%s: want integer, got %T", path, v)
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Errorf("%s: want boolean", path)
		}
	}
	return nil
}

// plain turns a YAML node into JSON-like values, keeping scalars' text
// (dates stay strings, as the definition types read them).
func plain(n *yaml.Node) any {
	switch n.Kind {
	case yaml.DocumentNode:
		return plain(n.Content[0])
	case yaml.AliasNode:
		return plain(n.Alias)
	case yaml.MappingNode:
		m := map[string]any{}
		for i := 0; i+1 < len(n.Content); i += 2 {
			m[n.Content[i].Value] = plain(n.Content[i+1])
		}
		return m
	case yaml.SequenceNode:
		a := []any{}
		for _, c := range n.Content {
			a = append(a, plain(c))
		}
		return a
	}
	switch n.ShortTag() {
	case "!!int":
		i, _ := strconv.ParseInt(n.Value, 10, 64)
		return i
	case "!!bool":
		return n.Value == "true"
	case "!!null":
		return nil
	}
	return n.Value
}

func loadSchema(t *testing.T) *schemaNode {
	t.Helper()
	data, err := Schema()
	require.NoError(t, err)
	require.True(t, json.Valid(data))
	var root schemaNode
	require.NoError(t, json.Unmarshal(data, &root))
	require.Len(t, root.OneOf, 5)
	return &root
}

func TestSchemaValidatesExamples(t *testing.T) {
	root := loadSchema(t)
	files, err := filepath.Glob(filepath.Join(examplesDir, "*.yaml"))
	cloud, _ := filepath.Glob(filepath.Join(examplesDir, "cloud", "*", "*.yaml"))
	files = append(files, cloud...)
	require.NoError(t, err)
	require.NotEmpty(t, files)
	docs := 0
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		dec := yaml.NewDecoder(bytes.NewReader(data))
		for {
			var n yaml.Node
			if err := dec.Decode(&n); errors.Is(err, io.EOF) {
				break
			} else {
				require.NoError(t, err)
			}
			require.NoError(t, root.check(root, f, plain(&n)))
			docs++
		}
	}
	require.Equal(t, 14, docs, "the examples and examples/cloud")
}

func TestSchemaRejects(t *testing.T) {
	root := loadSchema(t)
	for _, src := range []string{
		"kind: Jobnet\nname: n\nfolder: f\nunits: [{name: a, kind: job, job: {type: local, local: {comand: x}}}]\n",
		"kind: Jobnet\nname: n\nfolder: f\nunits: [{name: a, kind: robot}]\n",
		"kind: Pool\nname: p\n",
		"kind: Folders\nname: f\n",
		"kind: Calendar\nname: c\nbase_time: '5'\n",
		"kind: Jobnet\nname: n\nfolder: f\nunits: []\nedges: [{from: a, to: b, kind: maybe}]\n",
		"kind: Jobnet\nname: n\nfolder: f\nunits: [{name: a, kind: job, job: {type: local, local: {command: x, keep_children: yes-please}}}]\n",
		"kind: Jobnet\nname: n\nfolder: f\nunits: [{name: a, kind: job, job: {type: eks, eks: {image: i, env: [{name: X, secret_key_ref: {name: s}}]}}}]\n",
		"kind: Jobnet\nname: n\nfolder: f\nunits: [{name: a, kind: job, job: {type: eks, eks: {image: i, env: [{name: X, value: plain}]}}}]\n",
		"kind: Jobnet\nname: n\nfolder: f\nunits: [{name: a, kind: job, job: {type: eks, eks: {image: i, volumes: [{name: v, host_path: {path: /}}]}}}]\n",
	} {
		var n yaml.Node
		require.NoError(t, yaml.Unmarshal([]byte(src), &n))
		require.Error(t, root.check(root, "doc", plain(&n)), src)
	}
	var n yaml.Node
	require.NoError(t, yaml.Unmarshal([]byte("kind: Jobnet\nname: n\nfolder: f\nunits: [{name: a, kind: job, job: {type: local, local: {command: x, keep_children: true}}}]\n"), &n))
	require.NoError(t, root.check(root, "doc", plain(&n)))
	require.NoError(t, yaml.Unmarshal([]byte(`kind: Jobnet
name: n
folder: f
units:
  - name: a
    kind: job
    job:
      type: eks
      eks:
        image: i
        env: [{name: DB_PASSWORD, secret_key_ref: {name: sales-db, key: password}}]
        env_from: [{prefix: API_, secret_ref: {name: sales-api}}, {config_map_ref: {name: cfg, optional: true}}]
        volumes: [{name: tls, secret: {secret_name: tls, default_mode: 256}}, {name: s, empty_dir: {size_limit: 1Gi}}, {name: d, persistent_volume_claim: {claim_name: data}}]
        volume_mounts: [{name: tls, mount_path: /etc/tls, read_only: true}]
        image_pull_secrets: [ecr-pull]
`), &n))
	require.NoError(t, root.check(root, "doc", plain(&n)))
	data, err := Schema()
	require.NoError(t, err)
	require.Contains(t, string(data), `"description": "Hold starts the unit held in every generation until an operator releases it."`)
}
