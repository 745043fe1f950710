package runner

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// longLogExec serves a log in chunks from its start.
type longLogExec struct{ log string }

func (e *longLogExec) Type() jobnet.JobType { return jobnet.JobEKS }
func (e *longLogExec) Start(context.Context, dispatch.Request) (dispatch.Handle, error) {
	return dispatch.Handle{}, nil
}
func (e *longLogExec) Status(context.Context, dispatch.Handle) (dispatch.Status, error) {
	return dispatch.Status{}, nil
}
func (e *longLogExec) Cancel(context.Context, dispatch.Handle, time.Duration) error { return nil }

func (e *longLogExec) Logs(_ context.Context, _ dispatch.Handle, cursor string, limit int) (dispatch.LogChunk, error) {
	off, _ := strconv.Atoi(cursor)
	end := min(off+limit, len(e.log))
	return dispatch.LogChunk{Data: []byte(e.log[off:end]), Next: strconv.Itoa(end), More: end < len(e.log)}, nil
}

// tailingExec is also a dispatch.LineTailer that answers from the log's end.
type tailingExec struct{ longLogExec }

func (e *tailingExec) TailLines(_ context.Context, _ dispatch.Handle, n int) ([]string, error) {
	return dispatch.LastLines([]byte(e.log), n), nil
}

// TestLogTailIsTheEndOfALongLog: the alert of a job whose log is longer
// than what is read from its start carries the log's real last lines when
// the executor can read the end directly.
func TestLogTailIsTheEndOfALongLog(t *testing.T) {
	var b strings.Builder
	for i := range 100_000 {
		fmt.Fprintf(&b, "line %06d %s\n", i, strings.Repeat("w", 48))
	}
	log := b.String()
	r := &Runner{}
	got := r.logTail(context.Background(), &tailingExec{longLogExec{log: log}}, dispatch.Handle{}, 2)
	require.Equal(t, []string{"line 099998 " + strings.Repeat("w", 48), "line 099999 " + strings.Repeat("w", 48)}, got)

	// An executor that can only read from the start gives what fits in
	// the bound: not the end of a log this long.
	got = r.logTail(context.Background(), &longLogExec{log: log}, dispatch.Handle{}, 2)
	require.Len(t, got, 2)
	require.NotEqual(t, "line 099999 "+strings.Repeat("w", 48), got[1])
}
