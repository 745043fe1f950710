package alert_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// blackHole never answers: it returns only when its deadline passes (or,
// to end the test early, once the healthy channel has delivered).
type blackHole struct {
	delivered <-chan struct{}
	mu        sync.Mutex
	sawOther  bool
}

func (b *blackHole) Send(ctx context.Context, _ alert.Message) error {
	select {
	case <-b.delivered:
		b.mu.Lock()
		b.sawOther = true
		b.mu.Unlock()
		<-ctx.Done()
	case <-ctx.Done():
	}
	return ctx.Err()
}

type signalSender struct {
	once sync.Once
	done chan struct{}
}

func (s *signalSender) Send(context.Context, alert.Message) error {
	s.once.Do(func() { close(s.done) })
	return nil
}

// A black-holed endpoint delays neither the other channels nor, beyond its
// send deadline, the deliverer; its delivery is retried later.
func TestABlackHoledChannelDoesNotDelayTheOthers(t *testing.T) {
	storetest.Each(t, func(t *testing.T, st *store.Store) {
		ctx := context.Background()
		mk := func(name string) alert.Channel {
			ch, err := st.CreateAlertChannel(ctx, alert.Channel{Name: name, Kind: alert.ChannelSlack, Enabled: true, Config: []byte(`{}`)},
				alert.Secrets{WebhookURL: "https://hooks.slack.invalid/services/T/B/" + name}, "test")
			require.NoError(t, err)
			return ch
		}
		dead, good := mk("dead"), mk("good") // the dead channel's delivery is claimed first
		_, err := st.CreateAlertRule(ctx, alert.Rule{Name: "all", Enabled: true, Kinds: []alert.EventKind{alert.EventJobAbnormal},
			Channels: []int64{dead.ID, good.ID}}, "test")
		require.NoError(t, err)
		require.NoError(t, st.EnqueueEvents(ctx, []alert.Event{abnormal("load")}))

		sig := &signalSender{done: make(chan struct{})}
		bh := &blackHole{delivered: sig.done}
		d, err := alert.NewDeliverer(alert.DelivererParams{Store: st, SendTimeout: 2 * time.Second,
			Open: func(c alert.Channel, _ alert.Secrets) (alert.Sender, error) {
				if c.ID == dead.ID {
					return bh, nil
				}
				return sig, nil
			}})
		require.NoError(t, err)
		require.NoError(t, d.Tick(ctx))

		bh.mu.Lock()
		require.True(t, bh.sawOther, "the healthy channel delivered while the black hole was still waiting")
		bh.mu.Unlock()
		ds, err := st.AlertDeliveries(ctx, store.DeliveryQuery{})
		require.NoError(t, err)
		states := map[int64]alert.DeliveryState{}
		for _, dl := range ds {
			states[dl.ChannelID] = dl.State
		}
		require.Equal(t, alert.DeliverySent, states[good.ID])
		require.Equal(t, alert.DeliveryRetrying, states[dead.ID], "a send past its deadline is retried")
	})
}
