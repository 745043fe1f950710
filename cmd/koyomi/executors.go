package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"

	"github.com/koyomi-dev/koyomi/internal/config"
	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/local"
	"github.com/koyomi-dev/koyomi/internal/dispatch/noop"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// buildExecutors returns the executors of this server: local jobs run
// through `koyomi supervise` with their state under <data dir>/jobs, noop
// jobs end at once, ecs and eks jobs run through the stored connections
// (rebuilt when they change, without a restart).
func buildExecutors(ctx context.Context, cfg config.Config, st *store.Store, log *slog.Logger) (dispatch.Registry, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("find the koyomi binary for the local job supervisor: %w", err)
	}
	stateDir := filepath.Join(cfg.DataDir, "jobs")
	loc, err := local.New(local.Config{StateDir: stateDir, SupervisorCmd: []string{self, "supervise"}, KillGrace: cfg.KillGrace})
	if err != nil {
		return nil, fmt.Errorf("local executor: %w", err)
	}
	log.Debug("local executor", "state_dir", stateDir)
	reg := dispatch.Registry{
		jobnet.JobLocal: loc,
		jobnet.JobNoop:  noop.New(nil),
	}
	cloud := cloudOptions{CallTimeout: cfg.CloudCallTimeout, UnschedulableLimit: cfg.EKSUnschedulableLimit, StartErrorLimit: cfg.EKSStartErrorLimit}
	if err := addCloudExecutors(ctx, reg, st, log, cloud); err != nil {
		return nil, err
	}
	return reg, nil
}
