package metrics_test

import (
	"context"
	"io"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/metrics"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func TestMetricsReportDatabaseStateLeaderAndDispatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, err := s.ApplyDefinitions(ctx, store.Definitions{
			Folders: []jobnet.Folder{{Name: "f"}},
			Jobnets: []*jobnet.Jobnet{{Name: "j", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{{Name: "a", Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobNoop}}}}}},
		}, "t")
		require.NoError(t, err)
		info, err := s.Jobnets(ctx, "f")
		require.NoError(t, err)
		for i := 0; i < 3; i++ {
			require.NoError(t, s.InsertGeneration(ctx, store.Generation{
				JobnetID: info[0].ID, JobnetVersion: 1, Jobnet: "f/j", Folder: "f",
				BusinessDate: calendar.MustParseDate("2026-04-01"), Rule: "r", StartClock: calendar.ClockTime(60 * (i + 1)),
				ScheduledAt: time.Date(2026, 4, 1, i+1, 0, 0, 0, time.UTC), State: jobrun.GenWaiting,
			}))
		}
		m := metrics.New(s, "node-a", nil)
		m.SetLeader(true)
		m.ObserveDispatch(3 * time.Millisecond)
		rec := httptest.NewRecorder()
		m.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
		body, _ := io.ReadAll(rec.Body)
		text := string(body)
		require.Contains(t, text, `koyomi_generations{state="waiting"} 3`)
		require.Contains(t, text, `koyomi_leader{node="node-a"} 1`)
		require.Contains(t, text, `koyomi_dispatch_seconds_count{node="node-a"} 1`)
		require.Contains(t, text, `koyomi_queue_depth 0`)
		require.Contains(t, text, `koyomi_database_up 1`)
	})
}
