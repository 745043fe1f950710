package calendar_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

func TestStamp(t *testing.T) {
	at := time.Date(2026, 4, 1, 14, 5, 9, 0, time.UTC)
	tokyo, err := calendar.LoadZone("Asia/Tokyo")
	require.NoError(t, err)
	kolkata, err := calendar.LoadZone("Asia/Kolkata")
	require.NoError(t, err)
	sao, err := calendar.LoadZone("America/Sao_Paulo")
	require.NoError(t, err)
	for _, tc := range []struct {
		loc    *time.Location
		layout string
		want   string
	}{
		{tokyo, calendar.StampClock, "23:05 JST"},
		{tokyo, calendar.StampFull, "2026-04-01 23:05:09 JST"},
		{nil, calendar.StampSeconds, "14:05:09 UTC"},
		{kolkata, calendar.StampClock, "19:35 IST"},
		{sao, calendar.StampClock, "11:05 -03:00"}, // the zone database has no letters for it
	} {
		require.Equal(t, tc.want, calendar.Stamp(at, tc.loc, tc.layout))
	}
	_, err = calendar.LoadZone("Mars/Olympus")
	require.ErrorIs(t, err, fault.ErrInvalid)
	_, err = calendar.LoadZone("")
	require.ErrorIs(t, err, fault.ErrInvalid)
}
