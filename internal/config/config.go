// Package config builds Koyomi's typed configuration from flags and KOYOMI_*
// environment variables (a flag wins over the variable, the variable over the
// default) and validates it, reporting every problem at once.
package config

import (
	"flag"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/netip"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/seal"
)

// Defaults.
const (
	ListenDefault       = "127.0.0.1:8080"
	DataDirDefault      = "var"
	PlanHorizonDefault  = 48 * time.Hour
	PollIntervalDefault = time.Second
	KillGraceDefault    = 10 * time.Second
	LeaseTTLDefault     = 10 * time.Second
	// JobLogMaxDefault caps the log kept of each local job.
	JobLogMaxDefault = 64 << 20
	// JobRetentionDefault is how long a local job's state and log are kept
	// after it ended.
	JobRetentionDefault = 30 * 24 * time.Hour
	// CloudCallTimeoutDefault bounds one AWS or Kubernetes call.
	CloudCallTimeoutDefault = 30 * time.Second
	// EKSUnschedulableLimitDefault: a pod unschedulable for longer fails to start.
	EKSUnschedulableLimitDefault = 5 * time.Minute
	// EKSStartErrorLimitDefault: a pod whose image cannot be pulled (or
	// whose container cannot be created) for longer fails to start.
	EKSStartErrorLimitDefault = 2 * time.Minute
	// ECSMissingGraceDefault: a task MISSING from DescribeTasks this soon
	// after its creation is not yet visible rather than lost.
	ECSMissingGraceDefault = time.Minute
	// ECS client-side rates per connection (calls per second), below the
	// account quotas.
	ECSRunTaskRateDefault  = 10
	ECSDescribeRateDefault = 20
	ECSLogsRateDefault     = 10
	// EKSCleanupAfterDefault: how long an ended pod with cleanup "delete"
	// stays in the cluster after its log was kept.
	EKSCleanupAfterDefault = 10 * time.Minute
)

// Config is the server's configuration.
type Config struct {
	// Listen is the HTTP listen address.
	Listen string
	// BaseURL is the externally visible URL, used in alert links.
	BaseURL string
	// DatabaseURL: empty → embedded SQLite under DataDir; postgres://… → PostgreSQL.
	DatabaseURL string
	// Migrate applies pending migrations at start-up ("auto": on for SQLite, off for PostgreSQL).
	Migrate string
	// DataDir holds the SQLite database, local job state and logs.
	DataDir string
	// AdminPassword is the first admin's password; empty → generated and printed once.
	AdminPassword string
	// LogLevel is debug, info, warn or error; LogFormat text or json.
	LogLevel  string
	LogFormat string
	// Node names this replica (leases, claims); default host-pid.
	Node string
	// PlanHorizon is how far ahead generations are created.
	PlanHorizon time.Duration
	// PollInterval is how often the runner polls executors and the database.
	PollInterval time.Duration
	// KillGrace is the time between SIGTERM/StopTask and the forced stop.
	KillGrace time.Duration
	// LeaseTTL is the planner leader lease; a dead leader is replaced after it.
	LeaseTTL time.Duration
	// CloudCallTimeout bounds every AWS and Kubernetes call of the ecs and
	// eks executors; a call without an answer by then is retried later.
	CloudCallTimeout time.Duration
	// EKSUnschedulableLimit and EKSStartErrorLimit: how long a pod may stay
	// unschedulable, or wait on an image pull or container creation error,
	// before its job fails to start.
	EKSUnschedulableLimit time.Duration
	EKSStartErrorLimit    time.Duration
	// ECSMissingGrace: how long after its creation a task may be MISSING
	// from DescribeTasks (eventual consistency) before it counts as lost.
	ECSMissingGrace time.Duration
	// ECSRunTaskRate, ECSDescribeRate, ECSLogsRate: client-side limits of
	// RunTask, DescribeTasks and GetLogEvents calls per second and
	// connection.
	ECSRunTaskRate, ECSDescribeRate, ECSLogsRate float64
	// EKSCleanupAfter: how long an ended pod or Job with cleanup "delete"
	// stays after Koyomi kept its log (under DataDir/eks-logs, capped by
	// JobLogMax, removed after JobRetention).
	EKSCleanupAfter time.Duration
	// SecureCookies marks session cookies Secure (behind HTTPS).
	SecureCookies bool
	// JobLogMax caps the bytes kept of each local job's log (0: no cap);
	// its start and end are kept.
	JobLogMax int64
	// JobRetention is how long the state directory and log of a local job
	// are kept after it ended (0: forever).
	JobRetention time.Duration
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// is believed; empty: none (the peer address is the client).
	TrustedProxies []netip.Prefix
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// SecretKeys seal stored secrets (from KOYOMI_SECRET_KEY; nil: none).
	SecretKeys *seal.Keyring
	// AlertPoll is how often alert deliveries are routed and sent.
	AlertPoll time.Duration
	// AlertSendTimeout bounds one send to an SMTP server or Slack.
	AlertSendTimeout time.Duration
	// AlertBackoff is the first retry delay of a failed alert (doubling).
	AlertBackoff time.Duration
	// AlertBackoffMax caps the retry delay.
	AlertBackoffMax time.Duration
}

// Alert delivery defaults.
const (
	AlertPollDefault        = 2 * time.Second
	AlertSendTimeoutDefault = 30 * time.Second
	AlertBackoffDefault     = 30 * time.Second
	AlertBackoffMaxDefault  = time.Hour
)

// EnvPrefix prefixes every environment variable.
const EnvPrefix = "KOYOMI_"

type field struct {
	name, env, usage string
	set              func(string) error
	def              string
}

// Flags registers the server flags on fs and returns a function that
// resolves the final Config (flags over environment over defaults) and
// validates it.
func Flags(fs *flag.FlagSet, getenv func(string) string) func() (Config, error) {
	var c Config
	host, _ := os.Hostname()
	fields := []field{
		{name: "listen", usage: "HTTP listen address", def: ListenDefault, set: str(&c.Listen)},
		{name: "base-url", usage: "external URL of the web UI, used in alert links (default http://LISTEN)", set: str(&c.BaseURL)},
		{name: "database-url", usage: "empty for the embedded SQLite database, or postgres://user:pass@host/db", set: str(&c.DatabaseURL)},
		{name: "migrate", usage: "apply pending migrations at start-up: auto (SQLite yes, PostgreSQL no), true, false", def: "auto", set: str(&c.Migrate)},
		{name: "data-dir", usage: "directory for the SQLite database, local job state and logs", def: DataDirDefault, set: str(&c.DataDir)},
		{name: "admin-password", usage: "password of the first admin, created on first start (default: generated and printed once)", set: str(&c.AdminPassword)},
		{name: "log-level", usage: "debug, info, warn or error", def: "info", set: str(&c.LogLevel)},
		{name: "log-format", usage: "text or json", def: "text", set: str(&c.LogFormat)},
		{name: "node", usage: "name of this replica (default host-pid)", def: fmt.Sprintf("%s-%d", host, os.Getpid()), set: str(&c.Node)},
		{name: "plan-horizon", usage: "how far ahead generations are created", def: PlanHorizonDefault.String(), set: dur(&c.PlanHorizon)},
		{name: "poll-interval", usage: "how often running jobs are polled", def: PollIntervalDefault.String(), set: dur(&c.PollInterval)},
		{name: "kill-grace", usage: "grace period between a graceful and a forced stop", def: KillGraceDefault.String(), set: dur(&c.KillGrace)},
		{name: "lease-ttl", usage: "planner leader lease; a dead leader is replaced after it", def: LeaseTTLDefault.String(), set: dur(&c.LeaseTTL)},
		{name: "cloud-call-timeout", usage: "deadline of every AWS and Kubernetes call (a call without an answer is retried later)", def: CloudCallTimeoutDefault.String(), set: dur(&c.CloudCallTimeout)},
		{name: "eks-unschedulable-limit", usage: "how long a pod may stay unschedulable before its job fails to start", def: EKSUnschedulableLimitDefault.String(), set: dur(&c.EKSUnschedulableLimit)},
		{name: "eks-start-error-limit", usage: "how long a pod may fail to pull its image or create its container before its job fails to start", def: EKSStartErrorLimitDefault.String(), set: dur(&c.EKSStartErrorLimit)},
		{name: "ecs-missing-grace", usage: "how long after RunTask a task MISSING from DescribeTasks still counts as starting (ECS is eventually consistent)", def: ECSMissingGraceDefault.String(), set: dur(&c.ECSMissingGrace)},
		{name: "ecs-runtask-rate", usage: "RunTask calls per second per AWS connection (client-side limit)", def: fmt.Sprint(ECSRunTaskRateDefault), set: rate(&c.ECSRunTaskRate)},
		{name: "ecs-describe-rate", usage: "DescribeTasks calls per second per AWS connection (client-side limit)", def: fmt.Sprint(ECSDescribeRateDefault), set: rate(&c.ECSDescribeRate)},
		{name: "ecs-logs-rate", usage: "GetLogEvents calls per second per AWS connection (client-side limit; CloudWatch Logs allows 25 per account)", def: fmt.Sprint(ECSLogsRateDefault), set: rate(&c.ECSLogsRate)},
		{name: "eks-cleanup-after", usage: "how long an ended pod with cleanup: delete stays in the cluster after its log was kept", def: EKSCleanupAfterDefault.String(), set: dur(&c.EKSCleanupAfter)},
		{name: "secure-cookies", usage: "mark session cookies Secure (serve behind HTTPS)", def: "false", set: boolean(&c.SecureCookies)},
		{name: "job-log-max", usage: "most of a local job's or ended pod's log kept, e.g. 64MiB; its first quarter and its end are kept (0: no cap)", def: "64MiB", set: size(&c.JobLogMax)},
		{name: "job-retention", usage: "how long a local job's state and log, and an ended pod's kept log, stay, e.g. 30d or 12h (0: forever)", def: "30d", set: days(&c.JobRetention)},
		{name: "trusted-proxies", usage: "comma-separated addresses or CIDRs of reverse proxies whose X-Forwarded-For is believed (default: none)", set: prefixes(&c.TrustedProxies)},
		{name: "metrics-token", usage: "bearer token /metrics requires (default: none, /metrics is open)", set: str(&c.MetricsToken)},
		{name: "alert-poll", usage: "how often alert deliveries are routed and sent", def: AlertPollDefault.String(), set: dur(&c.AlertPoll)},
		{name: "alert-send-timeout", usage: "deadline of one send to an SMTP server or Slack", def: AlertSendTimeoutDefault.String(), set: dur(&c.AlertSendTimeout)},
		{name: "alert-backoff", usage: "first retry delay of a failed alert (doubles per attempt)", def: AlertBackoffDefault.String(), set: dur(&c.AlertBackoff)},
		{name: "alert-backoff-max", usage: "longest retry delay of a failed alert", def: AlertBackoffMaxDefault.String(), set: dur(&c.AlertBackoffMax)},
	}
	flagVals := map[string]*string{}
	for i := range fields {
		f := &fields[i]
		f.env = EnvPrefix + strings.ToUpper(strings.ReplaceAll(f.name, "-", "_"))
		v := new(string)
		flagVals[f.name] = v
		fs.StringVar(v, f.name, "", fmt.Sprintf("%s (env %s)", f.usage, f.env))
	}
	return func() (Config, error) {
		explicit := map[string]bool{}
		fs.Visit(func(fl *flag.Flag) { explicit[fl.Name] = true })
		var ps fault.Problems
		unparsed := map[string]bool{}
		for _, f := range fields {
			val, src := f.def, "default"
			if e := getenv(f.env); e != "" {
				val, src = e, f.env
			}
			if explicit[f.name] {
				val, src = *flagVals[f.name], "--"+f.name
			}
			if err := f.set(val); err != nil {
				ps.Add(src, "%v", err)
				unparsed[f.name] = true
			}
		}
		// The secret key comes only from the environment: a flag would
		// show it in the process list.
		if keys, err := seal.ParseKeys(getenv(seal.EnvVar)); err != nil {
			ps.Add(seal.EnvVar, "%v", strings.TrimPrefix(err.Error(), seal.EnvVar+": "))
		} else {
			c.SecretKeys = keys
		}
		// Every problem at once: the checks of the values that parsed.
		for _, p := range c.validate() {
			if !unparsed[p.Path] {
				ps = append(ps, p)
			}
		}
		if err := ps.Err(); err != nil {
			return Config{}, fmt.Errorf("configuration: %w", err)
		}
		return c, nil
	}
}

func (c *Config) validate() fault.Problems {
	var ps fault.Problems
	if _, _, err := net.SplitHostPort(c.Listen); err != nil {
		ps.Add("listen", "%q is not host:port", c.Listen)
	}
	if c.BaseURL == "" {
		c.BaseURL = "http://" + c.Listen
	} else if u, err := url.Parse(c.BaseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		ps.Add("base-url", "%q is not an http(s) URL", c.BaseURL)
	}
	c.BaseURL = strings.TrimRight(c.BaseURL, "/")
	switch {
	case c.DatabaseURL == "", strings.HasPrefix(c.DatabaseURL, "sqlite:"),
		strings.HasPrefix(c.DatabaseURL, "postgres://"), strings.HasPrefix(c.DatabaseURL, "postgresql://"):
	default:
		ps.Add("database-url", "want empty (embedded SQLite), sqlite:PATH or postgres://…")
	}
	switch c.Migrate {
	case "auto", "true", "false":
	default:
		ps.Add("migrate", "%q: want auto, true or false", c.Migrate)
	}
	if c.DataDir == "" {
		ps.Add("data-dir", "must not be empty")
	}
	if c.AdminPassword != "" && len(c.AdminPassword) < 8 {
		ps.Add("admin-password", "must be at least 8 characters")
	}
	var lvl slog.Level
	if err := lvl.UnmarshalText([]byte(c.LogLevel)); err != nil {
		ps.Add("log-level", "%q: want debug, info, warn or error", c.LogLevel)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		ps.Add("log-format", "%q: want text or json", c.LogFormat)
	}
	if c.Node == "" {
		ps.Add("node", "must not be empty")
	}
	if c.AlertBackoffMax < c.AlertBackoff {
		ps.Add("alert-backoff-max", "%v is below --alert-backoff %v", c.AlertBackoffMax, c.AlertBackoff)
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{{"plan-horizon", c.PlanHorizon, time.Hour}, {"poll-interval", c.PollInterval, 10 * time.Millisecond}, {"kill-grace", c.KillGrace, 0}, {"lease-ttl", c.LeaseTTL, time.Second}, {"job-retention", c.JobRetention, 0},
		{"cloud-call-timeout", c.CloudCallTimeout, 100 * time.Millisecond}, {"eks-unschedulable-limit", c.EKSUnschedulableLimit, time.Second}, {"eks-start-error-limit", c.EKSStartErrorLimit, time.Second}, {"ecs-missing-grace", c.ECSMissingGrace, time.Second}, {"eks-cleanup-after", c.EKSCleanupAfter, 0},
		{"alert-poll", c.AlertPoll, 100 * time.Millisecond}, {"alert-send-timeout", c.AlertSendTimeout, time.Second},
		{"alert-backoff", c.AlertBackoff, time.Second}, {"alert-backoff-max", c.AlertBackoffMax, time.Second}} {
		if d.v < d.min {
			ps.Add(d.name, "%v is below the minimum %v", d.v, d.min)
		}
	}
	if c.JobLogMax != 0 && c.JobLogMax < 4<<10 {
		ps.Add("job-log-max", "%d bytes is below the minimum 4KiB (0 for no cap)", c.JobLogMax)
	}
	return ps
}

// SQLite reports whether the embedded database is configured.
func (c Config) SQLite() bool { return !strings.HasPrefix(c.DatabaseURL, "postgres") }

// StoreURL returns the database URL with the SQLite default applied.
func (c Config) StoreURL() string {
	if c.DatabaseURL == "" {
		return "sqlite:" + c.DataDir + "/koyomi.db"
	}
	return c.DatabaseURL
}

// MigrateAtStart resolves the "auto" setting.
func (c Config) MigrateAtStart() bool {
	switch c.Migrate {
	case "true":
		return true
	case "false":
		return false
	}
	return c.SQLite()
}

// Logger builds the slog logger the configuration asks for.
func (c Config) Logger(w interface{ Write([]byte) (int, error) }) *slog.Logger {
	var lvl slog.Level
	_ = lvl.UnmarshalText([]byte(c.LogLevel))
	opts := &slog.HandlerOptions{Level: lvl}
	if c.LogFormat == "json" {
		return slog.New(slog.NewJSONHandler(w, opts))
	}
	return slog.New(slog.NewTextHandler(w, opts))
}

func str(p *string) func(string) error { return func(s string) error { *p = s; return nil } }

func dur(p *time.Duration) func(string) error {
	return func(s string) error {
		d, err := time.ParseDuration(s)
		if err != nil {
			return fmt.Errorf("%q is not a duration (e.g. 30s, 5m, 48h)", s)
		}
		*p = d
		return nil
	}
}

// size parses a byte count with an optional unit: 1048576, 512KiB, 64MiB,
// 1GiB (KB/MB/GB and K/M/G are taken as binary units too).
func size(p *int64) func(string) error {
	return func(s string) error {
		t := strings.TrimSpace(s)
		num := strings.TrimRight(t, "KMGTiBkmgtib ")
		unit := strings.ToUpper(strings.TrimSpace(t[len(num):]))
		mult := map[string]int64{"": 1, "B": 1, "K": 1 << 10, "KB": 1 << 10, "KIB": 1 << 10, "M": 1 << 20, "MB": 1 << 20, "MIB": 1 << 20,
			"G": 1 << 30, "GB": 1 << 30, "GIB": 1 << 30, "T": 1 << 40, "TB": 1 << 40, "TIB": 1 << 40}[unit]
		n, err := strconv.ParseInt(num, 10, 64)
		if err != nil || mult == 0 || n < 0 || n > (1<<62)/mult {
			return fmt.Errorf("%q is not a size (e.g. 0, 512KiB, 64MiB, 1GiB)", s)
		}
		*p = n * mult
		return nil
	}
}

// days parses a duration that may also be a number of days ("30d").
func days(p *time.Duration) func(string) error {
	return func(s string) error {
		if n, ok := strings.CutSuffix(s, "d"); ok {
			d, err := strconv.Atoi(n)
			if err != nil || d < 0 || d > 100_000 {
				return fmt.Errorf("%q is not a number of days (e.g. 30d)", s)
			}
			*p = time.Duration(d) * 24 * time.Hour
			return nil
		}
		d, err := time.ParseDuration(s)
		if err != nil || d < 0 {
			return fmt.Errorf("%q is not a duration (e.g. 30d, 12h)", s)
		}
		*p = d
		return nil
	}
}

// prefixes parses comma-separated addresses or CIDRs.
func prefixes(p *[]netip.Prefix) func(string) error {
	return func(s string) error {
		*p = nil
		for _, part := range strings.Split(s, ",") {
			part = strings.TrimSpace(part)
			if part == "" {
				continue
			}
			if !strings.Contains(part, "/") {
				a, err := netip.ParseAddr(part)
				if err != nil {
					return fmt.Errorf("%q is not an IP address or CIDR", part)
				}
				*p = append(*p, netip.PrefixFrom(a, a.BitLen()))
				continue
			}
			pr, err := netip.ParsePrefix(part)
			if err != nil {
				return fmt.Errorf("%q is not an IP address or CIDR", part)
			}
			*p = append(*p, pr.Masked())
		}
		return nil
	}
}

// rate parses calls per second: a positive number.
func rate(p *float64) func(string) error {
	return func(s string) error {
		v, err := strconv.ParseFloat(s, 64)
		if err != nil || v <= 0 || math.IsInf(v, 0) || math.IsNaN(v) {
			return fmt.Errorf("%q is not a positive number of calls per second", s)
		}
		*p = v
		return nil
	}
}

func boolean(p *bool) func(string) error {
	return func(s string) error {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return fmt.Errorf("%q is not true or false", s)
		}
		*p = b
		return nil
	}
}
