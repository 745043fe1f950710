package web_test

import (
	"fmt"
	"regexp"
	"sort"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/browser"
)

// englishLeft lists the English words of a page's visible text, leaving
// out what is data rather than interface: names the examples define, code,
// identifiers and the words every Japanese operator reads as they are.
const englishLeftJS = `(() => {
	const skip = "code, pre, kbd, .mono, input, textarea, select, option, [data-i18n-data], .graph-node .name, svg text";
	const words = new Set();
	const walker = document.createTreeWalker(document.querySelector("main") || document.body, NodeFilter.SHOW_TEXT);
	for (let n = walker.nextNode(); n; n = walker.nextNode()) {
		const el = n.parentElement;
		if (!el || el.closest(skip) || !el.offsetParent && getComputedStyle(el).position !== "fixed") continue;
		if (el.closest("a[href^='/jobnets/'], a[href^='/runs/'], a[href^='/calendars/'], a[href^='/admin/audit?']")) continue;
		for (const w of n.textContent.match(/[A-Za-z][A-Za-z0-9_'-]{2,}/g) || []) words.add(w);
	}
	return Array.from(words);
})()`

// Words that stay as they are in the Japanese interface: product, protocol
// and technology names, and the examples' data.
var japaneseKeeps = regexp.MustCompile(`^(Koyomi|API|REST|CSV|ICS|csv|ics|YAML|JSON|JST|UTC|UTF-|UTF-8|Shift_JIS|MiB|YYYY|YYYY-MM-DD|KEY|value|HTML|PEM|mrkdwn|syukujitsu|Asia|Tokyo|Slack|SMTP|ECS|EKS|AWS|IAM|ARN|STS|CloudWatch|Kubernetes|OpenAPI|HTTP|HTTPS|URL|ID|STARTTLS|TLS|AUTH|Bearer|Block|Kit|Webhook|Prometheus|JP[0-9]|AJS[0-9]|KOYOMI_[A-Z_]+|sales|nightly|accounting|month-end-close|hr|payroll-calc|payday-transfer|jp-company|company|admin|extract|load|report|reconcile|balanced|close-books|reopen-period|notify-mismatch|reports|trial-balance|pnl|calc|transfer|db|cpu|cli|manual|every-open-day|month-end|two-days-before-payday|payday|jp|corp|ops)$`)

// TestJapaneseLeavesNoEnglish walks the pages in Japanese (chosen on the
// login page, so that choice must survive the login) and lists every
// English word left on them.
func TestJapaneseLeavesNoEnglish(t *testing.T) {
	b := browser.Start(t)
	srv := browser.ServerForTest(t, store.DialectSQLite)
	bundle, err := jobnet.LoadPath("../../examples")
	require.NoError(t, err)
	_, err = srv.Ops.Apply(t.Context(), srv.Admin(t), bundle, false)
	require.NoError(t, err)
	gen, err := srv.Ops.RunNow(t.Context(), srv.Admin(t), ops.RunNowRequest{Jobnet: "accounting/month-end-close"})
	require.NoError(t, err)

	ctx := b.NewTab(t)
	require.NoError(t, browser.Viewport(ctx, 1366, 900))
	require.NoError(t, browser.Navigate(ctx, srv.URL+"/login"))
	require.NoError(t, browser.ClickNav(ctx, browser.TestID("lang-ja")))
	require.NoError(t, browser.Fill(ctx, browser.TestID("username"), browser.AdminUser))
	require.NoError(t, browser.Fill(ctx, browser.TestID("password"), browser.AdminPassword))
	require.NoError(t, browser.ClickNav(ctx, browser.TestID("login-submit")))
	require.NoError(t, browser.WaitVisible(ctx, browser.TestID("mainnav")))
	lang, err := browser.Eval[string](ctx, `document.documentElement.lang`)
	require.NoError(t, err)
	require.Equal(t, "ja", lang, "the language chosen on the login page is kept after login")

	pages := []string{"/", "/schedule", "/schedule?view=month", "/jobnets", "/calendars", "/calendars/jp-company",
		"/calendars/jp-company/import", "/alerts", "/alerts/channels/new", "/alerts/rules/new", "/admin/users", "/account",
		"/admin", "/admin/audit", "/admin/connections", "/runs/" + gen.ID}
	left := map[string][]string{}
	for _, p := range pages {
		require.NoError(t, browser.Navigate(ctx, srv.URL+p))
		words, err := browser.Eval[[]string](ctx, englishLeftJS)
		require.NoError(t, err, p)
		for _, w := range words {
			if !japaneseKeeps.MatchString(w) {
				left[p] = append(left[p], w)
			}
		}
		sort.Strings(left[p])
	}
	var report []string
	for _, p := range pages {
		if len(left[p]) > 0 {
			report = append(report, fmt.Sprintf("%s: %s", p, strings.Join(left[p], " ")))
		}
	}
	require.Empty(t, report, "English left on Japanese pages")
}
