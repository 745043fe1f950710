package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/koyomi-dev/koyomi/internal/config"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/ecs"
	"github.com/koyomi-dev/koyomi/internal/dispatch/local"
	"github.com/koyomi-dev/koyomi/internal/dispatch/noop"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// buildExecutors returns the executors of this server: local jobs run
// under the `koyomi supervise` process with their state under <data dir>/jobs, noop
// jobs end at once, ecs and eks jobs run through the stored connections
// (rebuilt when they change, without a restart).
func buildExecutors(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) (dispatch.Registry, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the koyomi binary for the local job supervisor: %w", err)
	}
	stateDir := filepath.Join(cfg.DataDir, "jobs")
	loc, err := local.New(local.Config{StateDir: stateDir, SupervisorCmd: []string{self, "supervise"}, KillGrace: cfg.KillGrace, LogMax: cfg.JobLogMax})
	if err != nil {
		return nil, fmt.Errorf("local executor: %w", err)
	}
	log.Debug("local executor", "state_dir", stateDir)
	reg := dispatch.Registry{
		jobnet.JobLocal: loc,
		jobnet.JobNoop:  noop.New(nil),
	}
	cloud := cloudOptions{CallTimeout: cfg.CloudCallTimeout, UnschedulableLimit: cfg.EKSUnschedulableLimit, StartErrorLimit: cfg.EKSStartErrorLimit,
		MissingGrace: cfg.ECSMissingGrace, Rates: ecs.Rates{RunTask: cfg.ECSRunTaskRate, DescribeTasks: cfg.ECSDescribeRate, GetLogEvents: cfg.ECSLogsRate},
		EKSLogDir: filepath.Join(cfg.DataDir, "eks-logs"), LogMax: cfg.JobLogMax, LogRetention: cfg.JobRetention, CleanupAfter: cfg.EKSCleanupAfter}
	if err := addCloudExecutors(ctx, reg, st, log, cloud); err != nil {
		return nil, err
	}
	return reg, nil
}

// pruneEvery is how often the state of local jobs past --job-retention is removed.
const pruneEvery = time.Hour

// pruneLocalJobs removes, at start-up and then every pruneEvery, the state
// directories and logs of local jobs that ended more than cfg.JobRetention
// ago (never with a retention of 0).
func pruneLocalJobs(ctx context.Context, reg dispatch.Registry, cfg config.Config, log *slog.Logger) error {
	loc, ok := reg[jobnet.JobLocal].(*local.Executor)
	if !ok || cfg.JobRetention <= 0 {
		return nil
	}
	t := time.NewTicker(pruneEvery)
	defer t.Stop()
	for {
		n, err := loc.Prune(ctx, time.Now().Add(-cfg.JobRetention))
		if err != nil && ctx.Err() == nil {
			log.Warn("remove old local job state", "err", err)
		}
		if n > 0 {
			log.Info("removed old local job state", "count", n, "retention", cfg.JobRetention)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}
