package alert_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/alert/email"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
	"github.com/koyomi-dev/koyomi/internal/testpeer/slackd"
	"github.com/koyomi-dev/koyomi/internal/testpeer/smtpd"
)

// TestEndToEnd runs the whole pipeline: events written to the outbox as
// the runner writes them → the deliverer → a real SMTP server and the Slack
// double; then an SMTP outage that delays but loses nothing.
func TestEndToEnd(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		ctx := context.Background()
		clk := &clock{t: t0}
		st := storetest.Open(t, dialect, clk.Now)
		svc := ops.New(ops.Params{Store: st, Now: clk.Now})
		admin := ops.Actor{Username: "admin", Role: store.RoleAdmin}

		mail := smtpd.Start(t, smtpd.Options{TLS: smtpd.TLSStartTLS, Username: "koyomi", Password: "s3cret-pw"})
		sl := slackd.Start(t, slackd.Options{})

		cfg, _ := json.Marshal(email.Config{Host: "127.0.0.1", Port: mail.Port(), TLS: email.TLSStartTLS, Username: "koyomi",
			Password: "s3cret-pw", From: "koyomi@example.com", To: []string{"ops@example.com"}, RootCAs: mail.CertPEM(), Timeout: 5 * time.Second})
		emailCh, err := svc.CreateAlertChannel(ctx, admin, ops.ChannelInput{Name: "ops-mail", Kind: alert.ChannelEmail, Enabled: true, Config: cfg})
		require.NoError(t, err)
		require.NotContains(t, string(emailCh.Config), "s3cret-pw", "the password is stored apart from the config")
		require.Equal(t, []string{"password"}, emailCh.SecretsSet)
		slackCh, err := svc.CreateAlertChannel(ctx, admin, ops.ChannelInput{Name: "ops-slack", Kind: alert.ChannelSlack, Enabled: true,
			Config: []byte(`{}`), Secrets: alert.Secrets{WebhookURL: sl.WebhookURL()}})
		require.NoError(t, err)
		_, err = svc.CreateAlertRule(ctx, admin, alert.Rule{Name: "sales failures", Enabled: true, Kinds: []alert.EventKind{alert.EventJobAbnormal},
			Scope: "sales", Channels: []int64{emailCh.ID, slackCh.ID}, Throttle: 30 * time.Second})
		require.NoError(t, err)

		d, err := alert.NewDeliverer(alert.DelivererParams{Store: st, Open: ops.AlertOpener, Now: clk.Now})
		require.NoError(t, err)
		tick := func() { t.Helper(); require.NoError(t, d.Tick(ctx)) }

		// Three jobs of one generation fail within the window.
		require.NoError(t, st.EnqueueEvents(ctx, []alert.Event{abnormal("extract"), abnormal("load"), abnormal("report")}))
		tick()
		require.Empty(t, mail.Messages())
		clk.Add(31 * time.Second)
		tick()
		tick()
		msgs := mail.Messages()
		require.Len(t, msgs, 1, "exactly one mail")
		require.True(t, msgs[0].TLS)
		require.Equal(t, "koyomi", msgs[0].AuthUser)
		require.Contains(t, msgs[0].Subject, "3 jobs ended abnormally in sales/nightly")
		require.Contains(t, msgs[0].Text, "http://koyomi.test/runs/gen-1")
		require.Contains(t, msgs[0].HTML, `href="http://koyomi.test/runs/gen-1"`)
		posts := sl.Posts()
		require.Len(t, posts, 1, "exactly one Slack post")
		require.Contains(t, string(posts[0].Blocks), "http://koyomi.test/runs/gen-1")
		require.Empty(t, sl.Invalid())

		ds, err := st.AlertDeliveries(ctx, store.DeliveryQuery{ChannelID: emailCh.ID})
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Equal(t, alert.DeliverySent, ds[0].State)
		require.Contains(t, msgs[0].Header.Get("Message-Id"), email.MessageID(ds[0].Key, "koyomi@example.com"))

		// The SMTP server goes away: the mail waits, Slack does not.
		mail.Stop()
		require.NoError(t, st.EnqueueEvents(ctx, []alert.Event{abnormal("archive")}))
		tick()
		clk.Add(31 * time.Second)
		tick()
		require.Len(t, sl.Posts(), 2)
		ds, err = st.AlertDeliveries(ctx, store.DeliveryQuery{ChannelID: emailCh.ID})
		require.NoError(t, err)
		require.Equal(t, alert.DeliveryRetrying, ds[0].State)
		require.NotEmpty(t, ds[0].LastError)
		clk.Add(alert.BackoffBaseDefault)
		tick()
		ds, err = st.AlertDeliveries(ctx, store.DeliveryQuery{ChannelID: emailCh.ID, State: alert.DeliveryRetrying})
		require.NoError(t, err)
		require.Len(t, ds, 1)
		require.Equal(t, 2, ds[0].Attempts)

		mail.Restart()
		clk.Add(2 * alert.BackoffBaseDefault)
		tick()
		msgs = mail.Messages()
		require.Len(t, msgs, 2, "delayed, not lost")
		require.Contains(t, msgs[1].Text, "archive")
		clk.Add(time.Hour)
		tick()
		require.Len(t, mail.Messages(), 2, "and not sent twice")
		require.Len(t, sl.Posts(), 2)
		ch, err := st.AlertChannel(ctx, emailCh.ID)
		require.NoError(t, err)
		require.False(t, ch.Health.Failing)
	})
}

// TestRunDelivers drives the real polling loop with the real clock.
func TestRunDelivers(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	st := storetest.Open(t, store.DialectSQLite, nil)
	sl := slackd.Start(t, slackd.Options{})
	ch, err := st.CreateAlertChannel(ctx, alert.Channel{Name: "s", Kind: alert.ChannelSlack, Enabled: true, Config: []byte(`{}`)}, alert.Secrets{WebhookURL: sl.WebhookURL()}, "t")
	require.NoError(t, err)
	_, err = st.CreateAlertRule(ctx, alert.Rule{Name: "all", Enabled: true, Kinds: []alert.EventKind{alert.EventJobAbnormal}, Channels: []int64{ch.ID}}, "t")
	require.NoError(t, err)
	d, err := alert.NewDeliverer(alert.DelivererParams{Store: st, Open: ops.AlertOpener, PollInterval: 20 * time.Millisecond})
	require.NoError(t, err)
	done := make(chan error, 1)
	go func() { done <- d.Run(ctx) }()
	require.NoError(t, st.EnqueueEvents(ctx, []alert.Event{abnormal("a")}))
	require.Eventually(t, func() bool { return len(sl.Posts()) == 1 }, 10*time.Second, 20*time.Millisecond)
	cancel()
	require.NoError(t, <-done)
}
