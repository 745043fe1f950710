package jobnet

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestEncodeRoundTrip(t *testing.T) {
	b := loadExamples(t)
	out, err := Encode(b)
	require.NoError(t, err)
	again, err := ParseFile("encoded.yaml", out)
	require.NoError(t, err)
	require.Equal(t, b.Normalized(), again)
	require.Equal(t, b.Normalized(), again.Normalized())

	out2, err := Encode(again)
	require.NoError(t, err)
	require.Equal(t, string(out), string(out2), "encode must be byte-stable")
	if testing.Verbose() {
		t.Logf("\n%s", out)
	}
}

func TestWriteDirAndLoadBack(t *testing.T) {
	b, err := Load(true, examplesDir) // with examples/cloud, for the connections
	require.NoError(t, err)
	dir := t.TempDir()
	require.NoError(t, WriteDir(dir, b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	require.Equal(t, []string{"accounting.yaml", "calendars.yaml", "connections.yaml", "hr.yaml", "pools.yaml", "sales.yaml"}, names)

	back, err := LoadPath(dir)
	require.NoError(t, err)
	require.Equal(t, b.Normalized(), back.Normalized())

	// apply → export → apply is a no-op: exporting what was loaded writes the same bytes.
	dir2 := t.TempDir()
	require.NoError(t, WriteDir(dir2, back))
	for _, n := range names {
		x, err := os.ReadFile(filepath.Join(dir, n))
		require.NoError(t, err)
		y, err := os.ReadFile(filepath.Join(dir2, n))
		require.NoError(t, err)
		require.Equal(t, string(x), string(y), n)
	}
}
