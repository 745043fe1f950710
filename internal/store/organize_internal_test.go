package store

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestPlansOfMovedOrDeletedJobnets: a plan made before a jobnet was moved
// creates its generations under the new path; one made before it was
// deleted creates none.
func TestPlansOfMovedOrDeletedJobnets(t *testing.T) {
	eachWithClock(t, func(t *testing.T, s *Store, clk *fakeClock) {
		ctx := context.Background()
		a, b := newJobnet(t, s, "a"), newJobnet(t, s, "b")
		at := clk.Now().Add(time.Hour)
		cur, err := s.JobnetByPath(ctx, "f", "a", 0)
		require.NoError(t, err)
		moved := *cur.Jobnet
		moved.Name = "a2"
		_, err = s.MoveJobnet(ctx, JobnetMove{Folder: "f", Name: "a", Expect: cur.Version, Jobnet: &moved}, AuditEntry{Actor: "t", Action: "move", Target: "jobnet/f/a2"})
		require.NoError(t, err)
		_, err = s.DeleteJobnet(ctx, "f", "b", AuditEntry{Actor: "t", Action: "delete", Target: "jobnet/f/b"})
		require.NoError(t, err)

		created, err := s.InsertGenerations(ctx, []Generation{gen(a, "2026-04-01", 600, at, ""), gen(b, "2026-04-01", 600, at, "")})
		require.NoError(t, err)
		require.Len(t, created, 1)
		require.Equal(t, "f/a2", created[0].Jobnet)
		g, err := s.Generation(ctx, created[0].ID)
		require.NoError(t, err)
		require.Equal(t, "f/a2", g.Jobnet)
	})
}
