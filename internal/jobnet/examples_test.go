package jobnet

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

const examplesDir = "../../examples"

func loadExamples(t *testing.T) *Bundle {
	t.Helper()
	b, err := LoadPath(examplesDir)
	require.NoError(t, err)
	return b
}

func TestExamplesValidate(t *testing.T) {
	b := loadExamples(t)
	require.Len(t, b.Calendars, 1)
	require.Len(t, b.Pools, 2)
	require.Len(t, b.Folders, 3)
	var paths []string
	for _, j := range b.Jobnets {
		paths = append(paths, j.Path())
	}
	require.Subset(t, paths, []string{"sales/nightly", "accounting/month-end-close", "hr/payday-transfer", "hr/payroll-calc"})
	require.Empty(t, Validate(b, Known{}))
}

func TestExampleCommandsRunUnderSh(t *testing.T) {
	// Every local command must at least parse as /bin/sh script.
	b := loadExamples(t)
	for _, j := range b.Jobnets {
		Walk(&j.Net, func(p string, u *Unit) {
			if u.Job == nil || u.Job.Local == nil {
				return
			}
			f := filepath.Join(t.TempDir(), "cmd.sh")
			require.NoError(t, os.WriteFile(f, []byte(u.Job.Local.Command), 0o600))
			out, err := runSh(t, "-n", f)
			require.NoError(t, err, "%s %s: %s", j.Path(), p, out)
		})
	}
}

// The examples directory holds only what runs on this machine; the ECS and
// EKS examples live under examples/cloud, read by LoadPath only when named.
func TestExamplesDirectoryIsLocalOnly(t *testing.T) {
	b := loadExamples(t)
	require.Empty(t, b.Connections)
	for _, j := range b.Jobnets {
		Walk(&j.Net, func(p string, u *Unit) {
			if u.Job != nil {
				require.Contains(t, []JobType{JobLocal, JobNoop}, u.Job.Type, "%s %s", j.Path(), p)
			}
		})
	}
	all, err := Load(true, examplesDir)
	require.NoError(t, err)
	require.Len(t, all.Connections, 2, "recursive reads examples/cloud too")
	require.Empty(t, Validate(all, Known{}))
}
