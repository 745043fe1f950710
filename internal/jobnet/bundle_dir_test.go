package jobnet

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// A directory that yields no definition file is an error naming it (and -R
// when only its subdirectories hold files), not an empty success.
func TestLoadOfADirectoryWithoutDefinitions(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(false, dir)
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.ErrorContains(t, err, dir+" holds no *.yaml or *.yml file")

	sub := filepath.Join(dir, "cloud")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(sub, "p.yaml"), []byte("kind: Pool\nname: p\nslots: 1\n"), 0o644))
	_, err = Load(false, dir)
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.ErrorContains(t, err, "its subdirectories are read with -R")
	b, err := Load(true, dir)
	require.NoError(t, err)
	require.Len(t, b.Pools, 1)
}
