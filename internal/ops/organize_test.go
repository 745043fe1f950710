package ops_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/jobrun"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/store/storetest"
)

// TestOrganizeJobnets: rename, move, copy and delete keep versions, runs
// and references meaningful, and refuse what would leave a reference
// dangling, naming it.
func TestOrganizeJobnets(t *testing.T) {
	now := time.Date(2026, 4, 1, 1, 30, 0, 0, time.UTC)
	for _, d := range storetest.Dialects {
		t.Run(d, func(t *testing.T) {
			ctx := context.Background()
			svc, st := runsFixture(t, d, now)
			job := &jobnet.Job{Type: jobnet.JobLocal, Local: &jobnet.LocalSpec{Command: "true"}}
			_, err := st.ApplyDefinitions(ctx, store.Definitions{
				Folders: []jobnet.Folder{{Name: "g", Calendar: "c"}},
				Jobnets: []*jobnet.Jobnet{{Name: "w", Folder: "f", Net: jobnet.Net{Units: []jobnet.Unit{
					{Name: "wait", Kind: jobnet.UnitWait, Wait: &jobnet.Wait{Jobnet: "n"}},
					{Name: "go", Kind: jobnet.UnitJob, Job: job},
				}, Edges: []jobnet.Edge{{From: "wait", To: "go"}}}}},
			}, "t")
			require.NoError(t, err)
			ran, err := svc.RunNow(ctx, operator, ops.RunNowRequest{Jobnet: "f/w"})
			require.NoError(t, err)

			// f/n is waited on by f/w: it can be copied, not renamed or deleted.
			_, err = svc.MoveJobnet(ctx, viewer, "f/n", "f/n2")
			require.ErrorIs(t, err, fault.ErrForbidden)
			_, err = svc.MoveJobnet(ctx, designer, "f/n", "f/n2")
			require.ErrorIs(t, err, fault.ErrConflict)
			var de *ops.DependentsError
			require.ErrorAs(t, err, &de)
			require.Equal(t, []ops.Dependent{{Kind: "jobnet", Name: "f/w", Where: "units[wait].wait", Target: "f/n"}}, de.Dependents)
			require.Contains(t, err.Error(), "f/w units[wait].wait")
			_, err = svc.DeleteJobnet(ctx, designer, "f/n")
			require.ErrorAs(t, err, &de)
			_, err = svc.MoveJobnet(ctx, designer, "f/w", "f/n")
			require.ErrorIs(t, err, fault.ErrConflict, "onto an existing jobnet")
			_, err = svc.MoveJobnet(ctx, designer, "f/w", "nope/w")
			require.ErrorIs(t, err, fault.ErrInvalid, "into a missing folder")
			_, err = svc.MoveJobnet(ctx, designer, "f/w", "f/bad name")
			require.ErrorIs(t, err, fault.ErrInvalid)

			// Move f/w to g/w2: a new version, its bare reference qualified,
			// its run listed under the new path.
			v, err := svc.MoveJobnet(ctx, designer, "f/w", "g/w2")
			require.NoError(t, err)
			require.Equal(t, 2, v)
			_, err = st.JobnetByPath(ctx, "f", "w", 0)
			require.ErrorIs(t, err, fault.ErrNotFound)
			cur, err := st.JobnetByPath(ctx, "g", "w2", 0)
			require.NoError(t, err)
			require.Equal(t, "f/n", cur.Jobnet.Units[0].Wait.Jobnet)
			vs, err := st.JobnetVersions(ctx, "g", "w2")
			require.NoError(t, err)
			require.Len(t, vs, 2, "the history moves along")
			require.Equal(t, "w", vs[1].Jobnet.Name, "version 1 still reads as it was")
			gs, err := svc.Generations(ctx, store.GenerationQuery{Jobnet: "g/w2"})
			require.NoError(t, err)
			require.Len(t, gs, 1)
			require.Equal(t, ran.ID, gs[0].ID)

			// Copy: version 1, no runs.
			_, err = svc.CopyJobnet(ctx, designer, "f/n", "g/n")
			require.NoError(t, err)
			gs, err = svc.Generations(ctx, store.GenerationQuery{Jobnet: "g/n"})
			require.NoError(t, err)
			require.Empty(t, gs)
			_, err = svc.CopyJobnet(ctx, designer, "f/n", "g/n")
			require.ErrorIs(t, err, fault.ErrConflict)

			// Delete g/n: its unstarted run is not executed, the name is free.
			pending, err := svc.RunNow(ctx, operator, ops.RunNowRequest{Jobnet: "g/n"})
			require.NoError(t, err)
			cancelled, err := svc.DeleteJobnet(ctx, designer, "g/n")
			require.NoError(t, err)
			require.Equal(t, []string{pending.ID}, cancelled)
			g, err := st.Generation(ctx, pending.ID)
			require.NoError(t, err)
			require.Equal(t, jobrun.GenNotExecuted, g.State)
			require.Equal(t, "g/n", g.Jobnet, "a deleted jobnet's run keeps its name")
			_, err = st.JobnetByPath(ctx, "g", "n", 0)
			require.ErrorIs(t, err, fault.ErrNotFound)
			list, err := svc.DesignJobnets(ctx, "g")
			require.NoError(t, err)
			require.Len(t, list, 1)
			_, err = svc.CopyJobnet(ctx, designer, "f/n", "g/n")
			require.NoError(t, err, "the name is free again")

			// Folders: f holds f/n, named from g by folder/name.
			err = svc.DeleteFolder(ctx, designer, "f")
			require.ErrorIs(t, err, fault.ErrConflict)
			require.Contains(t, err.Error(), "n")
			_, err = svc.RenameFolder(ctx, designer, "f", "h")
			require.ErrorAs(t, err, &de)
			require.Equal(t, "g/w2", de.Dependents[0].Name)
			n, err := svc.CopyFolder(ctx, designer, "g", "k")
			require.NoError(t, err)
			require.Equal(t, 2, n)
			n, err = svc.RenameFolder(ctx, designer, "k", "m")
			require.NoError(t, err)
			require.Equal(t, 2, n)
			_, err = st.Folder(ctx, "k")
			require.ErrorIs(t, err, fault.ErrNotFound)
			moved, err := st.JobnetByPath(ctx, "m", "w2", 0)
			require.NoError(t, err)
			require.Equal(t, 2, moved.Version)
			for _, p := range []string{"m/w2", "m/n"} {
				_, err := svc.DeleteJobnet(ctx, designer, p)
				require.NoError(t, err)
			}
			require.NoError(t, svc.DeleteFolder(ctx, designer, "m"))
			_, err = st.Folder(ctx, "m")
			require.ErrorIs(t, err, fault.ErrNotFound)
			require.NoError(t, svc.CreateFolder(ctx, designer, jobnet.Folder{Name: "m", Calendar: "c"}), "a deleted folder's name is free")

			log, err := st.AuditLog(ctx, store.AuditQuery{Actor: "dora"})
			require.NoError(t, err)
			var got []string
			for _, e := range log {
				got = append(got, e.Action+" "+e.Target)
			}
			require.Contains(t, got, "move jobnet/g/w2")
			require.Contains(t, got, "copy jobnet/g/n")
			require.Contains(t, got, "delete jobnet/g/n")
			require.Contains(t, got, "move folder/m")
			require.Contains(t, got, "delete folder/m")
		})
	}
}
