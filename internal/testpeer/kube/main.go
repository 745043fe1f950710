package kube

import (
	"context"
	"errors"
	"fmt"
	"os"
	"testing"
)

// Env is the control plane of one test package, set up by Main.
type Env struct {
	// CP is the running control plane; nil when it could not start.
	CP *ControlPlane
	// skip explains why CP is nil.
	skip string
}

// Main starts a control plane for a test package, runs its tests and stops
// it; use it from TestMain: os.Exit(kube.Main(m, opts, &env)). Missing
// binaries do not abort the package: tests that call env.Need skip (or fail
// under CI=true), other tests still run. Any other start-up failure fails
// the package.
func Main(m *testing.M, opts Options, env *Env) int {
	cp, err := Start(context.Background(), opts)
	switch {
	case errors.Is(err, ErrNoBinaries):
		env.skip = err.Error()
	case err != nil:
		fmt.Fprintf(os.Stderr, "kube test control plane: %v\n", err)
		return 1
	default:
		env.CP = cp
	}
	code := m.Run()
	if cp != nil {
		if err := cp.Stop(); err != nil {
			fmt.Fprintf(os.Stderr, "kube test control plane stop: %v\n", err)
			if code == 0 {
				code = 1
			}
		}
	}
	return code
}

// Need returns the control plane, or ends the test: t.Skip with the reason
// locally, t.Fatal when CI=true (a CI run must never silently skip).
func (e *Env) Need(tb testing.TB) *ControlPlane {
	tb.Helper()
	if e.CP != nil {
		return e.CP
	}
	reason := e.skip
	if reason == "" {
		reason = "kube.Main did not run"
	}
	if os.Getenv("CI") == "true" {
		tb.Fatalf("kubernetes control plane unavailable under CI=true: %s", reason)
	}
	tb.Skipf("kubernetes control plane unavailable: %s", reason)
	return nil
}
