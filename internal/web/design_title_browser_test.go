package web_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// TestJapaneseNames: a jobnet created as 給与計算 and a unit named 集計 in
// the properties panel get safe identifiers and keep what was typed as
// their display names, which the editor, the canvas and the jobnet list
// show; the identifier can be edited.
func TestJapaneseNames(t *testing.T) {
	srv, ctx := editorTab(t, 1366, 768)
	id := browser.TestID
	safe := jobnet.SafeName("給与計算")

	require.NoError(t, browser.Navigate(ctx, srv.URL+"/jobnets?folder=sales"))
	require.NoError(t, browser.Fill(ctx, id("new-jobnet-name"), "給与計算"))
	require.NoError(t, browser.ClickNav(ctx, id("new-jobnet-submit")))
	require.NoError(t, browser.WaitVisible(ctx, id("canvas")))
	loc, err := browser.Location(ctx)
	require.NoError(t, err)
	require.Contains(t, loc, "/jobnets/sales/"+safe)
	title, err := browser.Text(ctx, id("jobnet-title"))
	require.NoError(t, err)
	require.Equal(t, "給与計算", title)

	// A job named 集計 in the properties panel.
	box, err := browser.Eval[[]float64](ctx, `(() => { const r = document.getElementById("ed-canvas").getBoundingClientRect(); return [r.left, r.top]; })()`)
	require.NoError(t, err)
	px, py, err := browser.Center(ctx, id("palette-job"))
	require.NoError(t, err)
	require.NoError(t, browser.Drag(ctx, px, py, box[0]+200, box[1]+140))
	propsOf(t, ctx, "job1")
	typeInto(t, ctx, "name", "集計")
	typeKeys(t, ctx, "\t")
	sum := jobnet.SafeName("集計")
	require.NoError(t, browser.WaitVisible(ctx, id("unit-"+sum)))
	label, err := svgText(ctx, "unit-label-"+sum)
	require.NoError(t, err)
	require.Equal(t, "集計", label)
	propsOf(t, ctx, sum)
	v, err := browser.Eval[[]string](ctx, `["title", "name"].map(k => document.querySelector('[data-testid="prop-' + k + '"]').value)`)
	require.NoError(t, err)
	require.Equal(t, []string{"集計", sum}, v)

	// The identifier edited: the display name stays.
	typeInto(t, ctx, "name", "sum")
	typeKeys(t, ctx, "\t")
	require.NoError(t, browser.WaitVisible(ctx, id("unit-sum")))
	label, err = svgText(ctx, "unit-label-sum")
	require.NoError(t, err)
	require.Equal(t, "集計", label)
	clickUnit(t, ctx, "sum")
	typeInto(t, ctx, "local.command", "echo sum")
	require.Contains(t, saveAndWait(t, ctx), "Saved as version 2")

	jv, err := srv.Store.JobnetByPath(t.Context(), "sales", safe, 0)
	require.NoError(t, err)
	require.Equal(t, "給与計算", jv.Jobnet.Title)
	require.Equal(t, "sum", jv.Jobnet.Units[0].Name)
	require.Equal(t, "集計", jv.Jobnet.Units[0].Title)

	require.NoError(t, browser.Navigate(ctx, srv.URL+"/jobnets?folder=sales"))
	row, err := browser.Text(ctx, id("jobnet-row-sales-"+safe))
	require.NoError(t, err)
	require.Contains(t, row, "給与計算")
	browser.ViewportScreenshot(t, ctx, "jobnets with a Japanese name")

	// Today and the run page show the display name.
	g, err := srv.Ops.RunNow(t.Context(), srv.Admin(t), ops.RunNowRequest{Jobnet: "sales/" + safe})
	require.NoError(t, err)
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/?date="+g.BusinessDate.String()))
	row, err = browser.Text(ctx, fmt.Sprintf(`[data-run=%q]`, g.ID))
	require.NoError(t, err)
	require.Contains(t, row, "給与計算")
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/runs/"+g.ID))
	head, err := browser.Text(ctx, id("run-title"))
	require.NoError(t, err)
	require.Contains(t, head, "給与計算")
}

// svgText is the text of an SVG element (which has no innerText).
func svgText(ctx context.Context, testID string) (string, error) {
	return browser.Eval[string](ctx, `document.querySelector('[data-testid="`+testID+`"]').textContent`)
}
