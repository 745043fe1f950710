package main

import (
	"os"
	"path/filepath"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestHostID(t *testing.T) {
	dir := t.TempDir()
	ids := make([]string, 8)
	var wg sync.WaitGroup
	for i := range ids {
		wg.Go(func() {
			id, err := hostID(dir)
			require.NoError(t, err)
			ids[i] = id
		})
	}
	wg.Wait()
	for _, id := range ids {
		require.Equal(t, ids[0], id, "concurrent first starts agree on one id")
	}
	require.Len(t, ids[0], 32)
	again, err := hostID(dir)
	require.NoError(t, err)
	require.Equal(t, ids[0], again, "the id stays with the data directory")
	other, err := hostID(t.TempDir())
	require.NoError(t, err)
	require.NotEqual(t, ids[0], other, "another data directory is another host")

	require.NoError(t, os.WriteFile(filepath.Join(dir, hostIDFile), []byte("\n"), 0o600))
	_, err = hostID(dir)
	require.ErrorContains(t, err, "is empty")
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 1, "no temporary files left behind")
}
