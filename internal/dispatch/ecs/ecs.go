package ecs

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/ratelimit"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/aws/aws-sdk-go-v2/service/sts"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// Defaults of Config.
const (
	// MaxAttemptsDefault is how often the SDK tries one call (throttling
	// and 5xx answers are retried with jittered exponential backoff).
	MaxAttemptsDefault = 5
	// MaxBackoffDefault caps the pause between two attempts.
	MaxBackoffDefault = 20 * time.Second
	// TaskDefinitionTTLDefault is how long a task definition named by
	// family alone (latest revision) stays cached; pinned revisions and
	// ARNs are cached for the executor's lifetime.
	TaskDefinitionTTLDefault = 5 * time.Minute
	// MissingGraceDefault is Config.MissingGrace's default.
	MissingGraceDefault = 60 * time.Second
	// LogLimitDefault is the chunk size of Logs when the caller passes 0.
	LogLimitDefault = 1 << 20
	// StopReasonDefault is the reason StopTask records on a cancel.
	StopReasonDefault = "Stopped by Koyomi: job cancelled"
	// ExecutorType is Handle.Executor for handles this executor makes.
	ExecutorType = string(jobnet.JobECS)
)

// Connection is a named way to reach one AWS account and region.
// ExternalID is treated as a secret: String and LogValue never show it.
type Connection struct {
	Name   string
	Region string
	// RoleARN, when set, is assumed through STS on top of the base
	// credentials (the default chain, Profile, or Config.Credentials).
	RoleARN    string
	ExternalID string
	// SessionName names the assumed-role session ("koyomi" when empty).
	SessionName string
	// Profile selects a shared config/credentials profile.
	Profile string
	// EndpointURL overrides the ECS endpoint (tests, VPC endpoints without
	// private DNS). It also serves CloudWatch Logs unless LogsEndpointURL
	// is set.
	EndpointURL     string
	LogsEndpointURL string
	STSEndpointURL  string
}

// String describes the connection without secrets.
func (c Connection) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "ecs connection %q (region %s", c.Name, c.Region)
	if c.RoleARN != "" {
		fmt.Fprintf(&b, ", role %s", c.RoleARN)
	}
	if c.ExternalID != "" {
		b.WriteString(", external id set")
	}
	if c.Profile != "" {
		fmt.Fprintf(&b, ", profile %s", c.Profile)
	}
	if c.EndpointURL != "" {
		fmt.Fprintf(&b, ", endpoint %s", c.EndpointURL)
	}
	b.WriteString(")")
	return b.String()
}

// LogValue keeps the external id out of structured logs.
func (c Connection) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("name", c.Name),
		slog.String("region", c.Region),
		slog.String("role_arn", c.RoleARN),
		slog.Bool("external_id_set", c.ExternalID != ""),
		slog.String("profile", c.Profile),
		slog.String("endpoint", c.EndpointURL),
	)
}

// Config configures the executor.
type Config struct {
	Connections []Connection
	// DefaultConnection serves jobs that name none; when empty and there
	// is exactly one connection, that one does.
	DefaultConnection string
	// Installation is the id of the Koyomi installation (its database),
	// tagged on every task as koyomi:installation. The dispatch keys carry
	// it too, so startedBy and clientToken never match another
	// installation's tasks.
	Installation string
	// CallTimeout bounds every AWS call, its SDK retries and credential
	// refreshes included (CallTimeoutDefault when zero): a call without an
	// answer by then fails with a retryable error, so a hung endpoint
	// delays the jobs of its connection and never blocks the caller.
	CallTimeout time.Duration
	// MissingGrace is how long after its creation a task DescribeTasks
	// reports MISSING still counts as starting (ECS is eventually
	// consistent right after RunTask); later, MISSING means ECS forgot it
	// (MissingGraceDefault when zero).
	MissingGrace time.Duration
	// Rates limit each connection's calls per operation (client side), so
	// that Koyomi keeps below the account's API quotas.
	Rates Rates
	// Sleep waits between calls the rate limit holds back (a timer when
	// nil; tests pass a fake clock's).
	Sleep func(ctx context.Context, d time.Duration) error
	// MaxAttempts and MaxBackoff tune the SDK's standard retryer.
	MaxAttempts int
	MaxBackoff  time.Duration
	// Credentials, when set, replace the default credential chain as base
	// credentials (embedders, tests).
	Credentials aws.CredentialsProvider
	// HTTPClient, when set, carries every AWS call (an
	// awshttp.BuildableClient keeps AWS_CA_BUNDLE working).
	HTTPClient        aws.HTTPClient
	TaskDefinitionTTL time.Duration
	StopReason        string
	Logger            *slog.Logger
	// Now is the clock of the task definition cache, of the MISSING grace
	// period (compared with ECS's createdAt) and of the rate limits
	// (time.Now when nil).
	Now func() time.Time
}

// Executor runs jobs as ECS tasks. It is safe for concurrent use.
type Executor struct {
	cfg   Config
	conns map[string]Connection

	mu      sync.Mutex
	clients map[string]*clients
	defs    map[string]cachedDef
}

type clients struct {
	conn Connection
	aws  aws.Config
	ecs  *awsecs.Client
	mu   sync.Mutex
	logs map[string]*cloudwatchlogs.Client // by region
}

type cachedDef struct {
	def *ecstypes.TaskDefinition
	at  time.Time
}

var (
	_ dispatch.Executor      = (*Executor)(nil)
	_ dispatch.BatchStatuser = (*Executor)(nil)
)

// New validates the configuration and returns an executor. It makes no
// AWS call; clients are created on first use of each connection.
func New(cfg Config) (*Executor, error) {
	var ps fault.Problems
	if cfg.MaxAttempts < 0 {
		ps.Add("max_attempts", "must not be negative")
	}
	if cfg.MaxAttempts == 0 {
		cfg.MaxAttempts = MaxAttemptsDefault
	}
	if cfg.MaxBackoff <= 0 {
		cfg.MaxBackoff = MaxBackoffDefault
	}
	if cfg.CallTimeout < 0 {
		ps.Add("call_timeout", "must not be negative")
	}
	if cfg.CallTimeout == 0 {
		cfg.CallTimeout = CallTimeoutDefault
	}
	if cfg.MissingGrace < 0 {
		ps.Add("missing_grace", "must not be negative")
	}
	if cfg.MissingGrace == 0 {
		cfg.MissingGrace = MissingGraceDefault
	}
	if cfg.TaskDefinitionTTL <= 0 {
		cfg.TaskDefinitionTTL = TaskDefinitionTTLDefault
	}
	if cfg.StopReason == "" {
		cfg.StopReason = StopReasonDefault
	}
	if len(cfg.StopReason) > 255 {
		ps.Add("stop_reason", "must be at most 255 characters")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Sleep == nil {
		cfg.Sleep = sleepCtx
	}
	if cfg.Rates.RunTask < 0 || cfg.Rates.DescribeTasks < 0 || cfg.Rates.GetLogEvents < 0 || cfg.Rates.Other < 0 {
		ps.Add("rates", "must not be negative")
	}
	cfg.Rates = cfg.Rates.withDefaults()
	conns := make(map[string]Connection, len(cfg.Connections))
	for i, c := range cfg.Connections {
		path := fmt.Sprintf("connections[%d]", i)
		switch {
		case c.Name == "":
			ps.Add(path+".name", "is required")
		case conns[c.Name].Name != "":
			ps.Add(path+".name", "duplicate connection %q", c.Name)
		}
		if c.Region == "" && c.Profile == "" {
			ps.Add(path+".region", "is required unless a profile supplies it")
		}
		if c.ExternalID != "" && c.RoleARN == "" {
			ps.Add(path+".external_id", "needs role_arn")
		}
		conns[c.Name] = c
	}
	if len(cfg.Connections) == 0 {
		ps.Add("connections", "at least one connection is required")
	}
	if cfg.DefaultConnection != "" {
		if _, ok := conns[cfg.DefaultConnection]; !ok {
			ps.Add("default_connection", "unknown connection %q", cfg.DefaultConnection)
		}
	} else if len(cfg.Connections) == 1 {
		cfg.DefaultConnection = cfg.Connections[0].Name
	}
	if err := ps.Err(); err != nil {
		return nil, fmt.Errorf("configure ecs executor: %w", err)
	}
	return &Executor{cfg: cfg, conns: conns, clients: map[string]*clients{}, defs: map[string]cachedDef{}}, nil
}

// Type is jobnet.JobECS.
func (e *Executor) Type() jobnet.JobType { return jobnet.JobECS }

// ErrUnknownConnection means a job or handle names a connection the
// executor was not configured with.
var ErrUnknownConnection = fmt.Errorf("ecs: unknown connection: %w", fault.ErrNotFound)

// clientsFor returns the clients of a connection ("" = the default one).
func (e *Executor) clientsFor(ctx context.Context, name string) (*clients, error) {
	if name == "" {
		name = e.cfg.DefaultConnection
	}
	conn, ok := e.conns[name]
	if !ok {
		if name == "" {
			return nil, fmt.Errorf("%w: the job names none and no default is configured", ErrUnknownConnection)
		}
		return nil, fmt.Errorf("%w: %q", ErrUnknownConnection, name)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if c, ok := e.clients[name]; ok {
		return c, nil
	}
	awsCfg, err := e.loadAWS(ctx, conn)
	if err != nil {
		return nil, fmt.Errorf("load aws config for %s: %w", conn, err)
	}
	lims := newLimiters(e.cfg.Rates, e.cfg.Now, e.cfg.Sleep)
	awsCfg.APIOptions = append(awsCfg.APIOptions, callDeadline(e.cfg.CallTimeout), lims.middleware)
	c := &clients{
		conn: conn,
		aws:  awsCfg,
		ecs: awsecs.NewFromConfig(awsCfg, func(o *awsecs.Options) {
			if conn.EndpointURL != "" {
				o.BaseEndpoint = aws.String(conn.EndpointURL)
			}
		}),
		logs: map[string]*cloudwatchlogs.Client{},
	}
	e.clients[name] = c
	e.cfg.Logger.Debug("ecs connection ready", "connection", conn)
	return c, nil
}

func (e *Executor) loadAWS(ctx context.Context, conn Connection) (aws.Config, error) {
	maxAttempts, maxBackoff := e.cfg.MaxAttempts, e.cfg.MaxBackoff
	opts := []func(*config.LoadOptions) error{
		config.WithLogger(SDKLogger(e.cfg.Logger)),
		config.WithRetryer(func() aws.Retryer {
			return retry.NewStandard(func(o *retry.StandardOptions) {
				o.MaxAttempts = maxAttempts
				o.MaxBackoff = maxBackoff
				// The scheduler keeps retrying at its own pace; the
				// client-side retry quota would only turn throttling
				// into opaque "retry quota exceeded" errors.
				o.RateLimiter = ratelimit.None
				o.Retryables = append([]retry.IsErrorRetryable{noRetryUnusable{}}, o.Retryables...)
			})
		}),
	}
	if conn.Region != "" {
		opts = append(opts, config.WithRegion(conn.Region))
	}
	if conn.Profile != "" {
		opts = append(opts, config.WithSharedConfigProfile(conn.Profile))
	}
	if e.cfg.HTTPClient != nil {
		opts = append(opts, config.WithHTTPClient(e.cfg.HTTPClient))
	}
	if e.cfg.Credentials != nil {
		opts = append(opts, config.WithCredentialsProvider(e.cfg.Credentials))
	}
	awsCfg, err := config.LoadDefaultConfig(ctx, opts...)
	if err != nil {
		return aws.Config{}, err
	}
	if conn.RoleARN != "" {
		stsClient := sts.NewFromConfig(awsCfg, func(o *sts.Options) {
			if conn.STSEndpointURL != "" {
				o.BaseEndpoint = aws.String(conn.STSEndpointURL)
			}
		})
		session := conn.SessionName
		if session == "" {
			session = "koyomi"
		}
		provider := stscreds.NewAssumeRoleProvider(stsClient, conn.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = session
			if conn.ExternalID != "" {
				o.ExternalID = aws.String(conn.ExternalID)
			}
		})
		awsCfg.Credentials = aws.NewCredentialsCache(provider)
	}
	return awsCfg, nil
}

// logsClient returns the CloudWatch Logs client of a region ("" = the connection's).
func (c *clients) logsClient(region string) *cloudwatchlogs.Client {
	c.mu.Lock()
	defer c.mu.Unlock()
	if l, ok := c.logs[region]; ok {
		return l
	}
	endpoint := c.conn.LogsEndpointURL
	if endpoint == "" {
		endpoint = c.conn.EndpointURL
	}
	l := cloudwatchlogs.NewFromConfig(c.aws, func(o *cloudwatchlogs.Options) {
		if region != "" {
			o.Region = region
		}
		if endpoint != "" {
			o.BaseEndpoint = aws.String(endpoint)
		}
	})
	c.logs[region] = l
	return l
}

// handleData is Handle.Data: where the task lives and where it logs.
type handleData struct {
	Connection string `json:"connection"`
	Cluster    string `json:"cluster"`
	Container  string `json:"container"`
	// CreatedAt is the task's createdAt (ECS's clock): a task MISSING
	// from DescribeTasks within Config.MissingGrace of it is not yet
	// visible rather than lost.
	CreatedAt time.Time `json:"created_at,omitzero"`
	LogGroup  string    `json:"log_group,omitempty"`
	LogStream string    `json:"log_stream,omitempty"`
	LogRegion string    `json:"log_region,omitempty"`
}

// parseHandle checks a handle is one of ours and returns its detail.
func (e *Executor) parseHandle(h dispatch.Handle) (handleData, error) {
	if h.Executor != ExecutorType {
		return handleData{}, fmt.Errorf("%w: executor %q is not ecs", dispatch.ErrUnknownHandle, h.Executor)
	}
	arn, err := parseTaskARN(h.ID)
	if err != nil {
		return handleData{}, fmt.Errorf("%w: %v", dispatch.ErrUnknownHandle, err)
	}
	var d handleData
	if len(h.Data) > 0 {
		if err := json.Unmarshal(h.Data, &d); err != nil {
			return handleData{}, fmt.Errorf("%w: data: %v", dispatch.ErrUnknownHandle, err)
		}
	}
	if d.Cluster == "" {
		d.Cluster = arn.cluster
	}
	name := d.Connection
	if name == "" {
		name = e.cfg.DefaultConnection
	}
	if _, ok := e.conns[name]; !ok {
		return handleData{}, fmt.Errorf("%w: connection %q is not configured", dispatch.ErrUnknownHandle, d.Connection)
	}
	d.Connection = name
	return d, nil
}

type taskARN struct{ region, account, cluster, id string }

// parseTaskARN accepts arn:aws:ecs:<region>:<account>:task/<cluster>/<id>
// (any partition).
func parseTaskARN(s string) (taskARN, error) {
	parts := strings.SplitN(s, ":", 6)
	if len(parts) != 6 || parts[0] != "arn" || parts[1] == "" || parts[2] != "ecs" || parts[3] == "" || parts[4] == "" {
		return taskARN{}, fmt.Errorf("%q is not an ECS task ARN", truncate(s, 80))
	}
	res := strings.Split(parts[5], "/")
	if len(res) != 3 || res[0] != "task" || !validName(res[1]) || !validName(res[2]) {
		return taskARN{}, fmt.Errorf("%q is not an ECS task ARN", truncate(s, 80))
	}
	return taskARN{region: parts[3], account: parts[4], cluster: res[1], id: res[2]}, nil
}

func validName(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '_') {
			return false
		}
	}
	return true
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
