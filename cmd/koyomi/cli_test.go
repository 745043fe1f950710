package main

import (
	"bytes"
	"context"
	"encoding/base64"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/seal"
	"github.com/koyomi-dev/koyomi/internal/store"
)

func TestUnexpectedArgumentsAreRefusedNotIgnored(t *testing.T) {
	out, _, err := koyomi(t, t.TempDir(), "plan", "-f", "../../examples", "hr/payroll-calc", "--from", "2026-01-01", "--to", "2026-01-31")
	require.Equal(t, 2, exitCode(err), out)
	require.ErrorContains(t, err, `"hr/payroll-calc"`)
	require.Empty(t, out, "nothing is printed as if the arguments were understood")

	for _, args := range [][]string{
		{"schema", "extra"}, {"version", "extra"}, {"export", "folder"}, {"apply", "-f", "x.yaml", "y.yaml"},
		{"migrate", "up", "down"}, {"serve", "now"}, {"run", "status", "a/b", "c"}, {"admin", "reset-password", "a", "b"},
	} {
		_, _, err := koyomi(t, t.TempDir(), args...)
		require.Equal(t, 2, exitCode(err), "%v: %v", args, err)
	}
}

func TestFlagsBeforeOrAfterTheSubcommandWord(t *testing.T) {
	for _, args := range [][]string{{"migrate", "up", "--data-dir", "D"}, {"migrate", "--data-dir", "D", "up"}} {
		dir := t.TempDir()
		for i, a := range args {
			if a == "D" {
				args[i] = dir
			}
		}
		out, _, err := koyomi(t, t.TempDir(), args...)
		require.NoError(t, err, "%v", args)
		require.Contains(t, out, filepath.Join(dir, "koyomi.db"))
		require.FileExists(t, filepath.Join(dir, "koyomi.db"))
	}
}

func TestHelpAndVersion(t *testing.T) {
	out, _, err := koyomi(t, t.TempDir(), "--version")
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(out, "koyomi "), out)

	subs := map[string][]string{"run": {"now", "status"}, "migrate": {"up"}, "admin": {"reset-password", "create-user", "rotate-secrets"}, "calendar": {"show", "export", "import"}, "import": {"jp1"}}
	for _, c := range commands() {
		variants := [][]string{{c.name, "-h"}, {c.name, "--help"}, {"help", c.name}}
		for _, s := range subs[c.name] {
			variants = append(variants, []string{c.name, s, "-h"})
		}
		for _, args := range variants {
			out, _, err := koyomi(t, t.TempDir(), args...)
			require.NoError(t, err, "%v exits 0", args)
			require.Contains(t, out, "usage: koyomi "+c.name, "%v", args)
		}
	}
	out, _, err = koyomi(t, t.TempDir(), "plan", "-h")
	require.NoError(t, err)
	require.Contains(t, out, "-from")
	require.Contains(t, out, `(default "text")`, "the defaults are shown")
}

func TestNoDatabaseSaysWhereItLookedAndCreatesNone(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nowhere")
	for _, args := range [][]string{{"export"}, {"run", "status"}, {"apply", "-f", "../../examples"}, {"admin", "create-user", "bob", "--role", "viewer"}} {
		_, _, err := koyomi(t, dir, args...)
		require.Error(t, err, "%v", args)
		require.ErrorContains(t, err, filepath.Join(dir, "koyomi.db"))
		require.ErrorContains(t, err, "--data-dir")
		_, statErr := os.Stat(dir)
		require.True(t, os.IsNotExist(statErr), "%v created %s", args, dir)
	}
}

func TestAdminRecoveryCommands(t *testing.T) {
	dir := dbDir(t)
	out, _, err := koyomi(t, dir, "admin", "create-user", "rescue", "--role", "admin")
	require.NoError(t, err)
	m := regexp.MustCompile(`password: (\S+)`).FindStringSubmatch(out)
	require.NotNil(t, m, out)

	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{URL: "sqlite:" + filepath.Join(dir, "koyomi.db")})
	require.NoError(t, err)
	svc := ops.New(ops.Params{Store: s})
	_, err = svc.Login(ctx, "rescue", m[1])
	require.NoError(t, err, "the printed password works")
	require.NoError(t, s.SessionCommit(ctx, "tok", 1, []byte("{}"), time.Now().Add(time.Hour)))
	s.Close()

	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		if k == "KOYOMI_DATA_DIR" {
			return dir
		}
		return ""
	}
	err = run(ctx, []string{"admin", "reset-password", "rescue", "--password-stdin"}, getenv, strings.NewReader("chosen-password-1\n"), &stdout, &stderr)
	require.NoError(t, err)
	require.NotContains(t, stdout.String(), "chosen-password-1")

	s, err = store.Open(ctx, store.Config{URL: "sqlite:" + filepath.Join(dir, "koyomi.db")})
	require.NoError(t, err)
	defer s.Close()
	svc = ops.New(ops.Params{Store: s})
	_, err = svc.Login(ctx, "rescue", "chosen-password-1")
	require.NoError(t, err)
	_, found, err := s.SessionFind(ctx, "tok")
	require.NoError(t, err)
	require.False(t, found, "the reset ended the user's sessions")

	_, _, err = koyomi(t, dir, "admin", "reset-password", "nobody")
	require.Equal(t, 4, exitCode(err))
}

// A first start that cannot listen leaves no admin behind whose generated
// password nobody saw.
func TestFirstAdminIsCreatedOnlyOnceListening(t *testing.T) {
	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	dir := t.TempDir()
	out, _, err := koyomi(t, dir, "serve", "--listen", busy.Addr().String())
	require.ErrorContains(t, err, "listen")
	require.NotContains(t, out, "password")

	ctx := context.Background()
	s, err := store.Open(ctx, store.Config{URL: "sqlite:" + filepath.Join(dir, "koyomi.db")})
	require.NoError(t, err)
	defer s.Close()
	n, err := s.CountUsers(ctx)
	require.NoError(t, err)
	require.Zero(t, n)
}

// rotate-secrets seals a database's plain secrets with the key in
// KOYOMI_SECRET_KEY; afterwards they read only with the key.
func TestAdminRotateSecrets(t *testing.T) {
	dir := dbDir(t)
	ctx := context.Background()
	url := "sqlite:" + filepath.Join(dir, "koyomi.db")
	s, err := store.Open(ctx, store.Config{URL: url})
	require.NoError(t, err)
	require.NoError(t, s.CreateConnection(ctx, jobnet.Connection{Name: "prod", Kind: jobnet.ConnectionAWS,
		AWS: &jobnet.AWSConnection{Region: "ap-northeast-1", RoleARN: "arn:aws:iam::123456789012:role/koyomi", ExternalID: "ext-secret"}}))
	s.Close()

	_, _, err = koyomi(t, dir, "admin", "rotate-secrets")
	require.ErrorContains(t, err, "KOYOMI_SECRET_KEY", "nothing to seal with")

	key := "k1:" + base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 32))
	var stdout, stderr bytes.Buffer
	getenv := func(k string) string {
		switch k {
		case "KOYOMI_DATA_DIR":
			return dir
		case "KOYOMI_SECRET_KEY":
			return key
		}
		return ""
	}
	require.NoError(t, run(ctx, []string{"admin", "rotate-secrets"}, getenv, strings.NewReader(""), &stdout, &stderr))
	require.Contains(t, stdout.String(), `secrets sealed with key "k1": 1 resealed now, 0 already were`)

	s, err = store.Open(ctx, store.Config{URL: url})
	require.NoError(t, err)
	_, err = s.Connection(ctx, "prod")
	require.ErrorContains(t, err, `sealed with key "k1"`)
	s.Close()
	keys, err := seal.ParseKeys(key)
	require.NoError(t, err)
	s, err = store.Open(ctx, store.Config{URL: url, Keys: keys})
	require.NoError(t, err)
	defer s.Close()
	c, err := s.Connection(ctx, "prod")
	require.NoError(t, err)
	require.Equal(t, "ext-secret", c.Secret())

	_, _, err = koyomi(t, dir, "admin", "rotate-secrets", "someone")
	require.Equal(t, 2, exitCode(err))
}
