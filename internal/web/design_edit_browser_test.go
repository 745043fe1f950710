package web_test

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/fetch"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/cdproto/runtime"
	"github.com/chromedp/chromedp"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// editsJobnet is the jobnet the editing tests start from: three jobs in a
// row, a judgment after job1 and a job "far" near the canvas's right edge.
const editsJobnet = designCalendar + `---
kind: Folder
name: sales
calendar: company
---
kind: Jobnet
name: edits
folder: sales
units:
  - {name: job1, kind: job, position: {x: 40, y: 60}, job: {type: local, local: {command: echo 1}}}
  - {name: job2, kind: job, position: {x: 260, y: 60}, job: {type: local, local: {command: echo 2}}}
  - {name: job3, kind: job, position: {x: 480, y: 60}, job: {type: local, local: {command: echo 3}}}
  - {name: check, kind: judgment, position: {x: 260, y: 220}, judgment: {kind: exit_code, op: eq, value: "0"}}
  - {name: far, kind: job, position: {x: 680, y: 320}, job: {type: local, local: {command: echo far}}}
edges:
  - {from: job1, to: job2}
  - {from: job2, to: job3}
  - {from: job1, to: check}
  - {from: check, to: far, kind: "true"}
`

// editorTab opens sales/edits in the editor at the given viewport size.
func editorTab(t *testing.T, w, h int64) (*browser.Server, context.Context) {
	t.Helper()
	b := browser.Start(t)
	srv := browser.ServerForTest(t, store.DialectSQLite)
	bundle, err := jobnet.ParseFile("edits.yaml", []byte(editsJobnet))
	require.NoError(t, err)
	_, err = srv.Ops.Apply(t.Context(), srv.Admin(t), bundle, false)
	require.NoError(t, err)
	ctx := b.NewTab(t)
	var mu sync.Mutex
	var thrown []string
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if e, ok := ev.(*runtime.EventExceptionThrown); ok {
			mu.Lock()
			d := e.ExceptionDetails
			msg := fmt.Sprintf("%s %s:%d:%d", d.Text, d.URL, d.LineNumber+1, d.ColumnNumber+1)
			if d.Exception != nil {
				msg += " " + d.Exception.Description
			}
			thrown = append(thrown, msg)
			mu.Unlock()
		}
	}))
	t.Cleanup(func() {
		mu.Lock()
		defer mu.Unlock()
		require.Empty(t, thrown, "JavaScript exceptions")
	})
	require.NoError(t, browser.Viewport(ctx, w, h))
	require.NoError(t, browser.Login(ctx, srv.URL, browser.AdminUser, browser.AdminPassword))
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/jobnets/sales/edits"))
	require.NoError(t, browser.WaitVisible(ctx, browser.TestID("unit-far")))
	return srv, ctx
}

// clickUnit presses and releases the mouse on a unit of the canvas, as a
// user does (the canvas handles mousedown itself).
func clickUnit(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	x, y, err := browser.Center(ctx, browser.TestID("unit-"+name))
	require.NoError(t, err)
	require.NoError(t, browser.Drag(ctx, x, y, x, y))
}

// propsOf waits until the properties panel shows the unit.
func propsOf(t *testing.T, ctx context.Context, name string) {
	t.Helper()
	require.NoError(t, browser.WaitVisible(ctx, fmt.Sprintf(`%s[data-unit-path=%q]`, browser.TestID("props-form"), name)))
}

// typeKeys types into the focused element with real key events.
func typeKeys(t *testing.T, ctx context.Context, keys string) {
	t.Helper()
	require.NoError(t, chromedp.Do(ctx, chromedp.KeyEvent(keys)))
}

// typeInto focuses a properties field, empties it and types text without
// leaving the field.
func typeInto(t *testing.T, ctx context.Context, field, text string) {
	t.Helper()
	sel := browser.TestID("prop-" + field)
	require.NoError(t, chromedp.Do(ctx, chromedp.Focus(chromedp.CSS(sel), chromedp.NodeVisible)))
	_, err := browser.Eval[bool](ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%q); e.select(); return true; })()`, sel))
	require.NoError(t, err)
	typeKeys(t, ctx, text)
}

func storedUnit(t *testing.T, srv *browser.Server, name string) (int, *jobnet.Unit) {
	t.Helper()
	jv, err := srv.Store.JobnetByPath(t.Context(), "sales", "edits", 0)
	require.NoError(t, err)
	u, err := jobnet.FindUnit(&jv.Jobnet.Net, name)
	require.NoError(t, err)
	return jv.Version, u
}

func saveAndWait(t *testing.T, ctx context.Context) string {
	t.Helper()
	require.NoError(t, browser.Click(ctx, browser.TestID("save")))
	require.NoError(t, browser.WaitVisible(ctx, browser.TestID("save-result")+","+browser.TestID("problems")))
	txt, err := browser.Text(ctx, browser.TestID("problems-box"))
	require.NoError(t, err)
	return txt
}

// TestEditorKeepsEveryEdit: a command typed into the properties panel and
// left by clicking another unit, and one typed right before Save, both reach
// the saved version; "Unsaved changes" shows while typing and stays until
// the edit is saved; leaving the page with an edit asks first.
func TestEditorKeepsEveryEdit(t *testing.T) {
	srv, ctx := editorTab(t, 1366, 768)
	id := browser.TestID

	clickUnit(t, ctx, "job1")
	propsOf(t, ctx, "job1")
	typeInto(t, ctx, "local.command", "echo one")
	shown, err := browser.Eval[bool](ctx, `!document.querySelector('[data-testid="dirty"]').hidden`)
	require.NoError(t, err)
	require.True(t, shown, "typing marks the jobnet unsaved")

	clickUnit(t, ctx, "job2")
	propsOf(t, ctx, "job2")
	typeInto(t, ctx, "local.command", "echo two")
	txt := saveAndWait(t, ctx)
	require.Contains(t, txt, "Saved as version 2")

	v, u1 := storedUnit(t, srv, "job1")
	require.Equal(t, 2, v)
	require.Equal(t, "echo one", u1.Job.Local.Command, "the edit left by clicking another unit")
	_, u2 := storedUnit(t, srv, "job2")
	require.Equal(t, "echo two", u2.Job.Local.Command, "the edit saved without leaving the field")
	hidden, err := browser.Eval[bool](ctx, `document.querySelector('[data-testid="dirty"]').hidden`)
	require.NoError(t, err)
	require.True(t, hidden)

	// An edit not saved yet: leaving asks first.
	typeInto(t, ctx, "description", "not saved")
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	require.NoError(t, browser.ClickNav(ctx, id("versions-link")))
	kind := ""
	for ev, err := range dialogs {
		require.NoError(t, err)
		kind = string(ev.Type)
		break
	}
	require.Equal(t, "beforeunload", kind)
}

// TestEditorDragSelectsUnit: dragging a unit that is not selected selects it
// on the canvas and shows it in the properties panel.
func TestEditorDragSelectsUnit(t *testing.T) {
	_, ctx := editorTab(t, 1366, 768)
	clickUnit(t, ctx, "job1")
	propsOf(t, ctx, "job1")
	x, y, err := browser.Center(ctx, browser.TestID("unit-job3"))
	require.NoError(t, err)
	require.NoError(t, browser.Drag(ctx, x, y, x+40, y+120))
	propsOf(t, ctx, "job3")
	sel, err := browser.Eval[[]string](ctx, `Array.from(document.querySelectorAll("#ed-units .ds-unit.sel")).map(g => g.dataset.name)`)
	require.NoError(t, err)
	require.Equal(t, []string{"job3"}, sel)
}

// holdRequests pauses the browser's requests whose URL matches the pattern
// until release is called; release lets them go on, and every later one at
// once, and returns how many it held.
func holdRequests(t *testing.T, ctx context.Context, pattern string) (release func() int) {
	t.Helper()
	var mu sync.Mutex
	var held []fetch.RequestID
	released := false
	cont := func(r fetch.RequestID) error {
		_, err := chromedp.Call(ctx, fetch.ContinueRequest, fetch.ContinueRequestParams{RequestID: r})
		return err
	}
	require.NoError(t, chromedp.Listen(ctx, func(ev any) {
		if p, ok := ev.(*fetch.EventRequestPaused); ok {
			mu.Lock()
			defer mu.Unlock()
			if released {
				go func() { _ = cont(p.RequestID) }()
				return
			}
			held = append(held, p.RequestID)
		}
	}))
	_, err := chromedp.Call(ctx, fetch.Enable, fetch.EnableParams{Patterns: []*fetch.RequestPattern{{URLPattern: pattern}}})
	require.NoError(t, err)
	return func() int {
		mu.Lock()
		released = true
		ids := held
		mu.Unlock()
		for _, r := range ids {
			require.NoError(t, cont(r))
		}
		return len(ids)
	}
}

// TestEditorFocus: the panel reloading after a field changed keeps the
// keyboard in the form (Backspace edits the field and never deletes the
// unit); typing while the next unit's panel is on its way goes into neither
// unit; Escape closes the edge popup.
func TestEditorFocus(t *testing.T) {
	srv, ctx := editorTab(t, 1366, 768)
	id := browser.TestID

	clickUnit(t, ctx, "job1")
	propsOf(t, ctx, "job1")
	typeInto(t, ctx, "retry.count", "3")
	typeKeys(t, ctx, "\t5m")
	require.NoError(t, browser.WaitVisible(ctx, `[data-testid="props-form"][data-applied]`))
	typeKeys(t, ctx, "x\b")
	active, err := browser.Eval[[]string](ctx, `[document.activeElement.id, document.activeElement.value]`)
	require.NoError(t, err)
	require.Equal(t, []string{"pf-retry.interval", "5m"}, active)
	typeKeys(t, ctx, "\b\b")
	require.NoError(t, browser.WaitVisible(ctx, id("unit-job1")))
	typeKeys(t, ctx, "2m\t")

	// Typing while job2's panel is on its way.
	typeInto(t, ctx, "local.command", "echo a")
	release := holdRequests(t, ctx, "*/unit")
	clickUnit(t, ctx, "job2")
	typeKeys(t, ctx, "zzz")
	require.Positive(t, release())
	propsOf(t, ctx, "job2")
	cmd, err := browser.Eval[string](ctx, `document.querySelector('[data-testid="prop-local.command"]').value`)
	require.NoError(t, err)
	require.Equal(t, "echo 2", cmd)

	txt := saveAndWait(t, ctx)
	require.Contains(t, txt, "Saved as version 2")
	_, u1 := storedUnit(t, srv, "job1")
	require.Equal(t, "echo a", u1.Job.Local.Command)
	require.Equal(t, 3, u1.Job.Retry.Count)
	require.Equal(t, 2*time.Minute, u1.Job.Retry.Interval.D())
	_, u2 := storedUnit(t, srv, "job2")
	require.Equal(t, "echo 2", u2.Job.Local.Command)

	// Escape closes the edge popup.
	clickEdge(t, ctx, "job1-job2")
	require.NoError(t, browser.WaitVisible(ctx, id("edge-popup")))
	typeKeys(t, ctx, "\x1b")
	hidden, err := browser.Eval[bool](ctx, `document.querySelector('[data-testid="edge-popup"]').hidden`)
	require.NoError(t, err)
	require.True(t, hidden)
}

// clickEdge clicks the middle of an edge's line.
func clickEdge(t *testing.T, ctx context.Context, edge string) {
	t.Helper()
	p, err := browser.Eval[[]float64](ctx, fmt.Sprintf(`(() => { const p = document.querySelector('[data-testid="edge-%s"] .ds-edge-hit'); const l = p.getTotalLength(); const q = p.getPointAtLength(l / 2); const m = p.getScreenCTM(); return [m.a * q.x + m.e, m.d * q.y + m.f]; })()`, edge))
	require.NoError(t, err)
	require.NoError(t, browser.Drag(ctx, p[0], p[1], p[0], p[1]))
}

// TestEditorLayout: at 1366×768 the save result and the problems box are
// seen without scrolling; the edge popup stays inside the canvas and offers
// true/false only out of a judgment.
func TestEditorLayout(t *testing.T) {
	for _, size := range [][2]int64{{1366, 768}, {1920, 1080}} {
		t.Run(fmt.Sprintf("%dx%d", size[0], size[1]), func(t *testing.T) {
			_, ctx := editorTab(t, size[0], size[1])
			id := browser.TestID
			shot := func(what string) {
				browser.ViewportScreenshot(t, ctx, fmt.Sprintf("editor %s %dx%d", what, size[0], size[1]))
			}

			clickUnit(t, ctx, "job2")
			propsOf(t, ctx, "job2")
			typeInto(t, ctx, "description", "second step")
			saveAndWait(t, ctx)
			in, err := browser.InViewport(ctx, id("save-result"))
			require.NoError(t, err)
			require.True(t, in, "save result seen without scrolling")
			shot("saved")

			// An edge out of a job: normal or recovery.
			clickEdge(t, ctx, "check-far")
			require.NoError(t, browser.WaitVisible(ctx, id("edge-popup")))
			kinds := func() []string {
				ks, err := browser.Eval[[]string](ctx, `Array.from(document.querySelectorAll('#ed-edgepop [data-edge-kind]')).filter(b => b.offsetParent).map(b => b.dataset.edgeKind)`)
				require.NoError(t, err)
				return ks
			}
			require.Equal(t, []string{"true", "false"}, kinds())
			inside, err := browser.Eval[bool](ctx, `(() => { const p = document.getElementById("ed-edgepop").getBoundingClientRect(), w = document.querySelector(".ds-canvas-wrap").getBoundingClientRect(); return p.left >= w.left && p.right <= w.right && p.top >= w.top && p.bottom <= w.bottom; })()`)
			require.NoError(t, err)
			require.True(t, inside, "edge popup inside the canvas")
			shot("edge popup")
			typeKeys(t, ctx, "\x1b")

			// A new edge job3 → far near the right edge.
			hx, hy, err := browser.Center(ctx, id("handle-job3"))
			require.NoError(t, err)
			tx, ty, err := browser.Center(ctx, id("unit-far"))
			require.NoError(t, err)
			require.NoError(t, browser.Drag(ctx, hx, hy, tx, ty))
			require.NoError(t, browser.WaitVisible(ctx, id("edge-popup")))
			require.Equal(t, []string{"normal", "recovery"}, kinds())
			inside, err = browser.Eval[bool](ctx, `(() => { const p = document.getElementById("ed-edgepop").getBoundingClientRect(), w = document.querySelector(".ds-canvas-wrap").getBoundingClientRect(); return p.left >= w.left && p.right <= w.right && p.top >= w.top && p.bottom <= w.bottom; })()`)
			require.NoError(t, err)
			require.True(t, inside, "edge popup inside the canvas")

			// A cycle: the problems are seen without scrolling.
			hx, hy, err = browser.Center(ctx, id("handle-job3"))
			require.NoError(t, err)
			tx, ty, err = browser.Center(ctx, id("unit-job1"))
			require.NoError(t, err)
			require.NoError(t, browser.Drag(ctx, hx, hy, tx, ty))
			txt := saveAndWait(t, ctx)
			require.True(t, strings.Contains(txt, "cycle"), txt)
			in, err = browser.InViewport(ctx, id("problems"))
			require.NoError(t, err)
			require.True(t, in, "problems seen without scrolling")
			shot("problems")
		})
	}
}
