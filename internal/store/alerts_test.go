package store_test

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

func TestAlertChannelsAndRules(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		ch, err := s.CreateAlertChannel(ctx, alert.Channel{Name: "mail", Kind: alert.ChannelEmail, Enabled: false,
			Config:    json.RawMessage(`{"host":"smtp.example.com","from":"k@example.com","to":["o@example.com"]}`),
			Templates: alert.Templates{Subject: "[{{.SeverityLabel}}] custom"}}, alert.Secrets{Password: "pw-1"}, "admin")
		require.NoError(t, err)
		require.False(t, ch.Enabled)
		require.Equal(t, []string{"password"}, ch.SecretsSet)
		require.Equal(t, "[{{.SeverityLabel}}] custom", ch.Templates.Subject)
		_, err = s.CreateAlertChannel(ctx, alert.Channel{Name: "mail", Kind: alert.ChannelEmail}, alert.Secrets{}, "admin")
		require.ErrorIs(t, err, fault.ErrConflict)

		list, err := s.AlertChannels(ctx)
		require.NoError(t, err)
		require.Len(t, list, 1)
		b, _ := json.Marshal(list)
		require.NotContains(t, string(b), "pw-1", "secrets are never read back for display")

		_, sec, err := s.AlertChannelForSend(ctx, ch.ID)
		require.NoError(t, err)
		require.Equal(t, "pw-1", sec.Password)
		ch.Enabled = true
		ch, err = s.UpdateAlertChannel(ctx, ch, alert.Secrets{Password: "pw-2"}, "admin")
		require.NoError(t, err)
		require.True(t, ch.Enabled)
		_, sec, err = s.AlertChannelForSend(ctx, ch.ID)
		require.NoError(t, err)
		require.Equal(t, "pw-2", sec.Password)

		_, err = s.CreateAlertRule(ctx, alert.Rule{Name: "r", Enabled: true, Kinds: []alert.EventKind{alert.EventJobAbnormal}, Channels: []int64{ch.ID + 99}}, "admin")
		require.ErrorIs(t, err, fault.ErrInvalid)
		r, err := s.CreateAlertRule(ctx, alert.Rule{Name: "r", Enabled: true, Kinds: []alert.EventKind{alert.EventJobAbnormal, alert.EventEndDelay},
			Scope: "sales", Channels: []int64{ch.ID}, Throttle: 90 * time.Second,
			Quiet: alert.QuietHours{From: "22:00", To: "06:00", Zone: "Asia/Tokyo", Policy: alert.QuietDrop}}, "admin")
		require.NoError(t, err)
		require.Equal(t, 90*time.Second, r.Throttle)
		require.Equal(t, alert.QuietDrop, r.Quiet.Policy)
		require.Equal(t, []alert.EventKind{alert.EventJobAbnormal, alert.EventEndDelay}, r.Kinds)
		r.Enabled, r.Throttle = false, 0
		r, err = s.UpdateAlertRule(ctx, r, "admin")
		require.NoError(t, err)
		require.False(t, r.Enabled)
		require.Zero(t, r.Throttle)

		require.ErrorIs(t, s.DeleteAlertChannel(ctx, ch.ID, "admin"), fault.ErrConflict, "a rule still uses it")
		require.NoError(t, s.DeleteAlertRule(ctx, r.ID, "admin"))
		require.NoError(t, s.DeleteAlertChannel(ctx, ch.ID, "admin"))
		_, err = s.AlertChannel(ctx, ch.ID)
		require.ErrorIs(t, err, fault.ErrNotFound)

		log, err := s.AuditLog(ctx, store.AuditQuery{Target: "alert-"})
		require.NoError(t, err)
		require.Len(t, log, 6)
		for _, e := range log {
			require.NotContains(t, e.Detail, "pw-")
		}
	})
}

func TestAlertRoutingIsGuarded(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
		ch, err := s.CreateAlertChannel(ctx, alert.Channel{Name: "s", Kind: alert.ChannelSlack, Enabled: true}, alert.Secrets{WebhookURL: "https://x.invalid/a"}, "t")
		require.NoError(t, err)
		require.NoError(t, s.EnqueueEvents(ctx, []alert.Event{{Kind: alert.EventJobAbnormal, Job: "a"}, {Kind: alert.EventJobWarning, Job: "b"}}))
		evs, err := s.AlertOutbox(ctx, 10)
		require.NoError(t, err)
		require.Len(t, evs, 2)
		route := alert.Route{RuleID: 1, RuleName: "r", ChannelID: ch.ID, GroupKey: "g", OpenUntil: now.Add(time.Minute)}
		require.NoError(t, s.RouteAlertEvent(ctx, evs[0], []alert.Route{route}, now))
		require.ErrorIs(t, s.RouteAlertEvent(ctx, evs[0], []alert.Route{route}, now), fault.ErrConflict, "an event is routed once")
		require.NoError(t, s.RouteAlertEvent(ctx, evs[1], []alert.Route{route}, now.Add(time.Second)))
		evs, err = s.AlertOutbox(ctx, 10)
		require.NoError(t, err)
		require.Empty(t, evs)

		ds, err := s.AlertDeliveries(ctx, store.DeliveryQuery{})
		require.NoError(t, err)
		require.Len(t, ds, 1, "the second event joined the open group")
		require.Len(t, ds[0].EventIDs, 2)
		require.Equal(t, "s", ds[0].ChannelName)
		require.NotEmpty(t, ds[0].Key)

		claimed, err := s.ClaimAlertDeliveries(ctx, now.Add(30*time.Second), now.Add(time.Hour), 10)
		require.NoError(t, err)
		require.Empty(t, claimed, "not due while the window is open")
		claimed, err = s.ClaimAlertDeliveries(ctx, now.Add(time.Minute), now.Add(time.Hour), 10)
		require.NoError(t, err)
		require.Len(t, claimed, 1)
		require.Len(t, claimed[0].Events, 2)
		require.Equal(t, 1, claimed[0].Attempts)
		again, err := s.ClaimAlertDeliveries(ctx, now.Add(2*time.Minute), now.Add(time.Hour), 10)
		require.NoError(t, err)
		require.Empty(t, again, "a claimed delivery is not claimed twice")
		require.NoError(t, s.SaveAlertMessage(ctx, claimed[0].ID, 1, alert.Message{Key: claimed[0].Key, Subject: "hello"}))
		require.NoError(t, s.FinishAlertDelivery(ctx, claimed[0].ID, 1, alert.Outcome{State: alert.DeliveryFailed, Error: "boom", At: now, Health: true}, 1))
		require.ErrorIs(t, s.FinishAlertDelivery(ctx, claimed[0].ID, 1, alert.Outcome{State: alert.DeliverySent, At: now}, 1), fault.ErrConflict)

		c, err := s.AlertChannel(ctx, ch.ID)
		require.NoError(t, err)
		require.True(t, c.Health.Failing)
		failed, err := s.AlertDeliveries(ctx, store.DeliveryQuery{State: alert.DeliveryFailed, ChannelID: ch.ID, Kind: alert.EventJobAbnormal})
		require.NoError(t, err)
		require.Len(t, failed, 1)
		require.Equal(t, "hello", failed[0].Message.Subject)
		none, err := s.AlertDeliveries(ctx, store.DeliveryQuery{State: alert.DeliverySent})
		require.NoError(t, err)
		require.Empty(t, none)
	})
}
