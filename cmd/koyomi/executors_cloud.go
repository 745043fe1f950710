package main

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/connect"
	"github.com/koyomi-dev/koyomi/internal/dispatch/ecs"
	"github.com/koyomi-dev/koyomi/internal/dispatch/eks"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// cloudOptions are the serve settings of the ecs and eks executors (zero:
// the executors' defaults).
type cloudOptions struct {
	CallTimeout        time.Duration
	UnschedulableLimit time.Duration
	StartErrorLimit    time.Duration
	// MissingGrace and Rates: see ecs.Config.
	MissingGrace time.Duration
	Rates        ecs.Rates
	// Refresh: how often the connections are checked for changes
	// (connect.RefreshDefault when zero).
	Refresh time.Duration
	// EKSLogDir keeps the logs of ended pods (eks.Config.LogDir), capped
	// at LogMax and removed after LogRetention; CleanupAfter is how long an
	// ended pod stays after that.
	EKSLogDir    string
	LogMax       int64
	LogRetention time.Duration
	CleanupAfter time.Duration
}

// addCloudExecutors adds the ecs executor (built from the aws connections)
// and the eks executor (from the kubernetes connections) to reg. Both are
// rebuilt from the stored connections whenever these change (checked every
// connect.RefreshDefault), so a connection edited in the GUI or by apply
// takes effect without a restart. A connection that cannot be used is
// logged and left out; when no usable connection of a type remains, jobs of
// that type fail to start with a reason that says what to define. Only a
// failure to read the installation id is an error.
func addCloudExecutors(ctx context.Context, reg dispatch.Registry, st *store.Store, log *slog.Logger, opts cloudOptions) error {
	var install string
	if st != nil {
		var err error
		if install, err = st.InstallationID(ctx); err != nil {
			return fmt.Errorf("ecs and eks executors: %w", err)
		}
	}
	load := func(kind jobnet.ConnectionKind) func(context.Context) (connect.Snapshot, error) {
		return func(ctx context.Context) (connect.Snapshot, error) {
			var snap connect.Snapshot
			if st == nil {
				return snap, nil
			}
			stored, err := st.Connections(ctx)
			if err != nil {
				return snap, fmt.Errorf("read connections for the %s executor: %w", kind, err)
			}
			// The fingerprint covers every field (secrets included, hashed),
			// so any change rebuilds the executor.
			h := sha256.New()
			enc := json.NewEncoder(h)
			for _, c := range stored {
				if c.Kind == kind {
					snap.Connections = append(snap.Connections, c.Connection)
					if err := enc.Encode(c.Connection); err != nil {
						return snap, fmt.Errorf("fingerprint connection %s: %w", c.Name, err)
					}
					fmt.Fprintf(h, "%d\n", c.UpdatedAt.UnixNano())
				}
			}
			snap.Fingerprint = hex.EncodeToString(h.Sum(nil))
			return snap, nil
		}
	}
	ecsLog, eksLog := log.With("executor", "ecs"), log.With("executor", "eks")
	reg[jobnet.JobECS] = connect.NewLive(connect.LiveParams{Type: jobnet.JobECS, Load: load(jobnet.ConnectionAWS), Batch: true, Refresh: opts.Refresh,
		Build: func(conns []jobnet.Connection) dispatch.Executor {
			var ecsConns []ecs.Connection
			var bad []string
			for _, c := range conns {
				ec, err := connect.ECS(c)
				if err != nil {
					ecsLog.Error("aws connection left out", "connection", c.Name, "err", err)
					bad = append(bad, c.Name)
					continue
				}
				ecsConns = append(ecsConns, ec)
			}
			if len(ecsConns) == 0 {
				return unavailable(jobnet.JobECS, jobnet.ConnectionAWS, bad, nil)
			}
			ex, err := ecs.New(ecs.Config{Connections: ecsConns, Installation: install, CallTimeout: opts.CallTimeout,
				MissingGrace: opts.MissingGrace, Rates: opts.Rates, Logger: ecsLog})
			if err != nil {
				ecsLog.Error("ecs executor left out", "err", err)
				return unavailable(jobnet.JobECS, jobnet.ConnectionAWS, nil, err)
			}
			ecsLog.Info("ecs executor built", "connections", len(ecsConns))
			return ex
		}})
	reg[jobnet.JobEKS] = connect.NewLive(connect.LiveParams{Type: jobnet.JobEKS, Load: load(jobnet.ConnectionKubernetes), Refresh: opts.Refresh,
		Build: func(conns []jobnet.Connection) dispatch.Executor {
			var eksConns []eks.Connection
			var bad []string
			for _, c := range conns {
				kc, err := connect.EKS(c)
				if err == nil {
					// eks.New reads kubeconfig files: try each connection alone
					// so that one bad file does not take the others down.
					var probe *eks.Executor
					if probe, err = eks.New(eks.Config{Connections: []eks.Connection{kc}}); err == nil {
						_ = probe.Close()
					}
				}
				if err != nil {
					eksLog.Error("kubernetes connection left out", "connection", c.Name, "err", err)
					bad = append(bad, c.Name)
					continue
				}
				eksConns = append(eksConns, kc)
			}
			if len(eksConns) == 0 {
				return unavailable(jobnet.JobEKS, jobnet.ConnectionKubernetes, bad, nil)
			}
			ex, err := eks.New(eks.Config{Connections: eksConns, Installation: install, CallTimeout: opts.CallTimeout,
				UnschedulableLimit: opts.UnschedulableLimit, StartErrorLimit: opts.StartErrorLimit, Logger: eksLog,
				LogDir: opts.EKSLogDir, LogMax: opts.LogMax, LogRetention: opts.LogRetention, CleanupAfter: opts.CleanupAfter})
			if err != nil {
				eksLog.Error("eks executor left out", "err", err)
				return unavailable(jobnet.JobEKS, jobnet.ConnectionKubernetes, nil, err)
			}
			eksLog.Info("eks executor built", "connections", len(eksConns))
			return ex
		}})
	return nil
}

// unavailableExecutor stands in for an executor that could not be built:
// starts are rejected for good with the reason, so that jobs of its type
// fail to start with an explanation instead of waiting.
type unavailableExecutor struct {
	typ    jobnet.JobType
	reason string
}

func unavailable(t jobnet.JobType, kind jobnet.ConnectionKind, badConns []string, err error) *unavailableExecutor {
	article := "a"
	if kind == jobnet.ConnectionAWS {
		article = "an"
	}
	reason := fmt.Sprintf("no executor for job type %s: define %s %s connection", t, article, kind)
	switch {
	case err != nil:
		reason = fmt.Sprintf("no executor for job type %s: %v", t, err)
	case len(badConns) > 0:
		reason = fmt.Sprintf("no executor for job type %s: the %s connections %q are invalid (see the server log); fix them", t, kind, badConns)
	}
	return &unavailableExecutor{typ: t, reason: reason}
}

func (u *unavailableExecutor) Type() jobnet.JobType { return u.typ }

func (u *unavailableExecutor) Start(context.Context, dispatch.Request) (dispatch.Handle, error) {
	return dispatch.Handle{}, &dispatch.Permanent{Err: fmt.Errorf("%s: %w", u.reason, dispatch.ErrNoExecutor)}
}

func (u *unavailableExecutor) Status(context.Context, dispatch.Handle) (dispatch.Status, error) {
	return dispatch.Status{}, fmt.Errorf("%s: %w", u.reason, dispatch.ErrNoExecutor)
}

func (u *unavailableExecutor) Logs(context.Context, dispatch.Handle, string, int) (dispatch.LogChunk, error) {
	return dispatch.LogChunk{}, fmt.Errorf("%s: %w", u.reason, dispatch.ErrNoExecutor)
}

func (u *unavailableExecutor) Cancel(context.Context, dispatch.Handle, time.Duration) error {
	return fmt.Errorf("%s: %w", u.reason, dispatch.ErrNoExecutor)
}
