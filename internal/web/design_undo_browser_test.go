package web_test

import (
	"context"
	"testing"

	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// ctrlKey presses key with Ctrl (and Shift when shift) where the keyboard is.
func ctrlKey(t *testing.T, ctx context.Context, key string, shift bool) {
	t.Helper()
	mods := []chromedp.Modifier{chromedp.ModifierCtrl}
	if shift {
		mods = append(mods, chromedp.ModifierShift)
	}
	require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent(key, chromedp.KeyModifiers(mods...))))
}

// canvasUnits returns the names of the units drawn on the canvas.
func canvasUnits(t *testing.T, ctx context.Context) []string {
	t.Helper()
	names, err := browser.Eval[[]string](ctx, `Array.from(document.querySelectorAll("#ed-units .ds-unit")).map(g => g.dataset.name).sort()`)
	require.NoError(t, err)
	return names
}

func canvasEdges(t *testing.T, ctx context.Context) []string {
	t.Helper()
	names, err := browser.Eval[[]string](ctx, `Array.from(document.querySelectorAll("#ed-edges .ds-edge")).map(g => g.dataset.testid).sort()`)
	require.NoError(t, err)
	return names
}

func unitXY(t *testing.T, ctx context.Context, name string) []float64 {
	t.Helper()
	xy, err := browser.Eval[[]float64](ctx, `(() => { const m = document.querySelector('[data-testid="unit-`+name+`"]').transform.baseVal.consolidate().matrix; return [m.e, m.f]; })()`)
	require.NoError(t, err)
	return xy
}

// TestEditorUndoRedo: Ctrl+Z undoes a unit deletion, a move, an edge added
// and a property edit, one at a time; Ctrl+Shift+Z and Ctrl+Y and the
// buttons redo and undo; Ctrl+Z in a text field is the field's own undo.
func TestEditorUndoRedo(t *testing.T) {
	srv, ctx := editorTab(t, 1366, 768)
	id := browser.TestID
	allUnits := []string{"check", "far", "job1", "job2", "job3"}
	allEdges := []string{"edge-check-far", "edge-job1-check", "edge-job1-job2", "edge-job2-job3"}

	// Delete job3 with its edge.
	clickUnit(t, ctx, "job3")
	typeKeys(t, ctx, "\x7f")
	require.Equal(t, []string{"check", "far", "job1", "job2"}, canvasUnits(t, ctx))

	// Move job1 down.
	start := unitXY(t, ctx, "job1")
	x, y, err := browser.Center(ctx, id("unit-job1"))
	require.NoError(t, err)
	require.NoError(t, browser.Drag(ctx, x, y, x, y+100))
	moved := unitXY(t, ctx, "job1")
	require.NotEqual(t, start, moved)

	// Connect job2 → far.
	hx, hy, err := browser.Center(ctx, id("handle-job2"))
	require.NoError(t, err)
	tx, ty, err := browser.Center(ctx, id("unit-far"))
	require.NoError(t, err)
	require.NoError(t, browser.Drag(ctx, hx, hy, tx, ty))
	require.Contains(t, canvasEdges(t, ctx), "edge-job2-far")
	typeKeys(t, ctx, "\x1b")

	// A property edit; Ctrl+Z in the field undoes the typing there only.
	clickUnit(t, ctx, "job2")
	propsOf(t, ctx, "job2")
	typeInto(t, ctx, "description", "second")
	ctrlKey(t, ctx, "z", false)
	v, err := browser.Eval[string](ctx, `document.querySelector('[data-testid="prop-description"]').value`)
	require.NoError(t, err)
	require.Equal(t, "", v, "the field's own undo")
	require.Contains(t, canvasEdges(t, ctx), "edge-job2-far", "Ctrl+Z in a field leaves the drawing alone")
	typeKeys(t, ctx, "step two\t")
	require.NoError(t, browser.WaitVisible(ctx, `[data-testid="props-form"][data-applied]`))

	// Back on the canvas: undo one step at a time.
	clickUnit(t, ctx, "job2")
	ctrlKey(t, ctx, "z", false)
	propsOf(t, ctx, "job2")
	require.NoError(t, browser.WaitVisible(ctx, `[data-testid="prop-description"]`))
	v, err = browser.Eval[string](ctx, `document.querySelector('[data-testid="prop-description"]').value`)
	require.NoError(t, err)
	require.Equal(t, "", v, "the property edit undone, and the panel shows it")

	ctrlKey(t, ctx, "z", false)
	require.NotContains(t, canvasEdges(t, ctx), "edge-job2-far", "the edge undone")
	ctrlKey(t, ctx, "z", false)
	require.Equal(t, start, unitXY(t, ctx, "job1"), "the move undone")
	ctrlKey(t, ctx, "z", false)
	require.Equal(t, allUnits, canvasUnits(t, ctx), "the deletion undone")
	require.Equal(t, allEdges, canvasEdges(t, ctx))

	// Redo with both shortcuts, undo and redo with the buttons.
	ctrlKey(t, ctx, "z", true)
	require.Equal(t, []string{"check", "far", "job1", "job2"}, canvasUnits(t, ctx))
	ctrlKey(t, ctx, "y", false)
	require.Equal(t, moved, unitXY(t, ctx, "job1"))
	require.NoError(t, browser.Click(ctx, id("undo")))
	require.Equal(t, start, unitXY(t, ctx, "job1"))
	require.NoError(t, browser.Click(ctx, id("redo")))
	require.Equal(t, moved, unitXY(t, ctx, "job1"))

	txt := saveAndWait(t, ctx)
	require.Contains(t, txt, "Saved as version 2")
	jv, err := srv.Store.JobnetByPath(t.Context(), "sales", "edits", 0)
	require.NoError(t, err)
	_, err = jobnet.FindUnit(&jv.Jobnet.Net, "job3")
	require.Error(t, err, "job3 stays deleted")
	u1, err := jobnet.FindUnit(&jv.Jobnet.Net, "job1")
	require.NoError(t, err)
	require.Equal(t, 160, u1.Position.Y)
	u2, err := jobnet.FindUnit(&jv.Jobnet.Net, "job2")
	require.NoError(t, err)
	require.Empty(t, u2.Description)
	require.Len(t, jv.Jobnet.Edges, 3, "job2 → far undone, job2 → job3 deleted")
}

// TestEditorCopyPaste: Ctrl+C copies the selected units with the edges
// between them; Ctrl+V pastes them with fresh names, offset, selected;
// pasting again offsets further. A copy pastes into another net too.
func TestEditorCopyPaste(t *testing.T) {
	srv, ctx := editorTab(t, 1366, 768)

	clickUnit(t, ctx, "job1")
	x, y, err := browser.Center(ctx, browser.TestID("unit-job2"))
	require.NoError(t, err)
	require.NoError(t, chromedp.Do(ctx, chromedp.MouseClickXY(x, y, chromedp.ButtonModifiers(chromedp.ModifierShift))))
	ctrlKey(t, ctx, "c", false)
	ctrlKey(t, ctx, "v", false)
	require.Equal(t, []string{"check", "far", "job1", "job2", "job3", "job4", "job5"}, canvasUnits(t, ctx))
	require.Contains(t, canvasEdges(t, ctx), "edge-job4-job5")
	sel, err := browser.Eval[[]string](ctx, `Array.from(document.querySelectorAll("#ed-units .ds-unit.sel")).map(g => g.dataset.name).sort()`)
	require.NoError(t, err)
	require.Equal(t, []string{"job4", "job5"}, sel)
	ctrlKey(t, ctx, "v", false)
	require.Contains(t, canvasEdges(t, ctx), "edge-job6-job7")

	// Undo takes the second paste back.
	ctrlKey(t, ctx, "z", false)
	require.NotContains(t, canvasUnits(t, ctx), "job6")

	txt := saveAndWait(t, ctx)
	require.Contains(t, txt, "Saved as version 2")
	jv, err := srv.Store.JobnetByPath(t.Context(), "sales", "edits", 0)
	require.NoError(t, err)
	j4, err := jobnet.FindUnit(&jv.Jobnet.Net, "job4")
	require.NoError(t, err)
	require.Equal(t, "echo 1", j4.Job.Local.Command)
	require.Equal(t, jobnet.Position{X: 80, Y: 100}, *j4.Position)
	j5, err := jobnet.FindUnit(&jv.Jobnet.Net, "job5")
	require.NoError(t, err)
	require.Equal(t, jobnet.Position{X: 300, Y: 100}, *j5.Position)
	require.Contains(t, jv.Jobnet.Edges, jobnet.Edge{From: "job4", To: "job5"})
	require.NotContains(t, jv.Jobnet.Edges, jobnet.Edge{From: "job2", To: "job4"}, "only the edges between the copied units")
}
