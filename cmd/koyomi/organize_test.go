package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/store"
)

const waiterYAML = `kind: Jobnet
name: waiter
folder: hr
units:
  - {name: w, kind: wait, wait: {jobnet: sales/nightly}}
`

// organizeSteps runs the jobnet and folder commands through cli, on the
// examples plus hr/waiter, which waits on sales/nightly.
func organizeSteps(t *testing.T, cli func(args ...string) (string, error)) {
	t.Helper()
	out, err := cli("jobnet", "dependents", "sales/nightly")
	require.NoError(t, err)
	require.Contains(t, out, "jobnet hr/waiter units[w].wait")
	_, err = cli("jobnet", "rename", "sales/nightly", "nightly2")
	require.ErrorIs(t, err, fault.ErrConflict)
	require.Contains(t, err.Error(), "hr/waiter")
	_, err = cli("jobnet", "delete", "sales/nightly")
	require.ErrorIs(t, err, fault.ErrConflict)

	out, err = cli("jobnet", "copy", "sales/nightly", "sales/nightly-b")
	require.NoError(t, err, out)
	out, err = cli("jobnet", "rename", "sales/nightly-b", "nightly-c")
	require.NoError(t, err, out)
	require.Contains(t, out, "sales/nightly-b is now sales/nightly-c (version 2")
	out, err = cli("jobnet", "move", "sales/nightly-c", "hr")
	require.NoError(t, err, out)
	require.Contains(t, out, "is now hr/nightly-c (version 3")
	out, err = cli("jobnet", "delete", "hr/nightly-c")
	require.NoError(t, err, out)
	_, err = cli("jobnet", "dependents", "hr/nightly-c")
	require.NoError(t, err, "a deleted jobnet names nothing and is named by nothing")

	out, err = cli("folder", "copy", "sales", "shop")
	require.NoError(t, err, out)
	require.Contains(t, out, "with 1 jobnet(s)") // nightly (the cloud examples are not applied)
	out, err = cli("folder", "rename", "shop", "store2")
	require.NoError(t, err, out)
	_, err = cli("folder", "delete", "store2")
	require.ErrorIs(t, err, fault.ErrConflict)
	require.Contains(t, err.Error(), "nightly")
	for _, j := range []string{"store2/nightly"} {
		_, err = cli("jobnet", "delete", j)
		require.NoError(t, err)
	}
	out, err = cli("folder", "delete", "store2")
	require.NoError(t, err, out)
	_, err = cli("folder", "rename", "store2", "x")
	require.ErrorIs(t, err, fault.ErrNotFound)
}

func TestJobnetAndFolderCommands(t *testing.T) {
	dir := dbDir(t)
	cli := func(args ...string) (string, error) {
		out, _, err := koyomi(t, dir, args...)
		return out, err
	}
	_, err := cli("apply", "-f", "../../examples")
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "waiter.yaml")
	require.NoError(t, os.WriteFile(f, []byte(waiterYAML), 0o600))
	_, err = cli("apply", "-f", f)
	require.NoError(t, err)
	organizeSteps(t, cli)

	_, err = cli("jobnet", "rename", "sales/nightly", "a/b")
	require.ErrorIs(t, err, errUsage)
	_, err = cli("jobnet", "frob", "sales/nightly")
	require.ErrorIs(t, err, errUsage)
	_, err = cli("jobnet", "delete")
	require.ErrorIs(t, err, errUsage)
	_, err = cli("folder", "delete", "a", "b")
	require.ErrorIs(t, err, errUsage)
}

func TestJobnetAndFolderCommandsThroughTheServer(t *testing.T) {
	ctx := context.Background()
	srv := newAPIServer(t, nil)
	st := srv.st
	cli := func(args ...string) (string, error) {
		var out, errb bytes.Buffer
		args = append(args, "--server", srv.url, "--token", srv.tok)
		err := run(ctx, args, func(string) string { return "" }, strings.NewReader(""), &out, &errb)
		return out.String(), err
	}
	_, err := cli("apply", "-f", "../../examples")
	require.NoError(t, err)
	f := filepath.Join(t.TempDir(), "waiter.yaml")
	require.NoError(t, os.WriteFile(f, []byte(waiterYAML), 0o600))
	_, err = cli("apply", "-f", f)
	require.NoError(t, err)
	organizeSteps(t, cli)

	log, err := st.AuditLog(ctx, store.AuditQuery{Actor: "admin"})
	require.NoError(t, err)
	var got []string
	for _, e := range log {
		got = append(got, e.Action+" "+e.Target)
	}
	require.Subset(t, got, []string{"copy jobnet/sales/nightly-b", "move jobnet/sales/nightly-c", "move jobnet/hr/nightly-c",
		"delete jobnet/hr/nightly-c", "copy folder/shop", "move folder/store2", "delete folder/store2"})
}
