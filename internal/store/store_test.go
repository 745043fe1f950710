package store_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

func TestMain(m *testing.M) { os.Exit(storetest.Main(m)) }

func sampleDefs() store.Definitions {
	return store.Definitions{
		Folders:   []jobnet.Folder{{Name: "sales", Calendar: "jp-company"}},
		Calendars: []calendar.Definition{{Name: "jp-company", TimeZone: "Asia/Tokyo", HolidaySets: []string{"jp"}, ClosedWeekdays: []calendar.Weekday{calendar.Weekday(time.Saturday), calendar.Weekday(time.Sunday)}}},
		Pools:     []jobnet.Pool{{Name: "local", Slots: 4}},
		Jobnets: []*jobnet.Jobnet{{
			Name: "nightly", Folder: "sales",
			Net: jobnet.Net{Units: []jobnet.Unit{
				{Name: "extract", Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: "echo extract"}}},
				{Name: "load", Kind: jobnet.UnitJob, Job: &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: "echo load"}}},
			}, Edges: []jobnet.Edge{{From: "extract", To: "load"}}},
		}},
	}
}

func TestApplyCreatesThenIsIdempotentThenVersions(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		res, err := s.ApplyDefinitions(ctx, sampleDefs(), "alice")
		require.NoError(t, err)
		require.Len(t, res, 4)
		for _, r := range res {
			require.Equal(t, store.ChangeCreated, r.Change, r.Name)
		}

		res, err = s.ApplyDefinitions(ctx, sampleDefs(), "alice")
		require.NoError(t, err)
		for _, r := range res {
			require.Equal(t, store.ChangeUnchanged, r.Change, r.Name)
		}

		defs := sampleDefs()
		defs.Jobnets[0].Units[1].Job.Local.Command = "echo load v2"
		res, err = s.ApplyDefinitions(ctx, defs, "bob")
		require.NoError(t, err)
		require.Equal(t, store.AppliedObject{Kind: "Jobnet", Name: "sales/nightly", Change: store.ChangeUpdated, Version: 2}, res[3])

		vs, err := s.JobnetVersions(ctx, "sales", "nightly")
		require.NoError(t, err)
		require.Len(t, vs, 2)
		require.Equal(t, 2, vs[0].Version)
		require.Equal(t, "bob", vs[0].CreatedBy)
		require.Equal(t, "echo load v2", vs[0].Jobnet.Units[1].Job.Local.Command)
		require.Equal(t, "echo load", vs[1].Jobnet.Units[1].Job.Local.Command, "old versions stay readable")

		cur, err := s.JobnetByPath(ctx, "sales", "nightly", 0)
		require.NoError(t, err)
		require.Equal(t, 2, cur.Version)
		old, err := s.JobnetByPath(ctx, "sales", "nightly", 1)
		require.NoError(t, err)
		require.Equal(t, "echo load", old.Jobnet.Units[1].Job.Local.Command)

		snap, err := s.Snapshot(ctx, "")
		require.NoError(t, err)
		require.Len(t, snap.Jobnets, 1)
		require.Equal(t, "Asia/Tokyo", snap.Calendars[0].TimeZone)
		require.Equal(t, []calendar.Weekday{calendar.Weekday(time.Saturday), calendar.Weekday(time.Sunday)}, snap.Calendars[0].ClosedWeekdays)
	})
}

func TestApplyIsAtomic(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		defs := sampleDefs()
		// A jobnet in a folder that does not exist violates the foreign key
		// after the folder, calendar and pool were written: nothing may stay.
		defs.Jobnets = append(defs.Jobnets, &jobnet.Jobnet{Name: "orphan", Folder: "nowhere"})
		_, err := s.ApplyDefinitions(ctx, defs, "alice")
		require.Error(t, err)
		fs, err := s.Folders(ctx)
		require.NoError(t, err)
		require.Empty(t, fs)
		cs, err := s.Calendars(ctx)
		require.NoError(t, err)
		require.Empty(t, cs)
	})
}

func TestNotFoundAndConflictCategories(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		_, err := s.JobnetByPath(ctx, "x", "y", 0)
		require.ErrorIs(t, err, fault.ErrNotFound)
		_, err = s.CreateUser(ctx, store.User{Username: "admin", PasswordHash: "h", Role: store.RoleAdmin})
		require.NoError(t, err)
		_, err = s.CreateUser(ctx, store.User{Username: "admin", PasswordHash: "h", Role: store.RoleAdmin})
		require.ErrorIs(t, err, fault.ErrConflict)
	})
}

func TestSessionsTokensAudit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		u, err := s.CreateUser(ctx, store.User{Username: "ops", PasswordHash: "h", Role: store.RoleOperator})
		require.NoError(t, err)

		require.NoError(t, s.SessionCommit(ctx, "tok", 0, []byte("data"), time.Now().Add(time.Hour)))
		data, ok, err := s.SessionFind(ctx, "tok")
		require.NoError(t, err)
		require.True(t, ok)
		require.Equal(t, "data", string(data))
		require.NoError(t, s.SessionCommit(ctx, "tok", 0, []byte("data2"), time.Now().Add(time.Hour)))
		data, _, _ = s.SessionFind(ctx, "tok")
		require.Equal(t, "data2", string(data))
		require.NoError(t, s.SessionCommit(ctx, "old", 0, []byte("x"), time.Now().Add(-time.Hour)))
		_, ok, err = s.SessionFind(ctx, "old")
		require.NoError(t, err)
		require.False(t, ok, "expired sessions are not found")
		require.NoError(t, s.SessionDelete(ctx, "tok"))
		_, ok, _ = s.SessionFind(ctx, "tok")
		require.False(t, ok)

		_, err = s.CreateAPIToken(ctx, u.ID, "ci", "hash1")
		require.NoError(t, err)
		got, err := s.UserByTokenHash(ctx, "hash1")
		require.NoError(t, err)
		require.Equal(t, "ops", got.Username)
		_, err = s.UserByTokenHash(ctx, "nope")
		require.ErrorIs(t, err, fault.ErrNotFound)

		require.NoError(t, s.Audit(ctx, store.AuditEntry{Actor: "ops", Action: "hold", Target: "run/abc_1%", Detail: "x"}))
		require.NoError(t, s.Audit(ctx, store.AuditEntry{Actor: "ops", Action: "kill", Target: "run/abcX1"}))
		es, err := s.AuditLog(ctx, store.AuditQuery{Target: "run/abc_1%"})
		require.NoError(t, err)
		require.Len(t, es, 1, "LIKE wildcards in the filter are literal")
		require.Equal(t, "hold", es[0].Action)
	})
}

func TestMigrateDownAndStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		st, err := s.MigrationStatuses(ctx)
		require.NoError(t, err)
		require.NotEmpty(t, st)
		for _, m := range st {
			require.True(t, m.Applied, m.Name)
		}
		pending, err := s.HasPendingMigrations(ctx)
		require.NoError(t, err)
		require.False(t, pending)
		for range st {
			require.NoError(t, s.MigrateDown(ctx))
		}
		pending, err = s.HasPendingMigrations(ctx)
		require.NoError(t, err)
		require.True(t, pending)
		n, err := s.MigrateUp(ctx)
		require.NoError(t, err)
		require.Equal(t, len(st), n)
	})
}

func TestSQLiteIsSingleProcess(t *testing.T) {
	path := filepath.Join(t.TempDir(), "k.db")
	ctx := context.Background()
	a, err := store.Open(ctx, store.Config{URL: "sqlite:" + path, ExclusiveSQLite: true})
	require.NoError(t, err)
	defer a.Close()
	_, err = store.Open(ctx, store.Config{URL: "sqlite:" + path, ExclusiveSQLite: true})
	require.ErrorIs(t, err, store.ErrLocked)
	require.ErrorContains(t, err, "single-process")
}

func TestBadURL(t *testing.T) {
	_, err := store.Open(context.Background(), store.Config{URL: "mysql://u:secret@h/db"})
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.NotContains(t, err.Error(), "secret")
}
