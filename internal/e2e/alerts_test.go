package e2e

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/alert/email"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
)

// checkLinks asserts every mail and Slack post links to the generation's
// run page and that the page and the API answer for it.
func checkLinks(t *testing.T, env *alertEnv, r received, genID string) {
	t.Helper()
	link := alertBaseURL + "/runs/" + genID
	for _, m := range r.mails {
		require.Regexp(t, `nightly(/extract)? ended abnormally`, m.Subject)
		require.True(t, m.TLS, "mail sent over STARTTLS")
		require.Equal(t, "koyomi", m.AuthUser)
		require.Contains(t, m.Text, link, "mail %q", m.Subject)
		require.Contains(t, m.HTML, `href="`+link+`"`, "mail %q", m.Subject)
	}
	for _, p := range r.posts {
		require.Equal(t, "webhook", p.Via)
		require.Contains(t, string(p.Blocks), link, "Slack post %q", p.Text)
	}
	tok := env.token(t)
	path := strings.TrimPrefix(link, alertBaseURL)
	code, body := env.get(t, tok, path)
	require.Equal(t, http.StatusOK, code, "GET %s: %s", path, body)
	require.Contains(t, string(body), genID)
	code, body = env.get(t, tok, "/api/v1/generations/"+genID)
	require.Equal(t, http.StatusOK, code, "GET /api/v1/generations/%s: %s", genID, body)
	var g struct {
		ID    string `json:"id"`
		State string `json:"state"`
	}
	require.NoError(t, json.Unmarshal(body, &g), "%s", body)
	require.Equal(t, genID, g.ID)
	require.Equal(t, string(jobrun.GenEndedAbnormal), g.State)
}

// TestAlertFailingJob: the failing sales/nightly sends exactly one mail and
// one Slack post per event kind (job_abnormal, generation_abnormal), each
// linking to the generation's run page, which answers.
func TestAlertFailingJob(t *testing.T) {
	t.Parallel()
	env := setupAlerts(t, 2*time.Second)
	srv := env.serve(t, "alerts-a")
	id := runNow(t, env.dbURL, env.data, alertJobnet)
	g := waitGeneration(t, env.st, id, 30*time.Second)
	require.Equal(t, jobrun.GenEndedAbnormal, g.State, "server output:\n%s", srv.out.String())
	require.Equal(t, wantOnePerKind, env.eventKinds(t, id), "one event per kind for the generation")

	r := env.waitOnePerKind(t, srv, 20*time.Second)
	checkLinks(t, env, r, id)
	for _, d := range env.deliveries(t) {
		require.Equal(t, alert.DeliverySent, d.State, "%s %s", d.ChannelName, d.Kind)
		require.Equal(t, 1, d.Attempts, "%s %s", d.ChannelName, d.Kind)
	}
}

// TestAlertKillBeforeDelivery: serve is killed with SIGKILL after the
// generation ended abnormally and before anything was sent, while the
// rule's throttle window holds the deliveries: right after the state change
// (the events are most likely not routed yet) and after the events were
// routed into pending deliveries. After a restart exactly one mail and one
// Slack post per kind arrive.
func TestAlertKillBeforeDelivery(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name        string
		afterRouted bool
	}{
		{"right after the state change", false},
		{"after routing", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			env := setupAlerts(t, 8*time.Second)
			srv := env.serve(t, "alerts-b1")
			id := runNow(t, env.dbURL, env.data, alertJobnet)
			deadline := time.Now().Add(30 * time.Second)
			for {
				g, err := env.st.Generation(t.Context(), id)
				if err == nil && g.State.IsTerminal() {
					require.Equal(t, jobrun.GenEndedAbnormal, g.State)
					break
				}
				require.True(t, time.Now().Before(deadline), "generation %s did not end: %q %v\n%s", id, g.State, err, srv.out.String())
				time.Sleep(20 * time.Millisecond)
			}
			if tc.afterRouted {
				require.Eventually(t, func() bool { return len(env.deliveries(t)) == 4 }, 6*time.Second, 20*time.Millisecond,
					"the events were routed within the throttle window:%s", describeDeliveries(env.deliveries(t)))
			}
			srv.kill()

			// The state change committed its events; nothing was sent.
			require.Equal(t, wantOnePerKind, env.eventKinds(t, id))
			ds := env.deliveries(t)
			t.Logf("at the kill: %d deliveries%s", len(ds), describeDeliveries(ds))
			if tc.afterRouted {
				require.Len(t, ds, 4)
			}
			for _, d := range ds {
				require.Equal(t, alert.DeliveryPending, d.State, "%s %s", d.ChannelName, d.Kind)
				require.Zero(t, d.Attempts)
			}
			require.Empty(t, env.mail.Messages())
			require.Empty(t, env.slack.Posts())

			srv = env.serve(t, "alerts-b2")
			r := env.waitOnePerKind(t, srv, 25*time.Second)
			checkLinks(t, env, r, id)
			ds = env.deliveries(t)
			require.Len(t, ds, 4, "one delivery per channel and kind%s", describeDeliveries(ds))
			for _, d := range ds {
				require.Equal(t, alert.DeliverySent, d.State, "%s %s", d.ChannelName, d.Kind)
				require.Equal(t, 1, d.Attempts, "%s %s", d.ChannelName, d.Kind)
			}
		})
	}
}

// TestAlertMailServerDown: with the SMTP server stopped the mail is retried
// while Slack is not held up; once the server is back the mail arrives
// exactly once. The deliverer's backoff (30 s before the second attempt)
// has no setting, so this test waits for it.
func TestAlertMailServerDown(t *testing.T) {
	t.Parallel()
	env := setupAlerts(t, 0)
	env.mail.Stop()
	srv := env.serve(t, "alerts-c")
	tok := env.token(t)
	id := runNow(t, env.dbURL, env.data, alertJobnet)
	g := waitGeneration(t, env.st, id, 30*time.Second)
	require.Equal(t, jobrun.GenEndedAbnormal, g.State, "server output:\n%s", srv.out.String())

	// Slack is delivered at once; the mails are retrying.
	require.Eventually(t, func() bool {
		if len(env.slack.Posts()) < 2 {
			return false
		}
		// The Slack double records a post before the deliverer writes
		// "sent": wait for the recorded states, not only for the posts.
		retrying, unsent := 0, 0
		for _, d := range env.deliveries(t) {
			switch {
			case d.ChannelID == env.emailCh.ID && d.State == alert.DeliveryRetrying:
				retrying++
			case d.ChannelID != env.emailCh.ID && d.State != alert.DeliverySent:
				unsent++
			}
		}
		return retrying == 2 && unsent == 0
	}, 20*time.Second, 100*time.Millisecond, "deliveries:%s\n%s", describeDeliveries(env.deliveries(t)), srv.out.String())
	require.Empty(t, env.mail.Messages())

	// The delivery log API shows the retry and its error.
	code, body := env.get(t, tok, "/api/v1/alerts/deliveries")
	require.Equal(t, http.StatusOK, code, "%s", body)
	var logged []alert.Delivery
	require.NoError(t, json.Unmarshal(body, &logged), "%s", body)
	var mailRetries int
	for _, d := range logged {
		if d.ChannelID != env.emailCh.ID {
			require.Equal(t, alert.DeliverySent, d.State, "Slack is not held up by the mail server: %s", d.Kind)
			continue
		}
		require.Equal(t, alert.DeliveryRetrying, d.State)
		require.Equal(t, 1, d.Attempts)
		require.NotEmpty(t, d.LastError)
		require.True(t, d.NextAttemptAt.After(time.Now().Add(10*time.Second)), "next attempt backs off: %s", d.NextAttemptAt)
		mailRetries++
	}
	require.Equal(t, 2, mailRetries)

	env.mail.Restart()
	r := env.waitOnePerKind(t, srv, 45*time.Second)
	checkLinks(t, env, r, id)
	keys := map[string]bool{}
	for _, d := range env.deliveries(t) {
		require.Equal(t, alert.DeliverySent, d.State, "%s %s", d.ChannelName, d.Kind)
		if d.ChannelID == env.emailCh.ID {
			require.Equal(t, 2, d.Attempts, "sent at the second attempt")
			keys[email.MessageID(d.Key, alertFrom)] = true
		}
	}
	for _, m := range r.mails {
		require.True(t, keys[strings.Trim(m.Header.Get("Message-Id"), "<>")], "Message-ID %q is a delivery's key", m.Header.Get("Message-Id"))
	}
}
