// Package browser is the harness of the GUI's browser tests: a real Koyomi
// web server on a real database, driven by a headless Debian chromium through
// chromedp.
//
// Model:
//
//   - One chromium per test package. Start(t) launches it on first use and
//     returns the same Browser to every later test; the package's TestMain
//     calls Main(m), which stops the shared PostgreSQL test cluster and the
//     browser when the tests end. (When a package does not use Main the
//     browser dies with the test binary: chromedp starts it with a parent-death
//     signal.)
//   - One tab per test. NewTab(t) opens a tab that closes when the test ends.
//     Tabs of one browser share cookies, so a test that logs in as two users
//     logs out in between (or uses NewIncognitoTab, which has its own cookies).
//   - ServerForTest(t, dialect) starts web.New with ops on a fresh storetest
//     database of the dialect (an admin "admin" with AdminPassword) on
//     127.0.0.1:0 through httptest.
//
// The browser runs with the flags the closed test network needs: headless,
// no sandbox, no GPU, no first-run, no QUIC, no background networking,
// component updates or sync, and no /dev/shm, at 1440x900, with a fresh user
// data directory.
//
// When /usr/bin/chromium is missing, Start skips the test with a message; with
// CI=true it fails instead, so that CI cannot pass by skipping. Install the
// browser and a Japanese font with
//
//	apt-get install -y chromium fonts-ipafont-gothic
//
// The helpers (Login, Navigate, WaitVisible, Click, ClickNav, Fill, Text,
// Drag, Screenshot …) take CSS selectors, wrap each step in a timeout
// (DefaultTimeout) and return errors that name the selector. Screenshots are
// PNG files in $KOYOMI_ARTIFACTS/screenshots, else <repo>/artifacts/screenshots.
// JavaScript confirm dialogs (data-confirm forms) are accepted automatically.
package browser
