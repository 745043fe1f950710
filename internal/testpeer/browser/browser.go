package browser

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// ChromiumPath is where Debian's chromium package installs the browser.
const ChromiumPath = "/usr/bin/chromium"

// Window size of every tab.
const (
	Width  = 1440
	Height = 900
)

// DefaultTimeout bounds each helper step (navigation, wait, click …).
const DefaultTimeout = 15 * time.Second

// Browser is a running headless chromium shared by the tests of a package.
type Browser struct {
	ctx         context.Context // browser context: the first tab, kept open
	cancel      context.CancelFunc
	allocCancel context.CancelFunc
	dataDir     string
}

var (
	sharedMu  sync.Mutex
	shared    *Browser
	sharedErr error
)

// Available reports whether the browser binary is installed.
func Available() bool {
	_, err := os.Stat(ChromiumPath)
	return err == nil
}

// Start returns the package's browser, launching it on first use. Without
// chromium the test is skipped, or fails when CI=true.
func Start(t testing.TB) *Browser {
	t.Helper()
	if !Available() {
		msg := fmt.Sprintf("browser test needs %s: apt-get install -y chromium fonts-ipafont-gothic", ChromiumPath)
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared == nil && sharedErr == nil {
		shared, sharedErr = launch()
	}
	if sharedErr != nil {
		t.Fatalf("start chromium: %v", sharedErr)
	}
	return shared
}

func launch() (*Browser, error) {
	dir, err := os.MkdirTemp("", "koyomi-chromium-")
	if err != nil {
		return nil, fmt.Errorf("user data dir: %w", err)
	}
	opts := []chromedp.ExecAllocatorOption{
		chromedp.ExecPath(ChromiumPath),
		chromedp.UserDataDir(dir),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.NoDefaultBrowserCheck,
		chromedp.WindowSize(Width, Height),
		chromedp.Flag("disable-quic", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-extensions", true),
		chromedp.Flag("disable-default-apps", true),
		chromedp.Flag("force-color-profile", "srgb"),
		chromedp.Flag("hide-scrollbars", true),
		chromedp.Flag("mute-audio", true),
		chromedp.Flag("lang", "en-US"),
	}
	actx, acancel := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, bcancel := chromedp.NewContext(actx)
	if err := chromedp.Do(bctx); err != nil {
		bcancel()
		acancel()
		_ = os.RemoveAll(dir)
		return nil, err
	}
	return &Browser{ctx: bctx, cancel: bcancel, allocCancel: acancel, dataDir: dir}, nil
}

// Close stops the browser and removes its profile.
func (b *Browser) Close() {
	b.cancel()
	b.allocCancel()
	_ = os.RemoveAll(b.dataDir)
}

// Main is the TestMain body of packages with browser tests: it runs the
// tests, then stops the shared PostgreSQL cluster and the browser.
func Main(m interface{ Run() int }) int {
	code := storetest.Main(m)
	sharedMu.Lock()
	defer sharedMu.Unlock()
	if shared != nil {
		shared.Close()
		shared = nil
	}
	return code
}

// NewTab opens a tab that closes when the test ends. JavaScript dialogs
// (confirm, alert) in it are accepted.
func (b *Browser) NewTab(t testing.TB) context.Context {
	t.Helper()
	return b.newTab(t, false)
}

// NewIncognitoTab opens a tab in its own browser context: it shares no
// cookies with other tabs (two users signed in at once).
func (b *Browser) NewIncognitoTab(t testing.TB) context.Context {
	t.Helper()
	return b.newTab(t, true)
}

func (b *Browser) newTab(t testing.TB, incognito bool) context.Context {
	t.Helper()
	var opts []chromedp.ContextOption
	if incognito {
		opts = append(opts, chromedp.WithNewBrowserContext())
	}
	ctx, cancel := chromedp.NewContext(b.ctx, opts...)
	t.Cleanup(cancel)
	// The first run opens the tab; it has no timeout so the tab outlives
	// the helpers' per-step deadlines.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("open tab: %v", err)
	}
	dialogs := chromedp.Events(ctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range dialogs {
			if err != nil {
				return
			}
			if _, err := chromedp.Call(ctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true}); err != nil && !errors.Is(err, context.Canceled) {
				return
			}
		}
	}()
	return ctx
}
