package web_test

import (
	"fmt"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// TestDesignBrowser draws a jobnet with real mouse events: three jobs from
// the palette, two edges, a command in the properties panel; saves it, sees
// it again after a reload, compares versions, and draws a cycle that the
// server refuses.
func TestDesignBrowser(t *testing.T) {
	b := browser.Start(t)
	srv := browser.ServerForTest(t, store.DialectSQLite)
	cal, err := jobnet.ParseFile("cal.yaml", []byte(designCalendar))
	require.NoError(t, err)
	_, err = srv.Ops.Apply(t.Context(), srv.Admin(t), cal, false)
	require.NoError(t, err)
	ctx := b.NewTab(t)
	id := browser.TestID
	require.NoError(t, browser.Login(ctx, srv.URL, browser.AdminUser, browser.AdminPassword))

	// A folder, then a jobnet in it.
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/jobnets"))
	require.NoError(t, browser.WaitVisible(ctx, id("jobnets-empty")))
	browser.Screenshot(t, ctx, "design jobnets empty")
	require.NoError(t, browser.Fill(ctx, id("new-folder-name"), "sales"))
	require.NoError(t, browser.SetValue(ctx, id("new-folder-calendar"), "company"))
	require.NoError(t, browser.ClickNav(ctx, id("new-folder-submit")))
	require.NoError(t, browser.WaitVisible(ctx, id("tree-folder-sales")))
	require.NoError(t, browser.Fill(ctx, id("new-jobnet-name"), "nightly"))
	require.NoError(t, browser.ClickNav(ctx, id("new-jobnet-submit")))
	require.NoError(t, browser.WaitVisible(ctx, id("canvas")))

	// Three jobs dragged from the palette onto the canvas.
	box, err := browser.Eval[[]float64](ctx, `(() => { const r = document.getElementById("ed-canvas").getBoundingClientRect(); return [r.left, r.top]; })()`)
	require.NoError(t, err)
	px, py, err := browser.Center(ctx, id("palette-job"))
	require.NoError(t, err)
	for i, x := range []float64{120, 340, 560} {
		require.NoError(t, browser.Drag(ctx, px, py, box[0]+x, box[1]+140+float64(i%2)*60))
		require.NoError(t, browser.WaitVisible(ctx, id(fmt.Sprintf("unit-job%d", i+1))))
	}

	// Two edges: job1 → job2 → job3, from the connector handle to the unit.
	connect := func(from, to string) {
		t.Helper()
		hx, hy, err := browser.Center(ctx, id("handle-"+from))
		require.NoError(t, err)
		tx, ty, err := browser.Center(ctx, id("unit-"+to))
		require.NoError(t, err)
		require.NoError(t, browser.Drag(ctx, hx, hy, tx, ty))
		require.NoError(t, browser.WaitVisible(ctx, id("edge-"+from+"-"+to)))
	}
	connect("job1", "job2")
	require.NoError(t, browser.WaitVisible(ctx, id("edge-popup")))
	require.NoError(t, browser.Click(ctx, id("edge-kind-normal")))
	connect("job2", "job3")

	// A command for each job, typed into the properties panel.
	for i := 1; i <= 3; i++ {
		name := fmt.Sprintf("job%d", i)
		ux, uy, err := browser.Center(ctx, id("unit-"+name))
		require.NoError(t, err)
		require.NoError(t, browser.Drag(ctx, ux, uy, ux, uy)) // a click: press and release in place
		require.NoError(t, browser.WaitVisible(ctx, fmt.Sprintf(`%s[data-unit-path=%q]`, id("props-form"), name)))
		// An empty textarea has no text node for Fill to clear: type into it.
		require.NoError(t, chromedp.Do(ctx, chromedp.SendKeys(chromedp.CSS(id("prop-local.command")), "echo step "+name, chromedp.NodeVisible)))
		require.NoError(t, browser.Click(ctx, ".ds-props-head"))
		require.NoError(t, browser.WaitVisible(ctx, fmt.Sprintf(`%s[data-unit-path=%q][data-applied]`, id("props-form"), name)))
	}
	require.NoError(t, browser.Click(ctx, id("save")))
	require.NoError(t, browser.WaitVisible(ctx, id("save-result")))
	txt, err := browser.Text(ctx, id("save-result"))
	require.NoError(t, err)
	require.Contains(t, txt, "version 2")
	browser.Screenshot(t, ctx, "design editor drawn jobnet")

	jv, err := srv.Store.JobnetByPath(t.Context(), "sales", "nightly", 0)
	require.NoError(t, err)
	require.Equal(t, 2, jv.Version)
	require.Len(t, jv.Jobnet.Units, 3)
	require.Equal(t, "echo step job2", jv.Jobnet.Units[1].Job.Local.Command)

	// After a reload the canvas shows the three units and two edges.
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/jobnets/sales/nightly"))
	require.NoError(t, browser.WaitVisible(ctx, id("unit-job3")))
	counts, err := browser.Eval[[]int](ctx, `[document.querySelectorAll("#ed-units .ds-unit").length, document.querySelectorAll("#ed-edges .ds-edge").length]`)
	require.NoError(t, err)
	require.Equal(t, []int{3, 2}, counts)

	// The versions page compares version 1 and 2.
	require.NoError(t, browser.ClickNav(ctx, id("versions-link")))
	require.NoError(t, browser.ClickNav(ctx, id("compare")))
	require.NoError(t, browser.WaitVisible(ctx, id("diff-line")))
	browser.Screenshot(t, ctx, "design versions diff")

	// A cycle job3 → job1 is refused, with the units outlined.
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/jobnets/sales/nightly"))
	require.NoError(t, browser.WaitVisible(ctx, id("unit-job3")))
	connect("job3", "job1")
	require.NoError(t, browser.Click(ctx, id("save")))
	require.NoError(t, browser.WaitVisible(ctx, id("problems")))
	txt, err = browser.Text(ctx, id("problems"))
	require.NoError(t, err)
	require.Contains(t, txt, "cycle: job1 → job2 → job3 → job1")
	cls, err := browser.Eval[string](ctx, `document.querySelector('[data-testid="unit-job1"]').getAttribute("class")`)
	require.NoError(t, err)
	require.Contains(t, cls, "bad")
	browser.Screenshot(t, ctx, "design validation error")
	jv, err = srv.Store.JobnetByPath(t.Context(), "sales", "nightly", 0)
	require.NoError(t, err)
	require.Equal(t, 2, jv.Version)
}
