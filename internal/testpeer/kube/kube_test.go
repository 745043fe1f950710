package kube

import (
	"context"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMissingAndBinDir(t *testing.T) {
	dir := t.TempDir()
	t.Setenv(BinsEnv, dir)
	require.Equal(t, dir, BinDir())
	for _, b := range []string{BinEtcd, BinAPIServer} {
		require.NoError(t, os.WriteFile(filepath.Join(dir, b), []byte("#!/bin/sh\n"), 0o755))
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, BinKWOK), []byte("not executable"), 0o644))
	require.Empty(t, Options{}.Missing())
	require.Equal(t, []string{BinControllerManager, BinScheduler}, Options{Controllers: true}.Missing())
	require.Equal(t, []string{BinControllerManager, BinScheduler, BinKWOK}, Options{KWOK: true}.Missing())

	_, err := Start(context.Background(), Options{KWOK: true})
	require.True(t, errors.Is(err, ErrNoBinaries), "%v", err)
}

func TestServingCert(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, writeServingCert(filepath.Join(dir, "c"), filepath.Join(dir, "k")))
	b, err := os.ReadFile(filepath.Join(dir, "c"))
	require.NoError(t, err)
	blk, _ := pem.Decode(b)
	cert, err := x509.ParseCertificate(blk.Bytes)
	require.NoError(t, err)
	require.NoError(t, cert.VerifyHostname("127.0.0.1"))
}

// TestStartStop starts etcd and the API server only, uses them and stops
// them in order.
func TestStartStop(t *testing.T) {
	opts := Options{}
	if m := opts.Missing(); len(m) > 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("binaries missing under CI=true: %v", m)
		}
		t.Skipf("binaries missing (run `make k8s-bins`): %v", m)
	}
	ctx := context.Background()
	cp, err := Start(ctx, opts)
	require.NoError(t, err)
	v, err := cp.Client.Discovery().ServerVersion()
	require.NoError(t, err)
	require.Equal(t, Version, v.GitVersion)
	ns, err := cp.Namespace(ctx, "harness")
	require.NoError(t, err)
	require.Equal(t, "harness-1", ns)
	_, err = os.Stat(cp.Kubeconfig)
	require.NoError(t, err)
	dir := cp.Dir
	require.NoError(t, cp.Stop())
	_, err = os.Stat(dir)
	require.True(t, os.IsNotExist(err))
}
