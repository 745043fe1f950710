package web_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// TestOrganizeJobnetsAndFolders: from the jobnet page a designer copies,
// renames and deletes jobnets; a jobnet another one waits on lists that
// dependent and cannot be renamed or deleted; a folder is renamed with its
// jobnets, which keep their runs.
func TestOrganizeJobnetsAndFolders(t *testing.T) {
	srv, ctx := editorTab(t, 1366, 768)
	id := browser.TestID
	b, err := jobnet.ParseFile("waiter.yaml", []byte(`kind: Jobnet
name: waiter
folder: sales
units:
  - {name: w, kind: wait, wait: {jobnet: edits}}
`))
	require.NoError(t, err)
	_, err = srv.Ops.Apply(t.Context(), srv.Admin(t), b, false)
	require.NoError(t, err)
	ran, err := srv.Ops.RunNow(t.Context(), srv.Admin(t), ops.RunNowRequest{Jobnet: "sales/waiter"})
	require.NoError(t, err)

	// sales/edits is waited on: the page names sales/waiter and offers only a copy.
	require.NoError(t, browser.ClickNav(ctx, id("organize-link")))
	txt, err := browser.Text(ctx, id("dependents"))
	require.NoError(t, err)
	require.Contains(t, txt, "sales/waiter")
	disabled, err := browser.Eval[[]bool](ctx, `["move-submit", "delete-submit"].map(t => document.querySelector('[data-testid="' + t + '"]').disabled)`)
	require.NoError(t, err)
	require.Equal(t, []bool{true, true}, disabled)
	browser.ViewportScreenshot(t, ctx, "organize jobnet with dependents")

	require.NoError(t, browser.Fill(ctx, id("copy-name"), "edits-copy"))
	require.NoError(t, browser.ClickNav(ctx, id("copy-submit")))
	require.NoError(t, browser.WaitVisible(ctx, id("unit-far")))
	loc, err := browser.Location(ctx)
	require.NoError(t, err)
	require.Contains(t, loc, "/jobnets/sales/edits-copy")

	// Delete the copy: the confirmation must be ticked.
	require.NoError(t, browser.ClickNav(ctx, id("organize-link")))
	require.NoError(t, browser.Click(ctx, id("delete-confirm")))
	require.NoError(t, browser.ClickNav(ctx, id("delete-submit")))
	require.NoError(t, browser.WaitVisible(ctx, id("jobnets-table")))
	rows, err := browser.Eval[int](ctx, `document.querySelectorAll('[data-testid="jobnet-row-sales-edits-copy"]').length`)
	require.NoError(t, err)
	require.Zero(t, rows)
	_, err = srv.Store.JobnetByPath(t.Context(), "sales", "edits-copy", 0)
	require.ErrorIs(t, err, fault.ErrNotFound)

	// Rename sales/waiter: it keeps its run.
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/jobnets/sales/waiter/organize"))
	require.NoError(t, browser.Fill(ctx, id("move-name"), "waiter2"))
	require.NoError(t, browser.ClickNav(ctx, id("move-submit")))
	loc, err = browser.Location(ctx)
	require.NoError(t, err)
	require.Contains(t, loc, "/jobnets/sales/waiter2")
	g, err := srv.Store.Generation(t.Context(), ran.ID)
	require.NoError(t, err)
	require.Equal(t, "sales/waiter2", g.Jobnet)

	// Rename the folder sales to shop from the folder listing.
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/jobnets?folder=sales"))
	require.NoError(t, browser.ClickNav(ctx, id("folder-organize-link")))
	txt, err = browser.Text(ctx, id("folder-jobnets"))
	require.NoError(t, err)
	require.Contains(t, txt, "waiter2")
	require.NoError(t, browser.Fill(ctx, id("move-name"), "shop"))
	require.NoError(t, browser.ClickNav(ctx, id("move-submit")))
	require.NoError(t, browser.WaitVisible(ctx, id("jobnet-row-shop-waiter2")))
	require.NoError(t, browser.WaitVisible(ctx, id("jobnet-row-shop-edits")))
	g, err = srv.Store.Generation(t.Context(), ran.ID)
	require.NoError(t, err)
	require.Equal(t, "shop/waiter2", g.Jobnet)

	log, err := srv.Store.AuditLog(t.Context(), store.AuditQuery{})
	require.NoError(t, err)
	var got []string
	for _, e := range log {
		got = append(got, e.Action+" "+e.Target)
	}
	require.Subset(t, got, []string{"copy jobnet/sales/edits-copy", "delete jobnet/sales/edits-copy", "move jobnet/sales/waiter2", "move folder/shop"})
}
