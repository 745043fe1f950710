package jobnet

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"go.yaml.in/yaml/v3"

	"github.com/koyomi-dev/koyomi/internal/calendar"
)

// The document shapes Encode writes: kind first, then the fields of the
// definition in their declaration order.
type (
	folderDocument struct {
		Kind   Kind `yaml:"kind"`
		Folder `yaml:",inline"`
	}
	jobnetDocument struct {
		Kind   Kind `yaml:"kind"`
		Jobnet `yaml:",inline"`
	}
	calendarDocument struct {
		Kind                Kind `yaml:"kind"`
		calendar.Definition `yaml:",inline"`
	}
	poolDocument struct {
		Kind Kind `yaml:"kind"`
		Pool `yaml:",inline"`
	}
	connectionDocument struct {
		Kind       Kind `yaml:"kind"`
		Connection `yaml:",inline"`
	}
)

// Normalized returns a copy of b in canonical form and order: calendars,
// pools and folders by name, jobnets by folder/name, each normalized.
func (b *Bundle) Normalized() *Bundle {
	out := &Bundle{}
	for _, c := range b.Calendars {
		out.Calendars = append(out.Calendars, NormalizedCalendar(c))
	}
	out.Pools = append(out.Pools, b.Pools...)
	for _, c := range b.Connections {
		out.Connections = append(out.Connections, c.clone())
	}
	out.Folders = append(out.Folders, b.Folders...)
	for i := range b.Jobnets {
		out.Jobnets = append(out.Jobnets, *Normalized(&b.Jobnets[i]))
	}
	sort.SliceStable(out.Calendars, func(i, j int) bool { return out.Calendars[i].Name < out.Calendars[j].Name })
	sort.SliceStable(out.Pools, func(i, j int) bool { return out.Pools[i].Name < out.Pools[j].Name })
	sort.SliceStable(out.Connections, func(i, j int) bool { return out.Connections[i].Name < out.Connections[j].Name })
	sort.SliceStable(out.Folders, func(i, j int) bool { return out.Folders[i].Name < out.Folders[j].Name })
	sort.SliceStable(out.Jobnets, func(i, j int) bool {
		a, c := out.Jobnets[i], out.Jobnets[j]
		if a.Folder != c.Folder {
			return a.Folder < c.Folder
		}
		return a.Name < c.Name
	})
	return out
}

// Encode writes b as canonical YAML: one document per definition, calendars,
// pools, connections, folders then jobnets, each group sorted by name (jobnets by
// folder/name), defaults omitted. Equal bundles give equal bytes, and
// ParseFile of the result gives b.Normalized().
func Encode(b *Bundle) ([]byte, error) {
	n := b.Normalized()
	var docs []any
	for _, c := range n.Calendars {
		docs = append(docs, calendarDocument{Kind: KindCalendar, Definition: c})
	}
	for _, p := range n.Pools {
		docs = append(docs, poolDocument{Kind: KindPool, Pool: p})
	}
	for _, c := range n.Connections {
		docs = append(docs, connectionDocument{Kind: KindConnection, Connection: c})
	}
	for _, f := range n.Folders {
		docs = append(docs, folderDocument{Kind: KindFolder, Folder: f})
	}
	for _, j := range n.Jobnets {
		docs = append(docs, jobnetDocument{Kind: KindJobnet, Jobnet: j})
	}
	return encodeDocs(docs)
}

// EncodeJobnet writes one jobnet as a canonical YAML document.
func EncodeJobnet(j *Jobnet) ([]byte, error) {
	return encodeDocs([]any{jobnetDocument{Kind: KindJobnet, Jobnet: *Normalized(j)}})
}

func encodeDocs(docs []any) ([]byte, error) {
	if len(docs) == 0 {
		return nil, nil
	}
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	for _, d := range docs {
		if err := enc.Encode(d); err != nil {
			return nil, fmt.Errorf("encode definitions: %w", err)
		}
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("encode definitions: %w", err)
	}
	return buf.Bytes(), nil
}

// File is one file of an export: its name relative to the export directory
// and the definitions it holds.
type File struct {
	Name   string
	Bundle *Bundle
}

// Export file names for calendars and pools.
const (
	CalendarsFile = "calendars.yaml"
	PoolsFile     = "pools.yaml"
	// ConnectionsFile holds the connections (without their secrets when
	// written by an export).
	ConnectionsFile = "connections.yaml"
)

// SplitByFolder divides b into export files: one per folder (the folder
// document and its jobnets, "<folder>.yaml"), plus calendars.yaml and
// pools.yaml when b has any. A folder named calendars or pools is written to
// "<folder>.folder.yaml" so that it does not collide. Files are sorted by name.
func SplitByFolder(b *Bundle) []File {
	byFolder := map[string]*Bundle{}
	get := func(name string) *Bundle {
		if byFolder[name] == nil {
			byFolder[name] = &Bundle{}
		}
		return byFolder[name]
	}
	for _, f := range b.Folders {
		get(f.Name).Folders = append(get(f.Name).Folders, f)
	}
	for _, j := range b.Jobnets {
		get(j.Folder).Jobnets = append(get(j.Folder).Jobnets, j)
	}
	var files []File
	for name, fb := range byFolder {
		file := name + ".yaml"
		if file == CalendarsFile || file == PoolsFile || file == ConnectionsFile {
			file = name + ".folder.yaml"
		}
		files = append(files, File{Name: file, Bundle: fb})
	}
	if len(b.Calendars) > 0 {
		files = append(files, File{Name: CalendarsFile, Bundle: &Bundle{Calendars: b.Calendars}})
	}
	if len(b.Pools) > 0 {
		files = append(files, File{Name: PoolsFile, Bundle: &Bundle{Pools: b.Pools}})
	}
	if len(b.Connections) > 0 {
		files = append(files, File{Name: ConnectionsFile, Bundle: &Bundle{Connections: b.Connections}})
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files
}

// WriteDir writes the files of SplitByFolder(b) into dir (created if
// missing). Each file is written to a temporary file and renamed, so a
// reader never sees half a file. Files of dir that b does not name are left
// alone. Folder names are checked to be plain file names first.
func WriteDir(dir string, b *Bundle) error {
	files := SplitByFolder(b)
	for _, f := range files {
		if f.Name != filepath.Base(f.Name) || !validName(f.Name) {
			return fmt.Errorf("export to %s: folder file name %q is not a plain file name", dir, f.Name)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("export to %s: %w", dir, err)
	}
	for _, f := range files {
		data, err := Encode(f.Bundle)
		if err != nil {
			return fmt.Errorf("export %s: %w", f.Name, err)
		}
		if err := writeFileAtomic(filepath.Join(dir, f.Name), data); err != nil {
			return fmt.Errorf("export %s: %w", f.Name, err)
		}
	}
	return nil
}

func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
