package main

import (
	"context"
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

// addCloudExecutors adds the ecs executor (built from the aws connections)
// and the eks executor (from the kubernetes connections) to reg. They are
// built once at start-up: a changed connection takes effect after a
// restart. A connection that cannot be used is logged and left out; when
// no usable connection of a type remains, jobs of that type fail to start
// with a reason that says what to define. Only a failure to read the
// connections is an error.
// cloudOptions are the serve settings of the ecs and eks executors (zero:
// the executors' defaults).
type cloudOptions struct {
	CallTimeout        time.Duration
	UnschedulableLimit time.Duration
	StartErrorLimit    time.Duration
}

func addCloudExecutors(ctx context.Context, reg dispatch.Registry, st *store.Store, log *slog.Logger, opts cloudOptions) error {
	var stored []store.StoredConnection
	var install string
	if st != nil {
		var err error
		if stored, err = st.Connections(ctx); err != nil {
			return fmt.Errorf("read connections for the ecs and eks executors: %w", err)
		}
		if install, err = st.InstallationID(ctx); err != nil {
			return fmt.Errorf("ecs and eks executors: %w", err)
		}
	}
	var ecsConns []ecs.Connection
	var eksConns []eks.Connection
	bad := map[jobnet.JobType][]string{}
	for _, c := range stored {
		switch c.Kind {
		case jobnet.ConnectionAWS:
			ec, err := connect.ECS(c.Connection)
			if err != nil {
				log.Error("aws connection left out", "connection", c.Name, "err", err)
				bad[jobnet.JobECS] = append(bad[jobnet.JobECS], c.Name)
				continue
			}
			ecsConns = append(ecsConns, ec)
		case jobnet.ConnectionKubernetes:
			kc, err := connect.EKS(c.Connection)
			if err != nil {
				log.Error("kubernetes connection left out", "connection", c.Name, "err", err)
				bad[jobnet.JobEKS] = append(bad[jobnet.JobEKS], c.Name)
				continue
			}
			// eks.New reads kubeconfig files: try each connection alone so
			// that one bad file does not take the others down.
			if _, err := eks.New(eks.Config{Connections: []eks.Connection{kc}}); err != nil {
				log.Error("kubernetes connection left out", "connection", c.Name, "err", err)
				bad[jobnet.JobEKS] = append(bad[jobnet.JobEKS], c.Name)
				continue
			}
			eksConns = append(eksConns, kc)
		default:
			log.Error("connection of unknown type left out", "connection", c.Name, "type", c.Kind)
		}
	}
	reg[jobnet.JobECS] = unavailable(jobnet.JobECS, jobnet.ConnectionAWS, bad[jobnet.JobECS], nil)
	if len(ecsConns) > 0 {
		ex, err := ecs.New(ecs.Config{Connections: ecsConns, Installation: install, CallTimeout: opts.CallTimeout, Logger: log.With("executor", "ecs")})
		if err != nil {
			log.Error("ecs executor left out", "err", err)
			reg[jobnet.JobECS] = unavailable(jobnet.JobECS, jobnet.ConnectionAWS, nil, err)
		} else {
			reg[jobnet.JobECS] = ex
			log.Info("ecs executor", "connections", len(ecsConns))
		}
	}
	reg[jobnet.JobEKS] = unavailable(jobnet.JobEKS, jobnet.ConnectionKubernetes, bad[jobnet.JobEKS], nil)
	if len(eksConns) > 0 {
		ex, err := eks.New(eks.Config{Connections: eksConns, Installation: install, CallTimeout: opts.CallTimeout,
			UnschedulableLimit: opts.UnschedulableLimit, StartErrorLimit: opts.StartErrorLimit, Logger: log.With("executor", "eks")})
		if err != nil {
			log.Error("eks executor left out", "err", err)
			reg[jobnet.JobEKS] = unavailable(jobnet.JobEKS, jobnet.ConnectionKubernetes, nil, err)
		} else {
			reg[jobnet.JobEKS] = ex
			log.Info("eks executor", "connections", len(eksConns))
		}
	}
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
		reason = fmt.Sprintf("no executor for job type %s: the %s connections %q are invalid (see the server log); fix them and restart", t, kind, badConns)
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
