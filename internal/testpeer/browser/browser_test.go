package browser_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

func TestMain(m *testing.M) { os.Exit(browser.Main(m)) }

func TestLoginAndScreenshot(t *testing.T) {
	b := browser.Start(t)
	srv := browser.ServerForTest(t, store.DialectSQLite)
	ctx := b.NewTab(t)

	err := browser.Login(ctx, srv.URL, browser.AdminUser, "wrong-password")
	require.ErrorContains(t, err, "Wrong username or password")

	require.NoError(t, browser.Login(ctx, srv.URL, browser.AdminUser, browser.AdminPassword))
	who, err := browser.Text(ctx, browser.TestID("account-link"))
	require.NoError(t, err)
	require.Contains(t, who, "admin")

	t.Setenv("KOYOMI_ARTIFACTS", t.TempDir())
	path := browser.Screenshot(t, ctx, "harness home/page")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	require.Equal(t, "\x89PNG", string(data[:4]), "quality 100 gives PNG")
	require.Contains(t, path, "harness_home_page.png")

	require.NoError(t, browser.Logout(ctx))
	loc, err := browser.Location(ctx)
	require.NoError(t, err)
	require.Contains(t, loc, "/login")
}

const dragPage = `<!DOCTYPE html><html><body style="margin:0">
<div id="box" style="position:absolute;left:100px;top:100px;width:50px;height:50px;background:#36c"></div>
<div id="log">none</div>
<script>
let drag = null, moves = 0;
const box = document.getElementById('box');
box.addEventListener('mousedown', e => { drag = {dx: e.clientX - box.offsetLeft, dy: e.clientY - box.offsetTop}; });
document.addEventListener('mousemove', e => { if (!drag || !(e.buttons & 1)) return; moves++; box.style.left = (e.clientX - drag.dx) + 'px'; box.style.top = (e.clientY - drag.dy) + 'px'; });
document.addEventListener('mouseup', () => { drag = null; document.getElementById('log').textContent = box.style.left + ',' + box.style.top + ',' + moves; });
</script></body></html>`

func TestDragSendsRealMouseEvents(t *testing.T) {
	b := browser.Start(t)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprint(w, dragPage)
	}))
	defer hs.Close()
	ctx := b.NewTab(t)
	require.NoError(t, browser.Navigate(ctx, hs.URL))
	x, y, err := browser.Center(ctx, "#box")
	require.NoError(t, err)
	require.Equal(t, 125.0, x)
	require.Equal(t, 125.0, y)
	require.NoError(t, browser.Drag(ctx, x, y, x+300, y+200))
	got, err := browser.Text(ctx, "#log")
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("400px,300px,%d", browser.DragSteps), got)
}

func TestWaitVisibleAndGone(t *testing.T) {
	b := browser.Start(t)
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		fmt.Fprint(w, `<p id="here">here</p>`)
	}))
	defer hs.Close()
	ctx := b.NewTab(t)
	require.NoError(t, browser.Navigate(ctx, hs.URL))
	require.NoError(t, browser.WaitVisible(ctx, "#here"))
	require.NoError(t, browser.WaitGone(ctx, "#missing"))
}
