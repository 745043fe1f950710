package main

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"

	"golang.org/x/sync/errgroup"

	"github.com/koyomi-dev/koyomi/internal/alert"
	"github.com/koyomi-dev/koyomi/internal/config"
	"github.com/koyomi-dev/koyomi/internal/deadline"
	"github.com/koyomi-dev/koyomi/internal/dispatch/eks"
	"github.com/koyomi-dev/koyomi/internal/metrics"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/runner"
	"github.com/koyomi-dev/koyomi/internal/scheduler"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/internal/web"
)

func cmdServe(ctx context.Context, e env, args []string) error {
	fs := newFlagSet(e, "serve", "serve [flags]")
	resolve := config.Flags(fs, e.getenv)
	if _, err := parseArgs(e, fs, args); err != nil {
		return err
	}
	cfg, err := resolve()
	if err != nil {
		return err
	}
	log := cfg.Logger(e.stderr)
	routeLibraryLogs(log)
	if err := os.MkdirAll(cfg.DataDir, 0o750); err != nil {
		return fmt.Errorf("data dir %s: %w", cfg.DataDir, err)
	}
	st, err := store.Open(ctx, store.Config{URL: cfg.StoreURL(), ExclusiveSQLite: true, Keys: cfg.SecretKeys})
	if err != nil {
		return err
	}
	defer st.Close()
	if cfg.SecretKeys == nil {
		log.Warn("secrets of connections and alert channels are stored unencrypted: set KOYOMI_SECRET_KEY (see docs/deploy/README.md, Security)")
	}
	if cfg.MigrateAtStart() {
		n, err := st.MigrateUp(ctx)
		if err != nil {
			return err
		}
		if n > 0 {
			log.Info("applied migrations", "count", n, "database", st.Location())
		}
	} else if pending, err := st.HasPendingMigrations(ctx); err != nil {
		return err
	} else if pending {
		return fmt.Errorf("the database schema is behind this koyomi binary: run 'koyomi migrate up' or start with --migrate=true")
	}
	if rep, err := st.SecretsStatus(ctx); err != nil {
		return err
	} else if cfg.SecretKeys != nil && rep.Pending() > 0 {
		log.Warn("stored secrets not sealed with the current key: run 'koyomi admin rotate-secrets'", "key", rep.CurrentKey, "plain", rep.Plain, "older_key", rep.Stale)
	}

	svc := ops.New(ops.Params{Store: st, Logger: log})
	mx := metrics.New(st, cfg.Node, log)

	l, err := net.Listen("tcp", cfg.Listen)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", cfg.Listen, err)
	}
	watch, err := deadline.New(deadline.Params{Store: st, BaseURL: cfg.BaseURL, Logger: log})
	if err != nil {
		l.Close()
		return err
	}
	// The first admin only once the server can be reached: a start that
	// fails before leaves no account whose generated password nobody saw.
	created, generated, err := svc.EnsureAdmin(ctx, cfg.AdminPassword)
	if err != nil {
		l.Close()
		return fmt.Errorf("create first admin: %w", err)
	}
	srv := web.New(web.Params{Ops: svc, Sessions: st, DB: st, Logger: log, BaseURL: cfg.BaseURL, SecureCookies: cfg.SecureCookies, Version: version,
		Metrics: mx.Handler(), MetricsToken: cfg.MetricsToken, Node: cfg.Node, TrustedProxies: cfg.TrustedProxies,
		Forecast: watch})

	fmt.Fprintf(e.stdout, "Koyomi %s is serving on %s (database: %s %s)\n", version, cfg.BaseURL, st.Dialect(), st.Location())
	switch {
	case created && generated != "":
		fmt.Fprintf(e.stdout, "Log in as %q with the password %s (generated now and not shown again; change it under Account).\n", ops.AdminUsername, generated)
	case created:
		fmt.Fprintf(e.stdout, "Log in as %q with the password from KOYOMI_ADMIN_PASSWORD.\n", ops.AdminUsername)
	}
	if abs, err := filepath.Abs(cfg.DataDir); err == nil {
		log.Info("data directory", "path", abs)
	}

	execs, err := buildExecutors(ctx, cfg, st, log)
	if err != nil {
		return err
	}
	host, err := hostID(cfg.DataDir)
	if err != nil {
		return err
	}
	run, err := runner.New(runner.Params{Store: st, Executors: execs, Node: cfg.Node, HostID: host, PollInterval: cfg.PollInterval,
		KillGrace: cfg.KillGrace, BaseURL: cfg.BaseURL, Logger: log, OnDispatch: mx.ObserveDispatch})
	if err != nil {
		return err
	}

	svc.SetExecutors(execs)
	sch, err := scheduler.New(scheduler.Params{Store: st, Node: cfg.Node, Horizon: cfg.PlanHorizon, LeaseTTL: cfg.LeaseTTL, Logger: log, BaseURL: cfg.BaseURL,
		OnLeader: func(leader bool) {
			mx.SetLeader(leader)
			log.Info("scheduler leadership", "node", cfg.Node, "leader", leader)
		}})
	if err != nil {
		return err
	}

	deliverer, err := alert.NewDeliverer(alert.DelivererParams{Store: st, Open: ops.AlertOpener, Logger: log,
		PollInterval: cfg.AlertPoll, SendTimeout: cfg.AlertSendTimeout, Backoff: alert.Backoff{Base: cfg.AlertBackoff, Max: cfg.AlertBackoffMax}})
	if err != nil {
		return err
	}

	g, gctx := errgroup.WithContext(ctx)
	g.Go(func() error { return srv.Run(gctx, l) })
	g.Go(func() error { return run.Run(gctx) })
	g.Go(func() error { return sch.Run(gctx) })
	g.Go(func() error { return deliverer.Run(gctx) })
	g.Go(func() error { return pruneLocalJobs(gctx, execs, cfg, log) })
	g.Go(func() error { return watch.Run(gctx) })
	err = g.Wait()
	log.Info("stopped")
	return err
}

// routeLibraryLogs sends the log lines of the standard library's log
// package, the AWS SDK (through the executors' loggers) and client-go (klog)
// to the server's logger, so that --log-format json makes every line JSON.
func routeLibraryLogs(log *slog.Logger) {
	slog.SetDefault(log)
	eks.RouteClientLogs(log)
}
