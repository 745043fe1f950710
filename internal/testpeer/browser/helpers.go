package browser

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/input"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"
)

// TestID returns the CSS selector of an element's data-testid.
func TestID(id string) string { return fmt.Sprintf("[data-testid=%q]", id) }

func step(ctx context.Context, what string, actions ...chromedp.Action[chromedp.Void]) error {
	sctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	if err := chromedp.Do(sctx, actions...); err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	return nil
}

// Navigate loads url and waits for the page's load event.
func Navigate(ctx context.Context, url string) error {
	return step(ctx, "navigate to "+url, chromedp.Navigate(url))
}

// WaitVisible waits until the element matching the CSS selector is visible.
func WaitVisible(ctx context.Context, css string) error {
	return step(ctx, "wait for "+css, chromedp.WaitVisible(chromedp.CSS(css)))
}

// WaitGone waits until no element matches the CSS selector.
func WaitGone(ctx context.Context, css string) error {
	return step(ctx, "wait until gone "+css, chromedp.WaitNotPresent(chromedp.CSS(css)))
}

// Click clicks the element matching the CSS selector (once it is visible).
func Click(ctx context.Context, css string) error {
	return step(ctx, "click "+css, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))
}

// ClickNav clicks the element and waits for the page it leads to (a link or
// a submit button of a plain form) to load.
func ClickNav(ctx context.Context, css string) error {
	sctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	if _, err := chromedp.Run(sctx, chromedp.WaitEvent(page.LoadEventFired, nil, chromedp.Click(chromedp.CSS(css), chromedp.NodeVisible))); err != nil {
		return fmt.Errorf("click %s and wait for the next page: %w", css, err)
	}
	return nil
}

// Fill replaces the value of an input or textarea, typing like a user.
func Fill(ctx context.Context, css, value string) error {
	return step(ctx, "fill "+css, chromedp.Clear(chromedp.CSS(css), chromedp.NodeVisible), chromedp.SendKeys(chromedp.CSS(css), value, chromedp.NodeVisible))
}

// SetValue sets the value of a form field (a select, say) directly.
func SetValue(ctx context.Context, css, value string) error {
	return step(ctx, "set value of "+css, chromedp.SetValue(chromedp.CSS(css), value, chromedp.NodeReady))
}

// Text returns the visible text of the element matching the CSS selector.
func Text(ctx context.Context, css string) (string, error) {
	sctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	s, err := chromedp.Run(sctx, chromedp.Text(chromedp.CSS(css), chromedp.NodeVisible))
	if err != nil {
		return "", fmt.Errorf("text of %s: %w", css, err)
	}
	return strings.TrimSpace(s), nil
}

// Location returns the current URL of the tab.
func Location(ctx context.Context) (string, error) {
	sctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	return chromedp.Run(sctx, chromedp.Location())
}

// Eval evaluates a JavaScript expression and decodes its value into T.
func Eval[T any](ctx context.Context, expr string) (T, error) {
	sctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	v, err := chromedp.Run(sctx, chromedp.Evaluate[T](expr))
	if err != nil {
		return v, fmt.Errorf("evaluate %q: %w", expr, err)
	}
	return v, nil
}

// Login signs in through the login form at baseURL and waits for the main
// navigation; a rejected login returns an error with the page's message.
func Login(ctx context.Context, baseURL, user, pass string) error {
	if err := Navigate(ctx, strings.TrimRight(baseURL, "/")+"/login"); err != nil {
		return err
	}
	if err := Fill(ctx, TestID("username"), user); err != nil {
		return err
	}
	if err := Fill(ctx, TestID("password"), pass); err != nil {
		return err
	}
	if err := ClickNav(ctx, TestID("login-submit")); err != nil {
		return err
	}
	if err := WaitVisible(ctx, TestID("mainnav")+", "+TestID("login-error")); err != nil {
		return err
	}
	if msg, err := Eval[string](ctx, `(document.querySelector('[data-testid="login-error"]') || {}).innerText || ""`); err != nil {
		return err
	} else if msg != "" {
		return fmt.Errorf("log in as %q: %s", user, msg)
	}
	return nil
}

// Logout presses the log-out button of the top bar.
func Logout(ctx context.Context) error {
	if err := ClickNav(ctx, TestID("logout")); err != nil {
		return err
	}
	return WaitVisible(ctx, TestID("login-form"))
}

// DragSteps is how many mouse moves a Drag makes between press and release.
const DragSteps = 12

// Drag presses the left mouse button at (fromX, fromY), moves to (toX, toY)
// in DragSteps real mouse-move events and releases it there. Coordinates are
// CSS pixels of the viewport.
func Drag(ctx context.Context, fromX, fromY, toX, toY float64) error {
	mouse := func(typ input.DispatchMouseEventType, x, y float64, buttons int64) chromedp.Action[chromedp.Void] {
		return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
			_, err := cdp.Call(ctx, t, input.DispatchMouseEvent, input.DispatchMouseEventParams{
				Type: typ, X: x, Y: y, Button: input.MouseButtonLeft, Buttons: buttons, ClickCount: 1,
			})
			return err
		})
	}
	acts := []chromedp.Action[chromedp.Void]{
		mouse(input.DispatchMouseEventTypeMouseMoved, fromX, fromY, 0),
		mouse(input.DispatchMouseEventTypeMousePressed, fromX, fromY, 1),
	}
	for i := 1; i <= DragSteps; i++ {
		f := float64(i) / DragSteps
		acts = append(acts, mouse(input.DispatchMouseEventTypeMouseMoved, fromX+(toX-fromX)*f, fromY+(toY-fromY)*f, 1))
	}
	acts = append(acts, mouse(input.DispatchMouseEventTypeMouseReleased, toX, toY, 0))
	return step(ctx, fmt.Sprintf("drag (%.0f,%.0f) to (%.0f,%.0f)", fromX, fromY, toX, toY), acts...)
}

// Center returns the viewport coordinates of the centre of the element
// matching the CSS selector (for Drag).
func Center(ctx context.Context, css string) (x, y float64, err error) {
	r, err := Eval[[]float64](ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e) return null; const r = e.getBoundingClientRect(); return [r.left + r.width/2, r.top + r.height/2]; })()`, css))
	if err != nil {
		return 0, 0, err
	}
	if len(r) != 2 {
		return 0, 0, fmt.Errorf("centre of %s: no such element", css)
	}
	return r[0], r[1], nil
}

// ArtifactsDir is where screenshots go: $KOYOMI_ARTIFACTS/screenshots, else
// <repo>/artifacts/screenshots (the repository root is the nearest directory
// above the working directory that has a go.mod).
func ArtifactsDir() string {
	if d := os.Getenv("KOYOMI_ARTIFACTS"); d != "" {
		return filepath.Join(d, "screenshots")
	}
	dir, err := os.Getwd()
	if err != nil {
		return filepath.Join("artifacts", "screenshots")
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return filepath.Join(d, "artifacts", "screenshots")
		}
		if filepath.Dir(d) == d {
			return filepath.Join(dir, "artifacts", "screenshots")
		}
	}
}

// Screenshot saves a full-page PNG of the tab as <ArtifactsDir>/<name>.png
// and returns the path.
func Screenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.FullScreenshot(100)) // 100: PNG, below: JPEG
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := ArtifactsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot dir: %v", err)
	}
	path := filepath.Join(dir, safeName(name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
	t.Logf("screenshot %s", path)
	return path
}

func safeName(name string) string {
	var b strings.Builder
	for _, r := range name {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '-', r == '_', r == '.':
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		return "screenshot"
	}
	return b.String()
}

// Viewport resizes the tab's viewport to width × height CSS pixels (1366×768
// is the smallest screen the GUI is laid out for).
func Viewport(ctx context.Context, width, height int64) error {
	return step(ctx, fmt.Sprintf("viewport %dx%d", width, height), chromedp.EmulateViewport(width, height))
}

// ViewportScreenshot saves a PNG of what the viewport shows (not the whole
// page) as <ArtifactsDir>/<name>.png and returns the path: what a user sees
// without scrolling.
func ViewportScreenshot(t testing.TB, ctx context.Context, name string) string {
	t.Helper()
	sctx, cancel := context.WithTimeout(ctx, DefaultTimeout)
	defer cancel()
	png, err := chromedp.Run(sctx, chromedp.CaptureScreenshot())
	if err != nil {
		t.Fatalf("screenshot %s: %v", name, err)
	}
	dir := ArtifactsDir()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshot dir: %v", err)
	}
	path := filepath.Join(dir, safeName(name)+".png")
	if err := os.WriteFile(path, png, 0o644); err != nil {
		t.Fatalf("write screenshot: %v", err)
	}
	t.Logf("screenshot %s", path)
	return path
}

// InViewport reports whether the element matching the CSS selector is
// visible and lies wholly inside the viewport (seen without scrolling).
func InViewport(ctx context.Context, css string) (bool, error) {
	return Eval[bool](ctx, fmt.Sprintf(`(() => { const e = document.querySelector(%q); if (!e || !e.offsetParent) return false; const r = e.getBoundingClientRect(); return r.width > 0 && r.top >= 0 && r.left >= 0 && r.bottom <= innerHeight && r.right <= innerWidth; })()`, css))
}
