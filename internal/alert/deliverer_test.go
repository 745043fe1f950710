package alert_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

// clock is a fake clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// sendErr is a channel error with the classification the real channels give.
type sendErr struct {
	retry bool
	after time.Duration
}

func (e sendErr) Error() string {
	return fmt.Sprintf("fake send failed (retryable=%v)", e.retry)
}
func (e sendErr) Retryable() bool           { return e.retry }
func (e sendErr) RetryAfter() time.Duration { return e.after }

// fakeSender records what it is asked to send and fails as scripted.
type fakeSender struct {
	mu    sync.Mutex
	fails []error // returned in order, then success
	sent  []alert.Message
	tries int
}

func (f *fakeSender) Send(_ context.Context, m alert.Message) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.tries++
	if len(f.fails) > 0 {
		err := f.fails[0]
		f.fails = f.fails[1:]
		return err
	}
	f.sent = append(f.sent, m)
	return nil
}

func (f *fakeSender) Sent() []alert.Message {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]alert.Message(nil), f.sent...)
}

type fixture struct {
	st     *store.Store
	clk    *clock
	sender *fakeSender
	d      *alert.Deliverer
	ch     alert.Channel
	ctx    context.Context
}

var t0 = time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)

// newFixture opens a store on the dialect with a fake clock, one Slack
// channel and one rule built by rule (channel filled in).
func newFixture(t *testing.T, dialect string, rule alert.Rule) *fixture {
	t.Helper()
	clk := &clock{t: t0}
	st := storetest.Open(t, dialect, clk.Now)
	ctx := context.Background()
	ch, err := st.CreateAlertChannel(ctx, alert.Channel{Name: "ops-slack", Kind: alert.ChannelSlack, Enabled: true, Config: []byte(`{}`)},
		alert.Secrets{WebhookURL: "https://hooks.slack.invalid/services/T/B/x"}, "test")
	require.NoError(t, err)
	rule.Channels = []int64{ch.ID}
	if rule.Name == "" {
		rule.Name = "failures"
	}
	rule.Enabled = true
	if len(rule.Kinds) == 0 {
		rule.Kinds = []alert.EventKind{alert.EventJobAbnormal}
	}
	_, err = st.CreateAlertRule(ctx, rule, "test")
	require.NoError(t, err)
	fs := &fakeSender{}
	d, err := alert.NewDeliverer(alert.DelivererParams{
		Store: st, Now: clk.Now, FailingAfter: 3, MaxAttempts: 5,
		Open: func(c alert.Channel, sec alert.Secrets) (alert.Sender, error) {
			if sec.WebhookURL == "" {
				return nil, errors.New("secrets were not passed to the opener")
			}
			return fs, nil
		},
	})
	require.NoError(t, err)
	return &fixture{st: st, clk: clk, sender: fs, d: d, ch: ch, ctx: ctx}
}

func abnormal(job string) alert.Event {
	return alert.Event{Kind: alert.EventJobAbnormal, Severity: alert.SeverityCritical, Folder: "sales", Jobnet: "nightly", Job: job,
		RunID: "gen-1", BusinessDate: "2026-03-31", State: "ended_abnormally", URL: "http://koyomi.test/runs/gen-1"}
}

func (f *fixture) tick(t *testing.T) {
	t.Helper()
	require.NoError(t, f.d.Tick(f.ctx))
}

func (f *fixture) deliveries(t *testing.T) []alert.Delivery {
	t.Helper()
	ds, err := f.st.AlertDeliveries(f.ctx, store.DeliveryQuery{})
	require.NoError(t, err)
	return ds
}

func eachDialect(t *testing.T, fn func(t *testing.T, dialect string)) {
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) { fn(t, d) })
	}
}

func TestDelivererGroupsAStormIntoOneMessage(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, alert.Rule{Throttle: 60 * time.Second})
		for i := range 50 {
			require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{abnormal(fmt.Sprintf("job-%02d", i))}))
			f.tick(t)
			f.clk.Add(200 * time.Millisecond) // 50 events within 10 s
		}
		require.Empty(t, f.sender.Sent(), "nothing is sent while the window is open")
		f.clk.Add(40 * time.Second) // t0+50s: still inside the 60 s window
		f.tick(t)
		require.Empty(t, f.sender.Sent())
		f.clk.Add(11 * time.Second) // t0+61s
		f.tick(t)
		sent := f.sender.Sent()
		require.Len(t, sent, 1)
		require.Len(t, sent[0].Events, 50)
		require.Contains(t, sent[0].Subject, "50 jobs ended abnormally in sales/nightly")
		ds := f.deliveries(t)
		require.Len(t, ds, 1)
		require.Equal(t, alert.DeliverySent, ds[0].State)
		require.Equal(t, ds[0].Key, sent[0].Key)
		require.Len(t, ds[0].EventIDs, 50)
		// A later event opens a new window.
		require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{abnormal("late")}))
		f.tick(t)
		f.clk.Add(61 * time.Second)
		f.tick(t)
		require.Len(t, f.sender.Sent(), 2)
		require.Len(t, f.sender.Sent()[1].Events, 1)
	})
}

func TestDelivererRoutesByKindAndScope(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, alert.Rule{Scope: "sales/nightly", Kinds: []alert.EventKind{alert.EventJobAbnormal, alert.EventEndDelay}})
		other := abnormal("x")
		other.Jobnet = "nightly2" // a prefix of the name, not of the path
		warn := abnormal("y")
		warn.Kind = alert.EventJobWarning
		delay := abnormal("z")
		delay.Kind = alert.EventEndDelay
		require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{other, warn, abnormal("a"), delay}))
		f.tick(t)
		sent := f.sender.Sent()
		require.Len(t, sent, 2, "throttle 0 sends each event at once")
		require.Equal(t, "a", sent[0].Events[0].Job)
		require.Equal(t, "z", sent[1].Events[0].Job)
		f.tick(t)
		require.Len(t, f.sender.Sent(), 2, "nothing twice")
	})
}

func TestDelivererQuietHours(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	eachDialect(t, func(t *testing.T, dialect string) {
		t.Run("hold", func(t *testing.T) {
			f := newFixture(t, dialect, alert.Rule{Throttle: time.Minute, Quiet: alert.QuietHours{From: "22:00", To: "06:00", Zone: "Asia/Tokyo", Policy: alert.QuietHold}})
			f.clk.t = time.Date(2026, 4, 1, 23, 0, 0, 0, tokyo)
			require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{abnormal("a")}))
			f.tick(t)
			f.clk.t = time.Date(2026, 4, 2, 3, 0, 0, 0, tokyo)
			require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{abnormal("b")}))
			f.tick(t)
			f.clk.t = time.Date(2026, 4, 2, 5, 59, 59, 0, tokyo)
			f.tick(t)
			require.Empty(t, f.sender.Sent())
			ds := f.deliveries(t)
			require.Len(t, ds, 1)
			require.Equal(t, alert.DeliveryPending, ds[0].State)
			require.True(t, ds[0].NextAttemptAt.Equal(time.Date(2026, 4, 2, 6, 0, 0, 0, tokyo)), ds[0].NextAttemptAt)
			f.clk.t = time.Date(2026, 4, 2, 6, 0, 0, 0, tokyo)
			f.tick(t)
			sent := f.sender.Sent()
			require.Len(t, sent, 1, "held events go out together when the quiet hours end")
			require.Len(t, sent[0].Events, 2)
		})
		t.Run("drop", func(t *testing.T) {
			f := newFixture(t, dialect, alert.Rule{Quiet: alert.QuietHours{From: "22:00", To: "06:00", Zone: "Asia/Tokyo", Policy: alert.QuietDrop}})
			f.clk.t = time.Date(2026, 4, 1, 23, 0, 0, 0, tokyo)
			require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{abnormal("a")}))
			f.tick(t)
			f.clk.t = time.Date(2026, 4, 2, 7, 0, 0, 0, tokyo)
			f.tick(t)
			require.Empty(t, f.sender.Sent())
			ds := f.deliveries(t)
			require.Len(t, ds, 1)
			require.Equal(t, alert.DeliveryDropped, ds[0].State)
			require.Contains(t, ds[0].LastError, "quiet hours")
			require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{abnormal("b")}))
			f.tick(t)
			require.Len(t, f.sender.Sent(), 1, "outside quiet hours it is sent")
		})
	})
}

func TestDelivererRetriesWithBackoff(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, alert.Rule{})
		f.sender.fails = []error{sendErr{retry: true}, sendErr{retry: true}, sendErr{retry: true, after: 10 * time.Minute}}
		require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{abnormal("a")}))
		f.tick(t)
		d := f.deliveries(t)[0]
		require.Equal(t, alert.DeliveryRetrying, d.State)
		require.Equal(t, 1, d.Attempts)
		require.True(t, d.NextAttemptAt.Equal(t0.Add(30*time.Second)), d.NextAttemptAt)
		require.Contains(t, d.LastError, "fake send failed")

		f.clk.Add(29 * time.Second)
		f.tick(t)
		require.Equal(t, 1, f.sender.tries, "not before the backoff")
		f.clk.Add(time.Second)
		f.tick(t)
		d = f.deliveries(t)[0]
		require.Equal(t, 2, d.Attempts)
		require.True(t, d.NextAttemptAt.Equal(t0.Add(30*time.Second+60*time.Second)), "the backoff doubles: %s", d.NextAttemptAt)

		f.clk.Add(60 * time.Second)
		f.tick(t)
		d = f.deliveries(t)[0]
		require.Equal(t, 3, d.Attempts)
		require.True(t, d.NextAttemptAt.Equal(t0.Add(90*time.Second+10*time.Minute)), "Retry-After beats a shorter backoff: %s", d.NextAttemptAt)

		f.clk.Add(10 * time.Minute)
		f.tick(t)
		d = f.deliveries(t)[0]
		require.Equal(t, alert.DeliverySent, d.State)
		require.Equal(t, 4, d.Attempts)
		require.NotNil(t, d.SentAt)
		sent := f.sender.Sent()
		require.Len(t, sent, 1)
		require.Equal(t, d.Key, sent[0].Key)
		ch, err := f.st.AlertChannel(f.ctx, f.ch.ID)
		require.NoError(t, err)
		require.False(t, ch.Health.Failing, "a success clears the failing mark")
		require.Zero(t, ch.Health.ConsecutiveFailures)
		require.NotNil(t, ch.Health.LastSuccessAt)
	})
}

func TestDelivererPermanentFailureAndGivingUp(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, alert.Rule{})
		f.sender.fails = []error{sendErr{retry: false}}
		require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{abnormal("a")}))
		f.tick(t)
		d := f.deliveries(t)[0]
		require.Equal(t, alert.DeliveryFailed, d.State)
		require.Equal(t, 1, d.Attempts)
		f.clk.Add(24 * time.Hour)
		f.tick(t)
		require.Equal(t, 1, f.sender.tries, "a failed delivery is not retried")

		// Retryable errors until MaxAttempts (5) → failed.
		f.sender.fails = []error{sendErr{retry: true}, sendErr{retry: true}, sendErr{retry: true}, sendErr{retry: true}, sendErr{retry: true}}
		require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{abnormal("b")}))
		for range 8 {
			f.tick(t)
			f.clk.Add(time.Hour)
		}
		d = f.deliveries(t)[0]
		require.Equal(t, alert.DeliveryFailed, d.State)
		require.Equal(t, 5, d.Attempts)
		require.Contains(t, d.LastError, "gave up after 5 attempts")
		require.Empty(t, f.sender.Sent())
	})
}

func TestDelivererResendsAfterACrashWhileSending(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, alert.Rule{})
		require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{abnormal("a")}))
		require.NoError(t, f.d.Route(f.ctx))
		// A deliverer claims the delivery and dies before finishing.
		claimed, err := f.st.ClaimAlertDeliveries(f.ctx, f.clk.Now(), f.clk.Now().Add(alert.ClaimTTLDefault), 10)
		require.NoError(t, err)
		require.Len(t, claimed, 1)
		require.Len(t, claimed[0].Events, 1)

		f.clk.Add(alert.ClaimTTLDefault - time.Second)
		f.tick(t)
		require.Empty(t, f.sender.Sent(), "the claim still protects it")
		f.clk.Add(time.Second)
		f.tick(t)
		require.Len(t, f.sender.Sent(), 1, "resent once after the claim expired")
		d := f.deliveries(t)[0]
		require.Equal(t, alert.DeliverySent, d.State)
		require.Equal(t, 2, d.Attempts)
		require.Equal(t, d.Key, f.sender.Sent()[0].Key, "same key, so the same Message-ID")
		// The dead deliverer's late finish is refused by the guard.
		err = f.st.FinishAlertDelivery(f.ctx, d.ID, 1, alert.Outcome{State: alert.DeliverySent, At: f.clk.Now()}, 3)
		require.Error(t, err)
		f.clk.Add(time.Hour)
		f.tick(t)
		require.Len(t, f.sender.Sent(), 1)
	})
}

func TestDelivererMarksAChannelFailing(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, alert.Rule{})
		f.sender.fails = []error{sendErr{retry: true}, sendErr{retry: false}, sendErr{retry: true}}
		require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{abnormal("a"), abnormal("b")}))
		f.tick(t) // a: retry, b: failed
		ch, err := f.st.AlertChannel(f.ctx, f.ch.ID)
		require.NoError(t, err)
		require.Equal(t, 2, ch.Health.ConsecutiveFailures)
		require.False(t, ch.Health.Failing)
		f.clk.Add(time.Minute)
		f.tick(t) // a: retry again
		ch, err = f.st.AlertChannel(f.ctx, f.ch.ID)
		require.NoError(t, err)
		require.Equal(t, 3, ch.Health.ConsecutiveFailures)
		require.True(t, ch.Health.Failing)
		require.Contains(t, ch.Health.LastError, "fake send failed")
		f.clk.Add(5 * time.Minute)
		f.tick(t)
		ch, err = f.st.AlertChannel(f.ctx, f.ch.ID)
		require.NoError(t, err)
		require.False(t, ch.Health.Failing)
	})
}

// stuckSender blocks every send until released or its context ends, as a
// black-holed endpoint does; started receives each message it was given.
type stuckSender struct {
	started chan alert.Message
	release chan struct{}
	mu      sync.Mutex
	sent    []alert.Message
}

func (s *stuckSender) Send(ctx context.Context, m alert.Message) error {
	s.started <- m
	select {
	case <-s.release:
		s.mu.Lock()
		s.sent = append(s.sent, m)
		s.mu.Unlock()
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// twoDeliveries routes two deliveries to the fixture's one channel and
// returns a deliverer (the first replica) whose sends go to stuck.
func twoDeliveries(t *testing.T, f *fixture, stuck *stuckSender) *alert.Deliverer {
	t.Helper()
	w := abnormal("b")
	w.Kind = alert.EventJobWarning
	require.NoError(t, f.st.EnqueueEvents(f.ctx, []alert.Event{abnormal("a"), w}))
	require.NoError(t, f.d.Route(f.ctx))
	require.Len(t, f.deliveries(t), 2)
	a, err := alert.NewDeliverer(alert.DelivererParams{Store: f.st, Now: f.clk.Now, RenewEvery: 10 * time.Millisecond,
		Open: func(alert.Channel, alert.Secrets) (alert.Sender, error) { return stuck, nil }})
	require.NoError(t, err)
	return a
}

// A deliverer that dies in the middle of a send holds the rest of its
// batch only for the short claim: the other replica sends everything
// within ClaimTTL, not minutes later.
func TestDelivererCrashedMidSendReleasesItsBatchPromptly(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, alert.Rule{Kinds: []alert.EventKind{alert.EventJobAbnormal, alert.EventJobWarning}})
		stuck := &stuckSender{started: make(chan alert.Message, 4), release: make(chan struct{})}
		a := twoDeliveries(t, f, stuck)
		actx, crash := context.WithCancel(f.ctx)
		sent := make(chan error, 1)
		go func() { _, err := a.Send(actx); sent <- err }()
		<-stuck.started // the first delivery is on the wire, the second waits behind it
		crash()
		<-sent
		for _, d := range f.deliveries(t) {
			require.Equal(t, alert.DeliverySending, d.State, "both still claimed by the dead replica")
		}

		f.clk.Add(31 * time.Second)
		f.tick(t)
		require.Len(t, f.sender.Sent(), 2, "the other replica sent both after the short claim ran out")
		for _, d := range f.deliveries(t) {
			require.Equal(t, alert.DeliverySent, d.State)
		}
	})
}

// A deliverer that is alive keeps its claims while a send takes longer
// than ClaimTTL: another replica does not send them a second time.
func TestDelivererRenewsItsClaimsWhileSending(t *testing.T) {
	eachDialect(t, func(t *testing.T, dialect string) {
		f := newFixture(t, dialect, alert.Rule{Kinds: []alert.EventKind{alert.EventJobAbnormal, alert.EventJobWarning}})
		stuck := &stuckSender{started: make(chan alert.Message, 4), release: make(chan struct{})}
		a := twoDeliveries(t, f, stuck)
		sent := make(chan error, 1)
		go func() { _, err := a.Send(f.ctx); sent <- err }()
		<-stuck.started

		f.clk.Add(alert.ClaimTTLDefault + time.Second) // the send outlasts the first claim
		require.Eventually(t, func() bool {
			for _, d := range f.deliveries(t) {
				if d.ClaimedUntil == nil || !d.ClaimedUntil.After(f.clk.Now()) {
					return false
				}
			}
			return true
		}, 10*time.Second, 10*time.Millisecond, "claims renewed past the fake clock")
		f.tick(t)
		require.Empty(t, f.sender.Sent(), "the other replica leaves renewed claims alone")

		close(stuck.release)
		require.NoError(t, <-sent)
		require.Len(t, stuck.sent, 2)
		for _, d := range f.deliveries(t) {
			require.Equal(t, alert.DeliverySent, d.State)
			require.Equal(t, 1, d.Attempts)
		}
	})
}
