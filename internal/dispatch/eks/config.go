package eks

import (
	"fmt"
	"log/slog"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Defaults of Config.
const (
	// UnschedulableLimitDefault: a pod unschedulable for longer fails to start.
	UnschedulableLimitDefault = 5 * time.Minute
	// StartErrorLimitDefault: an image pull or container config error lasting
	// longer fails the start.
	StartErrorLimitDefault = 2 * time.Minute
	// CallTimeoutDefault bounds one executor call (Config.CallTimeout).
	CallTimeoutDefault = 30 * time.Second
	// SyncTimeoutDefault bounds the wait for an informer's first list.
	SyncTimeoutDefault = 30 * time.Second
	// TombstoneTTLDefault: how long the last state of a vanished pod or Job
	// is remembered.
	TombstoneTTLDefault = time.Hour
	// CleanupAfterDefault: how long an ended pod or Job with cleanup
	// "delete" stays in the cluster (for kubectl describe) before it is
	// deleted; its log is kept by Koyomi first.
	CleanupAfterDefault = 10 * time.Minute
	// ArchiveTimeoutDefault bounds the reading of one ended pod's log.
	ArchiveTimeoutDefault = 10 * time.Minute
	// SweepIntervalDefault: how often ended objects are looked at for
	// keeping their logs and for cleanup.
	SweepIntervalDefault = 30 * time.Second
	// archiveWorkers is how many logs are read at once per executor.
	archiveWorkers = 4
	// LogLimitDefault is the chunk size of Logs when the caller gives none.
	LogLimitDefault = 1 << 20
	// QPSDefault and BurstDefault limit a connection's API requests.
	QPSDefault   = 20
	BurstDefault = 40
	// LogQPSDefault limits a connection's log reads per second.
	LogQPSDefault = 5
	// NamespaceDefault is used when neither the job nor the connection names one.
	NamespaceDefault = "default"
)

// Config configures the executor.
type Config struct {
	// Connections are the clusters jobs can name (EKSSpec.Connection).
	Connections []Connection
	// DefaultConnection is used by jobs that name none; empty means the
	// only connection when there is exactly one.
	DefaultConnection string
	// Installation is the id of the Koyomi installation (its database):
	// every object is labelled koyomi.dev/installation with it, the
	// informers watch only such objects, and Start refuses to adopt an
	// object of the same name that another installation created. Empty
	// (tests, embedding) labels nothing and watches every Koyomi object.
	Installation string
	// UnschedulableLimit, StartErrorLimit: see Limits. Zero means the default.
	UnschedulableLimit time.Duration
	StartErrorLimit    time.Duration
	// CallTimeout bounds every Start, Status, Logs and Cancel with the
	// Kubernetes API calls it makes (CallTimeoutDefault when zero): an API
	// server that does not answer by then fails the call with a retryable
	// error, so it delays the jobs of its connection and never blocks the
	// caller.
	CallTimeout time.Duration
	// SyncTimeout bounds the wait for an informer cache to fill.
	SyncTimeout time.Duration
	// ResyncPeriod of the informers; zero disables resync (the watch alone
	// keeps the cache current).
	ResyncPeriod time.Duration
	// TombstoneTTL: how long the outcome of a pod or Job that disappeared is
	// remembered (for Status after cleanup or after a foreign delete).
	TombstoneTTL time.Duration
	// LogDir is where the logs of ended pods are kept
	// (<LogDir>/<namespace>/<name>/log): each is read to its end once the
	// pod has ended, before any cleanup, and served from there afterwards.
	// Empty keeps no log: an ended pod's log is read from the cluster while
	// the pod exists.
	LogDir string
	// LogMax caps a kept log (0: no cap): its first quarter and its last
	// three quarters are kept, and readers see a line saying what was cut.
	LogMax int64
	// LogRetention: kept logs older than this are removed (0: kept forever).
	LogRetention time.Duration
	// CleanupAfter is how long an ended pod or Job with cleanup "delete"
	// stays after its log was kept (CleanupAfterDefault when zero).
	CleanupAfter time.Duration
	// ArchiveTimeout bounds the reading of one ended pod's log.
	ArchiveTimeout time.Duration
	// SweepInterval: how often ended objects are checked for logs to keep
	// and cleanups that are due (SweepIntervalDefault when zero).
	SweepInterval time.Duration
	// Now is the clock; nil means time.Now.
	Now func() time.Time
	// Logger receives warnings (informer trouble, failed cleanups).
	Logger *slog.Logger
}

// Connection is one named way to reach a Kubernetes API server. Exactly one
// of the access methods is set: Kubeconfig/Context, InCluster, EKS, REST or
// Client.
type Connection struct {
	Name string
	// Kubeconfig is a kubeconfig file; empty with Context set uses the
	// default loading rules ($KUBECONFIG, ~/.kube/config).
	Kubeconfig string
	// Context selects a kubeconfig context; empty means the current one.
	Context string
	// InCluster uses the pod's service account (Koyomi runs in the cluster).
	InCluster bool
	// EKS reaches an Amazon EKS cluster with an IAM token.
	EKS *EKSAccess
	// REST is a ready client configuration (embedding, tests).
	REST *rest.Config
	// Client is a ready clientset (tests with client-go's fake clientset).
	Client kubernetes.Interface
	// Namespace is the default namespace of jobs on this connection.
	Namespace string
	// QPS and Burst limit the client's request rate to the API server
	// (client-go's token bucket, shared by every call and informer of the
	// connection); zero means QPSDefault and BurstDefault.
	QPS   float32
	Burst int
	// LogQPS limits the log reads (pods/log streams, which the kubelet
	// serves) of the connection, with a burst of twice as many; zero means
	// LogQPSDefault.
	LogQPS float32
}

// EKSAccess reaches an EKS cluster's API server with a token made from the
// caller's AWS identity (the aws-iam-authenticator scheme: a presigned STS
// GetCallerIdentity URL carrying the x-k8s-aws-id header).
type EKSAccess struct {
	// Cluster is the EKS cluster name.
	Cluster string
	// Region is the AWS region of the cluster.
	Region string
	// Endpoint is the API server URL (aws eks describe-cluster
	// --query cluster.endpoint).
	Endpoint string
	// CAData is the cluster CA certificate in PEM (the base64-decoded
	// cluster.certificateAuthority.data).
	CAData []byte
	// RoleARN, when set, is assumed before signing (the IAM principal that
	// the cluster's access entry or aws-auth mapping names).
	RoleARN string
	// AWS is the AWS configuration to sign with; nil means the default
	// chain (environment, shared files, IMDS/IRSA/Pod Identity) for Region.
	AWS *aws.Config
}

func (c Config) withDefaults() Config {
	if c.UnschedulableLimit == 0 {
		c.UnschedulableLimit = UnschedulableLimitDefault
	}
	if c.StartErrorLimit == 0 {
		c.StartErrorLimit = StartErrorLimitDefault
	}
	if c.CallTimeout == 0 {
		c.CallTimeout = CallTimeoutDefault
	}
	if c.SyncTimeout == 0 {
		c.SyncTimeout = SyncTimeoutDefault
	}
	if c.TombstoneTTL == 0 {
		c.TombstoneTTL = TombstoneTTLDefault
	}
	if c.CleanupAfter == 0 {
		c.CleanupAfter = CleanupAfterDefault
	}
	if c.ArchiveTimeout == 0 {
		c.ArchiveTimeout = ArchiveTimeoutDefault
	}
	if c.SweepInterval == 0 {
		c.SweepInterval = SweepIntervalDefault
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.DefaultConnection == "" && len(c.Connections) == 1 {
		c.DefaultConnection = c.Connections[0].Name
	}
	return c
}

// Validate reports every problem of the configuration with its path.
func (c Config) Validate() error {
	var ps fault.Problems
	names := map[string]bool{}
	for i, cn := range c.Connections {
		path := fmt.Sprintf("connections[%d]", i)
		if cn.Name == "" {
			ps.Add(path+".name", "required")
		} else if names[cn.Name] {
			ps.Add(path+".name", "duplicate connection %q", cn.Name)
		}
		names[cn.Name] = true
		n := 0
		if cn.Kubeconfig != "" || cn.Context != "" {
			n++
		}
		for _, set := range []bool{cn.InCluster, cn.EKS != nil, cn.REST != nil, cn.Client != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			ps.Add(path, "set exactly one of kubeconfig/context, in_cluster, eks (found %d)", n)
		}
		if e := cn.EKS; e != nil {
			if e.Cluster == "" {
				ps.Add(path+".eks.cluster", "required")
			}
			if e.Region == "" {
				ps.Add(path+".eks.region", "required")
			}
			if e.Endpoint == "" {
				ps.Add(path+".eks.endpoint", "required")
			}
			if len(e.CAData) == 0 {
				ps.Add(path+".eks.ca_data", "required")
			}
		}
		if cn.QPS < 0 || cn.Burst < 0 || cn.LogQPS < 0 {
			ps.Add(path, "qps, burst and log_qps must not be negative")
		}
	}
	if c.LogMax < 0 {
		ps.Add("log_max", "must not be negative")
	}
	if c.DefaultConnection != "" && !names[c.DefaultConnection] {
		ps.Add("default_connection", "unknown connection %q", c.DefaultConnection)
	}
	for _, d := range []struct {
		path string
		v    time.Duration
	}{{"unschedulable_limit", c.UnschedulableLimit}, {"start_error_limit", c.StartErrorLimit}, {"sync_timeout", c.SyncTimeout}, {"call_timeout", c.CallTimeout}, {"resync_period", c.ResyncPeriod}, {"tombstone_ttl", c.TombstoneTTL},
		{"cleanup_after", c.CleanupAfter}, {"archive_timeout", c.ArchiveTimeout}, {"sweep_interval", c.SweepInterval}, {"log_retention", c.LogRetention}} {
		if d.v < 0 {
			ps.Add(d.path, "must not be negative")
		}
	}
	return ps.Err()
}
