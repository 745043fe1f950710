package web_test

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/testpeer/slackd"
)

func TestAlertPagesAndAPI(t *testing.T) {
	for _, dialect := range []string{store.DialectSQLite, store.DialectPostgres} {
		t.Run(dialect, func(t *testing.T) {
			ts := newTestServer(t, dialect)
			sl := slackd.Start(t, slackd.Options{})
			c := ts.client(t).login("admin", adminPassword)

			resp, body := c.get("/alerts")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, "No channels yet")

			// A bad channel re-renders with field messages and keeps the input.
			resp, body = c.post("/alerts/channels", url.Values{"name": {"ops-slack"}, "kind": {"slack"}, "enabled": {"1"}, "tpl_subject": {"{{.Nope"}})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			require.Contains(t, body, "set webhook_url, or bot_token and channel")
			require.Contains(t, body, "templates.subject")
			require.Contains(t, body, `value="ops-slack"`)

			resp, body = c.post("/alerts/channels", url.Values{"name": {"ops-slack"}, "kind": {"slack"}, "enabled": {"1"}, "webhook_url": {sl.WebhookURL()}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			chs, err := ts.Store.AlertChannels(context.Background())
			require.NoError(t, err)
			require.Len(t, chs, 1)
			id := chs[0].ID
			edit := "/alerts/channels/" + itoa(id)

			_, body = c.get(edit)
			require.NotContains(t, body, "hooksecret", "the webhook URL is never shown")
			require.Contains(t, body, "leave empty to keep")
			// Saving without the secret keeps it.
			resp, body = c.post(edit, url.Values{"name": {"ops-slack"}, "kind": {"slack"}, "enabled": {"1"}, "webhook_url": {""}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			_, sec, err := ts.Store.AlertChannelForSend(context.Background(), id)
			require.NoError(t, err)
			require.Equal(t, sl.WebhookURL(), sec.WebhookURL)

			resp, _ = c.post(edit+"/test", nil)
			require.Equal(t, http.StatusSeeOther, resp.StatusCode)
			require.Len(t, sl.Posts(), 1, "send test goes through the real channel")
			_, body = c.get("/alerts")
			require.Contains(t, body, "Test message sent through ops-slack")
			require.NotContains(t, body, "hooksecret")
			// Delivery and channel times are on the reader's clock, with its zone.
			resp, _ = c.post("/account/timezone", url.Values{"time_zone": {"Asia/Tokyo"}})
			require.Less(t, resp.StatusCode, 400)
			for _, p := range []string{"/alerts", "/alerts/deliveries?state=sent"} {
				_, body = c.get(p)
				require.Regexp(t, `\d{4}-\d\d-\d\d \d\d:\d\d:\d\d JST`, body, p)
				require.NotRegexp(t, `\d\d:\d\d:\d\d UTC`, body, p)
			}

			resp, body = c.post("/alerts/rules", url.Values{"name": {"failures"}, "enabled": {"1"}, "channels": {itoa(id)}, "throttle": {"abc"}})
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			require.Contains(t, body, "throttle")
			resp, body = c.post("/alerts/rules", url.Values{"name": {"failures"}, "enabled": {"1"}, "channels": {itoa(id)}, "kinds": {"job_abnormal", "end_delay"},
				"scope": {"sales"}, "quiet_from": {"22:00"}, "quiet_to": {"06:00"}, "quiet_zone": {"Asia/Tokyo"}, "quiet_policy": {"hold"}, "throttle": {"60"}})
			require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
			_, body = c.get("/alerts")
			require.Contains(t, body, "Job ended abnormally, End delayed")
			require.Contains(t, body, "22:00–06:00 Asia/Tokyo (hold)")

			resp, body = c.get("/api/v1/alerts/channels")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, `"secrets_set":["webhook_url"]`)
			require.NotContains(t, body, "hooksecret")
			resp, body = c.get("/api/v1/alerts/rules")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, `"throttle_seconds":60`)
			resp, body = c.get("/api/v1/alerts/deliveries?state=sent")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			require.Contains(t, body, `"kind":"test"`)
			require.NotContains(t, body, "hooksecret")
			resp, _ = c.get("/api/v1/alerts/deliveries?state=bogus")
			require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
			_, body = c.get("/alerts/deliveries?state=sent")
			require.Contains(t, body, `data-testid="alert-delivery-row"`)

			resp, _ = c.post(edit+"/delete", nil)
			require.Equal(t, http.StatusConflict, resp.StatusCode, "a rule still sends to it")
		})
	}
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }
