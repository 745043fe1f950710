package config

import (
	"flag"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

func resolve(t *testing.T, args []string, env map[string]string) (Config, error) {
	t.Helper()
	fs := flag.NewFlagSet("serve", flag.ContinueOnError)
	get := Flags(fs, func(k string) string { return env[k] })
	require.NoError(t, fs.Parse(args))
	return get()
}

func TestDefaults(t *testing.T) {
	c, err := resolve(t, nil, nil)
	require.NoError(t, err)
	require.Equal(t, ListenDefault, c.Listen)
	require.Equal(t, "http://127.0.0.1:8080", c.BaseURL)
	require.True(t, c.SQLite())
	require.True(t, c.MigrateAtStart())
	require.Equal(t, "sqlite:var/koyomi.db", c.StoreURL())
	require.Equal(t, PlanHorizonDefault, c.PlanHorizon)
	require.Equal(t, int64(JobLogMaxDefault), c.JobLogMax)
	require.Equal(t, JobRetentionDefault, c.JobRetention)
	require.Nil(t, c.SecretKeys)
	c, err = resolve(t, nil, map[string]string{"KOYOMI_SECRET_KEY": "k2:" + strings.Repeat("A", 43) + "=,k1:" + strings.Repeat("B", 43) + "="})
	require.NoError(t, err)
	require.Equal(t, []string{"k2", "k1"}, c.SecretKeys.IDs())
}

func TestJobLogMaxAndRetention(t *testing.T) {
	for in, want := range map[string]int64{"0": 0, "4096": 4096, "512KiB": 512 << 10, "64MiB": 64 << 20, "64M": 64 << 20, "1 GiB": 1 << 30, "2gb": 2 << 30} {
		c, err := resolve(t, []string{"--job-log-max", in}, nil)
		require.NoError(t, err, in)
		require.Equal(t, want, c.JobLogMax, in)
	}
	for in, want := range map[string]time.Duration{"0": 0, "30d": 30 * 24 * time.Hour, "12h": 12 * time.Hour, "1d": 24 * time.Hour} {
		c, err := resolve(t, nil, map[string]string{"KOYOMI_JOB_RETENTION": in})
		require.NoError(t, err, in)
		require.Equal(t, want, c.JobRetention, in)
	}
	for flagName, bad := range map[string]string{"--job-log-max": "lots", "--job-retention": "-3d"} {
		_, err := resolve(t, []string{flagName, bad}, nil)
		require.ErrorIs(t, err, fault.ErrInvalid, bad)
		ps, _ := fault.AsProblems(err)
		require.Equal(t, flagName, ps[0].Path)
	}
	for _, bad := range []string{"-5", "1.5MiB", "9XB"} {
		_, err := resolve(t, []string{"--job-log-max", bad}, nil)
		require.ErrorContains(t, err, "is not a size", bad)
	}
	_, err := resolve(t, []string{"--job-log-max", "100"}, nil)
	require.ErrorContains(t, err, "job-log-max: 100 bytes is below the minimum 4KiB")
}

func TestFlagBeatsEnvBeatsDefault(t *testing.T) {
	env := map[string]string{"KOYOMI_LISTEN": "0.0.0.0:9000", "KOYOMI_DATABASE_URL": "postgres://k@db/koyomi", "KOYOMI_POLL_INTERVAL": "2s"}
	c, err := resolve(t, []string{"--listen", "127.0.0.1:9999"}, env)
	require.NoError(t, err)
	require.Equal(t, "127.0.0.1:9999", c.Listen)
	require.Equal(t, 2*time.Second, c.PollInterval)
	require.False(t, c.SQLite())
	require.False(t, c.MigrateAtStart(), "auto means no migration at start on PostgreSQL")
}

func TestEveryProblemReportedAtOnce(t *testing.T) {
	env := map[string]string{"KOYOMI_LISTEN": "nonsense", "KOYOMI_DATABASE_URL": "mysql://x", "KOYOMI_LOG_LEVEL": "loud", "KOYOMI_SECRET_KEY": "k1:tooshort"}
	_, err := resolve(t, []string{"--poll-interval", "soon", "--migrate", "maybe"}, env)
	require.ErrorIs(t, err, fault.ErrInvalid)
	ps, ok := fault.AsProblems(err)
	require.True(t, ok)
	paths := []string{}
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	require.ElementsMatch(t, []string{"--poll-interval", "listen", "database-url", "migrate", "log-level", "KOYOMI_SECRET_KEY"}, paths,
		"a value that does not parse and the checks of the others, in one report")

	_, err = resolve(t, []string{"--log-format", "xml", "--trusted-proxies", "10.0.0.0/8,nonsense"}, map[string]string{"KOYOMI_LOG_LEVEL": "loud"})
	ps, _ = fault.AsProblems(err)
	paths = paths[:0]
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	require.ElementsMatch(t, []string{"--trusted-proxies", "log-level", "log-format"}, paths)
}

func TestTrustedProxies(t *testing.T) {
	c, err := resolve(t, []string{"--trusted-proxies", "10.1.2.3, 192.168.0.0/16"}, nil)
	require.NoError(t, err)
	require.Equal(t, "[10.1.2.3/32 192.168.0.0/16]", fmt.Sprint(c.TrustedProxies))
	c, err = resolve(t, nil, nil)
	require.NoError(t, err)
	require.Empty(t, c.TrustedProxies, "no proxy is trusted by default")
}

func TestAlertDeliverySettings(t *testing.T) {
	c, err := resolve(t, []string{"--alert-poll", "500ms", "--alert-backoff", "10s", "--alert-backoff-max", "5m"}, map[string]string{"KOYOMI_ALERT_SEND_TIMEOUT": "5s"})
	require.NoError(t, err)
	require.Equal(t, 500*time.Millisecond, c.AlertPoll)
	require.Equal(t, 5*time.Second, c.AlertSendTimeout)
	require.Equal(t, 10*time.Second, c.AlertBackoff)
	require.Equal(t, 5*time.Minute, c.AlertBackoffMax)
	_, err = resolve(t, []string{"--alert-backoff", "10m", "--alert-backoff-max", "1m"}, nil)
	require.ErrorContains(t, err, "alert-backoff-max")
}
