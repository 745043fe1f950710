package jobnet

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// ConnectionKind says what a connection reaches.
type ConnectionKind string

const (
	// ConnectionAWS reaches an AWS account and region; ecs jobs use it.
	ConnectionAWS ConnectionKind = "aws"
	// ConnectionKubernetes reaches a Kubernetes API server; eks jobs use it.
	ConnectionKubernetes ConnectionKind = "kubernetes"
)

// connectionKinds lists the valid connection kinds.
var connectionKinds = []ConnectionKind{ConnectionAWS, ConnectionKubernetes}

// JobType returns the job type that runs on connections of kind k.
func (k ConnectionKind) JobType() JobType {
	switch k {
	case ConnectionAWS:
		return JobECS
	case ConnectionKubernetes:
		return JobEKS
	}
	return ""
}

// Connection is a named way to reach an AWS account (ecs jobs) or a
// Kubernetes cluster (eks jobs). Koyomi stores no AWS keys: credentials
// come from the default chain of the server (environment, shared files,
// instance or pod role), optionally with a role assumed on top. The
// secret fields (AWS external id, Kubernetes bearer token) are write-only:
// exports and screens leave them out, and an apply without them keeps the
// stored value.
type Connection struct {
	// Name is how ecs and eks jobs refer to the connection.
	Name string `json:"name" yaml:"name"`
	// Kind is aws or kubernetes (written as type, since kind names the document).
	Kind ConnectionKind `json:"type" yaml:"type"`
	// Description is free text for operators.
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// AWS is set for connections of type aws.
	AWS *AWSConnection `json:"aws,omitempty" yaml:"aws,omitempty"`
	// Kubernetes is set for connections of type kubernetes.
	Kubernetes *KubeConnection `json:"kubernetes,omitempty" yaml:"kubernetes,omitempty"`
}

// AWSConnection reaches one AWS account and region.
type AWSConnection struct {
	// Region is the AWS region, e.g. ap-northeast-1 (required unless the profile supplies it).
	Region string `json:"region,omitempty" yaml:"region,omitempty"`
	// RoleARN is an IAM role assumed through STS on top of the base credentials.
	RoleARN string `json:"role_arn,omitempty" yaml:"role_arn,omitempty"`
	// ExternalID is passed when assuming the role; a secret, never exported.
	ExternalID string `json:"external_id,omitempty" yaml:"external_id,omitempty"`
	// SessionName names the assumed-role session (koyomi by default).
	SessionName string `json:"session_name,omitempty" yaml:"session_name,omitempty"`
	// Profile selects a profile of the server's shared AWS config files.
	Profile string `json:"profile,omitempty" yaml:"profile,omitempty"`
	// EndpointURL overrides the ECS endpoint (VPC endpoints without private DNS); it also serves CloudWatch Logs unless logs_endpoint_url is set.
	EndpointURL string `json:"endpoint_url,omitempty" yaml:"endpoint_url,omitempty"`
	// LogsEndpointURL overrides the CloudWatch Logs endpoint.
	LogsEndpointURL string `json:"logs_endpoint_url,omitempty" yaml:"logs_endpoint_url,omitempty"`
	// STSEndpointURL overrides the STS endpoint.
	STSEndpointURL string `json:"sts_endpoint_url,omitempty" yaml:"sts_endpoint_url,omitempty"`
}

// KubeConnection reaches one Kubernetes API server. Exactly one access mode
// is used: a kubeconfig (kubeconfig and/or context), in_cluster, an EKS
// cluster with an IAM token (eks_cluster, region, server, ca_data), or a
// server with a bearer token (server, token, optional ca_data). The token
// is write-only: a definition read back from an export has none, so its
// presence is checked when the connection is stored (RequireSecrets), not
// by Validate.
type KubeConnection struct {
	// Kubeconfig is the absolute path of a kubeconfig file on the server; with only context set, the default loading rules apply ($KUBECONFIG, ~/.kube/config).
	Kubeconfig string `json:"kubeconfig,omitempty" yaml:"kubeconfig,omitempty"`
	// Context selects a kubeconfig context (the current one when empty).
	Context string `json:"context,omitempty" yaml:"context,omitempty"`
	// InCluster uses the service account of the pod Koyomi runs in.
	InCluster bool `json:"in_cluster,omitempty" yaml:"in_cluster,omitempty"`
	// EKSCluster is the Amazon EKS cluster name; Koyomi signs an IAM token for it.
	EKSCluster string `json:"eks_cluster,omitempty" yaml:"eks_cluster,omitempty"`
	// Region is the AWS region of the EKS cluster.
	Region string `json:"region,omitempty" yaml:"region,omitempty"`
	// Server is the API server URL (for EKS: aws eks describe-cluster --query cluster.endpoint).
	Server string `json:"server,omitempty" yaml:"server,omitempty"`
	// CAData is the API server's CA certificate in PEM.
	CAData string `json:"ca_data,omitempty" yaml:"ca_data,omitempty"`
	// RoleARN is an IAM role assumed before signing the EKS token.
	RoleARN string `json:"role_arn,omitempty" yaml:"role_arn,omitempty"`
	// Token is a bearer token for the server; a secret, never exported.
	Token string `json:"token,omitempty" yaml:"token,omitempty"`
	// Namespace is the default namespace of jobs on this connection (default when empty).
	Namespace string `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	// QPS is how many requests per second Koyomi sends to this API server at most (client side, shared by all its jobs; 20 when 0).
	QPS float64 `json:"qps,omitempty" yaml:"qps,omitempty"`
	// Burst is how many requests may go above qps in a burst (40 when 0).
	Burst int `json:"burst,omitempty" yaml:"burst,omitempty"`
	// LogQPS is how many pod log reads per second Koyomi starts at most, with a burst of twice as many (5 when 0).
	LogQPS float64 `json:"log_qps,omitempty" yaml:"log_qps,omitempty"`
}

// KubeMode is how a Kubernetes connection reaches its API server.
type KubeMode string

const (
	// KubeModeKubeconfig uses a kubeconfig file and context.
	KubeModeKubeconfig KubeMode = "kubeconfig"
	// KubeModeInCluster uses the pod's service account.
	KubeModeInCluster KubeMode = "in_cluster"
	// KubeModeEKS signs an IAM token for an EKS cluster.
	KubeModeEKS KubeMode = "eks"
	// KubeModeToken sends a static bearer token.
	KubeModeToken KubeMode = "token"
)

// Modes returns the access modes k sets; a valid connection sets exactly one.
func (k *KubeConnection) Modes() []KubeMode {
	var out []KubeMode
	if k.Kubeconfig != "" || k.Context != "" {
		out = append(out, KubeModeKubeconfig)
	}
	if k.InCluster {
		out = append(out, KubeModeInCluster)
	}
	if k.EKSCluster != "" {
		out = append(out, KubeModeEKS)
	}
	if k.Server != "" && k.EKSCluster == "" {
		out = append(out, KubeModeToken)
	}
	return out
}

// Mode returns the access mode of k, or "" when it sets none or several.
func (k *KubeConnection) Mode() KubeMode {
	if m := k.Modes(); len(m) == 1 {
		return m[0]
	}
	return ""
}

// Secret returns the secret value of c (external id or token), "" for none.
func (c Connection) Secret() string {
	switch {
	case c.AWS != nil:
		return c.AWS.ExternalID
	case c.Kubernetes != nil:
		return c.Kubernetes.Token
	}
	return ""
}

// HasSecret reports whether c carries a secret value.
func (c Connection) HasSecret() bool { return c.Secret() != "" }

// WithSecret returns a copy of c whose secret field holds s. The payload
// of c's kind is created when missing; s is dropped when c has no kind.
func (c Connection) WithSecret(s string) Connection {
	out := c.clone()
	switch out.Kind {
	case ConnectionAWS:
		if out.AWS == nil {
			out.AWS = &AWSConnection{}
		}
		out.AWS.ExternalID = s
	case ConnectionKubernetes:
		if out.Kubernetes == nil {
			out.Kubernetes = &KubeConnection{}
		}
		out.Kubernetes.Token = s
	}
	return out
}

// Redacted returns a copy of c without its secret values, for exports,
// screens and logs.
func (c Connection) Redacted() Connection {
	out := c.clone()
	if out.AWS != nil {
		out.AWS.ExternalID = ""
	}
	if out.Kubernetes != nil {
		out.Kubernetes.Token = ""
	}
	return out
}

// Target returns what the connection points at, for lists: the region of
// an aws connection; the cluster, server, context or "in-cluster" of a
// kubernetes one.
func (c Connection) Target() string {
	switch {
	case c.AWS != nil:
		if c.AWS.Region == "" && c.AWS.Profile != "" {
			return "profile " + c.AWS.Profile
		}
		return c.AWS.Region
	case c.Kubernetes != nil:
		k := c.Kubernetes
		switch k.Mode() {
		case KubeModeEKS:
			return k.EKSCluster + " (" + k.Region + ")"
		case KubeModeInCluster:
			return "in-cluster"
		case KubeModeToken:
			return k.Server
		case KubeModeKubeconfig:
			if k.Context != "" {
				return "context " + k.Context
			}
			return k.Kubeconfig
		}
	}
	return ""
}

func (c Connection) clone() Connection {
	out := c
	if c.AWS != nil {
		a := *c.AWS
		out.AWS = &a
	}
	if c.Kubernetes != nil {
		k := *c.Kubernetes
		out.Kubernetes = &k
	}
	return out
}

// Formats of connection fields.
var (
	regionRE      = regexp.MustCompile(`^[a-z]{2}(-[a-z]+)+-[0-9]{1,2}$`)
	roleARNRE     = regexp.MustCompile(`^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9_+=,.@/-]{1,512}$`)
	externalIDRE  = regexp.MustCompile(`^[A-Za-z0-9_+=,.@:/-]+$`)
	sessionNameRE = regexp.MustCompile(`^[A-Za-z0-9_+=,.@-]{2,64}$`)
	profileRE     = regexp.MustCompile(`^[A-Za-z0-9_+=,.@:/-]{1,128}$`)
	contextRE     = regexp.MustCompile(`^[^\x00-\x1f\x7f]{1,253}$`)
	clusterRE     = regexp.MustCompile(`^[0-9A-Za-z][A-Za-z0-9_-]{0,99}$`)
	tokenRE       = regexp.MustCompile(`^[\x21-\x7e]+$`)
)

// RequireSecrets reports the secrets a connection cannot work without
// (the bearer token of a server/token connection), once stored secrets
// have been merged in; p is the path prefix of the problems.
func RequireSecrets(p string, c Connection) fault.Problems {
	var ps fault.Problems
	if k := c.Kubernetes; c.Kind == ConnectionKubernetes && k != nil && k.Mode() == KubeModeToken && k.Token == "" {
		ps.Add(p+".kubernetes.token", "required with server (a bearer token); it is write-only, so give it when creating the connection")
	}
	return ps
}

// MaxDescriptionLen is the longest connection description.
const MaxDescriptionLen = 1000

// ValidateConnection checks one connection on its own; p is the path
// prefix of its problems (e.g. "connections[prod]").
func ValidateConnection(p string, c Connection) fault.Problems {
	v := &validator{}
	v.connectionDef(p, c)
	return v.ps.Sorted()
}

func (v *validator) connectionDef(p string, c Connection) {
	if len(c.Description) > MaxDescriptionLen {
		v.ps.Add(p+".description", "longer than %d characters", MaxDescriptionLen)
	}
	switch c.Kind {
	case "":
		v.ps.Add(p+".type", "required: aws or kubernetes")
	case ConnectionAWS:
		if c.Kubernetes != nil {
			v.ps.Add(p+".kubernetes", "not allowed in a connection of type aws")
		}
		if c.AWS == nil {
			v.ps.Add(p+".aws", "required for type aws (region at least)")
			return
		}
		v.awsConnection(p+".aws", c.AWS)
	case ConnectionKubernetes:
		if c.AWS != nil {
			v.ps.Add(p+".aws", "not allowed in a connection of type kubernetes")
		}
		if c.Kubernetes == nil {
			v.ps.Add(p+".kubernetes", "required for type kubernetes")
			return
		}
		v.kubeConnection(p+".kubernetes", c.Kubernetes)
	default:
		v.ps.Add(p+".type", "%q: must be aws or kubernetes", c.Kind)
	}
}

func (v *validator) awsConnection(p string, a *AWSConnection) {
	switch {
	case a.Region == "" && a.Profile == "":
		v.ps.Add(p+".region", "required unless a profile supplies it")
	case a.Region != "":
		v.region(p+".region", a.Region)
	}
	if a.RoleARN != "" && !roleARNRE.MatchString(a.RoleARN) {
		v.ps.Add(p+".role_arn", "invalid role ARN %q: want arn:aws:iam::<12-digit account>:role/<name>", a.RoleARN)
	}
	if a.ExternalID != "" {
		if a.RoleARN == "" {
			v.ps.Add(p+".external_id", "needs role_arn")
		}
		if len(a.ExternalID) < 2 || len(a.ExternalID) > 1224 || !externalIDRE.MatchString(a.ExternalID) {
			v.ps.Add(p+".external_id", "must be 2-1224 characters of A-Z a-z 0-9 and +=,.@:/-_")
		}
	}
	if a.SessionName != "" {
		if a.RoleARN == "" {
			v.ps.Add(p+".session_name", "needs role_arn")
		}
		if !sessionNameRE.MatchString(a.SessionName) {
			v.ps.Add(p+".session_name", "invalid session name %q: 2-64 characters of A-Z a-z 0-9 and +=,.@-_", a.SessionName)
		}
	}
	if a.Profile != "" && !profileRE.MatchString(a.Profile) {
		v.ps.Add(p+".profile", "invalid profile name %q", a.Profile)
	}
	v.endpoint(p+".endpoint_url", a.EndpointURL)
	v.endpoint(p+".logs_endpoint_url", a.LogsEndpointURL)
	v.endpoint(p+".sts_endpoint_url", a.STSEndpointURL)
}

func (v *validator) kubeConnection(p string, k *KubeConnection) {
	modes := k.Modes()
	switch len(modes) {
	case 0:
		v.ps.Add(p, "set exactly one access mode: kubeconfig/context, in_cluster, eks_cluster or server with token")
	case 1:
	default:
		names := make([]string, len(modes))
		for i, m := range modes {
			names[i] = string(m)
		}
		v.ps.Add(p, "set exactly one access mode, found %s", strings.Join(names, ", "))
	}
	if k.Kubeconfig != "" && (!filepath.IsAbs(k.Kubeconfig) || strings.ContainsRune(k.Kubeconfig, 0)) {
		v.ps.Add(p+".kubeconfig", "%q: want an absolute path on the server", k.Kubeconfig)
	}
	if k.Context != "" && !contextRE.MatchString(k.Context) {
		v.ps.Add(p+".context", "invalid context name")
	}
	mode := k.Mode()
	if mode == KubeModeEKS {
		if !clusterRE.MatchString(k.EKSCluster) {
			v.ps.Add(p+".eks_cluster", "invalid cluster name %q: 1-100 characters of A-Z a-z 0-9 _ -", k.EKSCluster)
		}
		if k.Region == "" {
			v.ps.Add(p+".region", "required with eks_cluster")
		}
		if k.Server == "" {
			v.ps.Add(p+".server", "required with eks_cluster: the cluster endpoint")
		}
		if k.CAData == "" {
			v.ps.Add(p+".ca_data", "required with eks_cluster: the cluster CA in PEM")
		}
		if k.Token != "" {
			v.ps.Add(p+".token", "not allowed with eks_cluster (the token is signed from the AWS identity)")
		}
	} else {
		if k.Region != "" {
			v.ps.Add(p+".region", "only with eks_cluster")
		}
		if k.RoleARN != "" {
			v.ps.Add(p+".role_arn", "only with eks_cluster")
		}
		if k.Token != "" && k.Server == "" {
			v.ps.Add(p+".token", "needs server: the API server URL")
		}
		if mode != KubeModeToken && mode != "" && k.CAData != "" {
			v.ps.Add(p+".ca_data", "only with eks_cluster or server")
		}
	}
	if k.Region != "" {
		v.region(p+".region", k.Region)
	}
	if k.RoleARN != "" && !roleARNRE.MatchString(k.RoleARN) {
		v.ps.Add(p+".role_arn", "invalid role ARN %q: want arn:aws:iam::<12-digit account>:role/<name>", k.RoleARN)
	}
	if k.Server != "" {
		v.endpoint(p+".server", k.Server)
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"qps", k.QPS}, {"burst", float64(k.Burst)}, {"log_qps", k.LogQPS}} {
		if r.v < 0 || r.v > 10000 {
			v.ps.Add(p+"."+r.name, "%v: must be 0 (the default) to 10000", r.v)
		}
	}
	if k.CAData != "" {
		if err := checkPEM(k.CAData); err != nil {
			v.ps.Add(p+".ca_data", "%v", err)
		}
	}
	if k.Token != "" && (len(k.Token) > 16384 || !tokenRE.MatchString(k.Token)) {
		v.ps.Add(p+".token", "must be 1-16384 printable characters without spaces")
	}
	if k.Namespace != "" && !dnsLabelRE.MatchString(k.Namespace) {
		v.ps.Add(p+".namespace", "invalid namespace %q: want a DNS label (a-z 0-9 -)", k.Namespace)
	}
}

func (v *validator) region(p, r string) {
	if !regionRE.MatchString(r) {
		v.ps.Add(p, "invalid region %q: want a region code such as ap-northeast-1", r)
	}
}

// endpoint checks an optional http(s) URL without credentials, query or fragment.
func (v *validator) endpoint(p, s string) {
	if s == "" {
		return
	}
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.ps.Add(p, "invalid URL %q", s)
	case u.Scheme != "https" && u.Scheme != "http":
		v.ps.Add(p, "%q: want an http or https URL", s)
	case u.Host == "":
		v.ps.Add(p, "%q: the URL has no host", s)
	case u.User != nil:
		v.ps.Add(p, "%q: credentials in the URL are not allowed", s)
	case u.RawQuery != "" || u.Fragment != "":
		v.ps.Add(p, "%q: the URL must not have a query or fragment", s)
	}
}

// checkPEM checks that s holds one or more PEM certificates and nothing else.
func checkPEM(s string) error {
	rest := []byte(strings.TrimSpace(s))
	n := 0
	for len(rest) > 0 {
		var b *pem.Block
		b, rest = pem.Decode(rest)
		if b == nil {
			return fmt.Errorf("want PEM certificates (-----BEGIN CERTIFICATE-----)")
		}
		if b.Type != "CERTIFICATE" {
			return fmt.Errorf("want PEM certificates, found a %s block", b.Type)
		}
		if _, err := x509.ParseCertificate(b.Bytes); err != nil {
			return fmt.Errorf("certificate %d: %v", n+1, err)
		}
		n++
		rest = []byte(strings.TrimSpace(string(rest)))
	}
	if n == 0 {
		return fmt.Errorf("want PEM certificates (-----BEGIN CERTIFICATE-----)")
	}
	return nil
}
