package alert_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

func TestQuietHoursUntil(t *testing.T) {
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	ny, _ := time.LoadLocation("America/New_York")
	tests := []struct {
		name      string
		q         alert.QuietHours
		at        time.Time
		quiet     bool
		wantUntil time.Time
	}{
		{"none", alert.QuietHours{}, time.Date(2026, 4, 1, 3, 0, 0, 0, tokyo), false, time.Time{}},
		{"same day inside", alert.QuietHours{From: "12:00", To: "13:00", Zone: "Asia/Tokyo"}, time.Date(2026, 4, 1, 12, 30, 0, 0, tokyo), true, time.Date(2026, 4, 1, 13, 0, 0, 0, tokyo)},
		{"same day end is open", alert.QuietHours{From: "12:00", To: "13:00", Zone: "Asia/Tokyo"}, time.Date(2026, 4, 1, 13, 0, 0, 0, tokyo), false, time.Time{}},
		{"overnight evening", alert.QuietHours{From: "22:00", To: "06:00", Zone: "Asia/Tokyo"}, time.Date(2026, 4, 30, 23, 0, 0, 0, tokyo), true, time.Date(2026, 5, 1, 6, 0, 0, 0, tokyo)},
		{"overnight morning", alert.QuietHours{From: "22:00", To: "06:00", Zone: "Asia/Tokyo"}, time.Date(2026, 4, 1, 5, 59, 0, 0, tokyo), true, time.Date(2026, 4, 1, 6, 0, 0, 0, tokyo)},
		{"overnight daytime", alert.QuietHours{From: "22:00", To: "06:00", Zone: "Asia/Tokyo"}, time.Date(2026, 4, 1, 12, 0, 0, 0, tokyo), false, time.Time{}},
		{"zone applies to a UTC instant", alert.QuietHours{From: "22:00", To: "06:00", Zone: "Asia/Tokyo"}, time.Date(2026, 4, 1, 14, 0, 0, 0, time.UTC), true, time.Date(2026, 4, 2, 6, 0, 0, 0, tokyo)},
		// 02:30 on 2026-03-08 does not exist in New York: the window ends at the first instant after the gap.
		{"dst gap", alert.QuietHours{From: "00:00", To: "02:30", Zone: "America/New_York"}, time.Date(2026, 3, 8, 1, 0, 0, 0, ny), true, time.Date(2026, 3, 8, 3, 0, 0, 0, ny)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			quiet, until := tt.q.Until(tt.at)
			require.Equal(t, tt.quiet, quiet)
			require.True(t, until.Equal(tt.wantUntil), "until %s, want %s", until, tt.wantUntil)
		})
	}
}

func TestRuleMatchesAndValidates(t *testing.T) {
	r := alert.Rule{Name: "r", Enabled: true, Kinds: []alert.EventKind{alert.EventJobAbnormal}, Scope: "sales/nightly", Channels: []int64{1}}
	require.NoError(t, r.Validate())
	require.True(t, r.Matches(alert.Event{Kind: alert.EventJobAbnormal, Folder: "sales", Jobnet: "nightly", Job: "x"}))
	require.False(t, r.Matches(alert.Event{Kind: alert.EventJobAbnormal, Folder: "sales", Jobnet: "nightly2"}))
	require.False(t, r.Matches(alert.Event{Kind: alert.EventJobWarning, Folder: "sales", Jobnet: "nightly"}))
	r.Enabled = false
	require.False(t, r.Matches(alert.Event{Kind: alert.EventJobAbnormal, Folder: "sales", Jobnet: "nightly"}))

	bad := alert.Rule{Name: "<script>", Kinds: []alert.EventKind{"boom"}, Scope: "a//b", Throttle: -time.Second,
		Quiet: alert.QuietHours{From: "25:00", To: "06:00", Zone: "Mars/Base", Policy: "later"}}
	err := bad.Validate()
	require.ErrorIs(t, err, fault.ErrInvalid)
	ps, ok := fault.AsProblems(err)
	require.True(t, ok)
	var paths []string
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	require.ElementsMatch(t, []string{"name", "kinds[0]", "scope", "channels", "throttle", "quiet.from", "quiet.zone", "quiet.policy"}, paths)
}

func TestPlanGroupsPerRuleChannelAndKind(t *testing.T) {
	now := time.Date(2026, 4, 1, 10, 0, 0, 0, time.UTC)
	rules := []alert.Rule{
		{ID: 1, Name: "a", Enabled: true, Kinds: []alert.EventKind{alert.EventJobAbnormal}, Channels: []int64{7, 8, 7}, Throttle: time.Minute},
		{ID: 2, Name: "b", Enabled: true, Kinds: []alert.EventKind{alert.EventJobWarning}, Channels: []int64{7}},
	}
	rs := alert.Plan(rules, alert.Event{Kind: alert.EventJobAbnormal, Folder: "f"}, now)
	require.Len(t, rs, 2, "a channel listed twice gets one delivery")
	require.Equal(t, "r1/c7/job_abnormal", rs[0].GroupKey)
	require.Equal(t, now.Add(time.Minute), rs[0].OpenUntil)
	require.Equal(t, int64(8), rs[1].ChannelID)
}

func TestBackoff(t *testing.T) {
	b := alert.Backoff{Base: 30 * time.Second, Max: 10 * time.Minute}
	for attempt, want := range map[int]time.Duration{1: 30 * time.Second, 2: time.Minute, 3: 2 * time.Minute, 5: 8 * time.Minute, 6: 10 * time.Minute, 60: 10 * time.Minute} {
		require.Equal(t, want, b.Delay(attempt), "attempt %d", attempt)
	}
	require.Equal(t, alert.BackoffBaseDefault, alert.Backoff{}.Delay(1))
}
