package main

import (
	"os"
	"path/filepath"
	"regexp"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestVersionShowsInstallation: the installation id appears once the
// database exists, stays the same across runs, differs between databases,
// and `version` never creates a database.
func TestVersionShowsInstallation(t *testing.T) {
	dir := t.TempDir()
	out, _, err := koyomi(t, dir, "version")
	require.NoError(t, err)
	require.Contains(t, out, "installation: none yet")
	_, err = os.Stat(filepath.Join(dir, "koyomi.db"))
	require.True(t, os.IsNotExist(err), "version created no database")

	_, _, err = koyomi(t, dir, "migrate", "up")
	require.NoError(t, err)
	_, _, err = koyomi(t, dir, "apply", "-f", "../../examples/calendars.yaml")
	require.NoError(t, err)
	re := regexp.MustCompile(`(?m)^installation ([0-9a-f]{12})$`)
	out, _, err = koyomi(t, dir, "version")
	require.NoError(t, err)
	m := re.FindStringSubmatch(out)
	require.NotNil(t, m, "output %q", out)
	out, _, err = koyomi(t, dir, "version")
	require.NoError(t, err)
	require.Equal(t, m[1], re.FindStringSubmatch(out)[1], "created once")

	other := dbDir(t)
	_, _, err = koyomi(t, other, "apply", "-f", "../../examples/calendars.yaml")
	require.NoError(t, err)
	out, _, err = koyomi(t, other, "version")
	require.NoError(t, err)
	require.NotEqual(t, m[1], re.FindStringSubmatch(out)[1], "another database, another installation")
}
