package connect

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/koyomi-dev/koyomi/internal/dispatch/ecs"
	"github.com/koyomi-dev/koyomi/internal/dispatch/eks"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// SessionNameDefault names assumed-role sessions when the connection names none.
const SessionNameDefault = "koyomi"

// TimeoutDefault bounds one connection test.
const TimeoutDefault = 15 * time.Second

// ECS returns the ecs executor connection of an aws connection.
func ECS(c jobnet.Connection) (ecs.Connection, error) {
	if c.Kind != jobnet.ConnectionAWS || c.AWS == nil {
		return ecs.Connection{}, fmt.Errorf("connection %q is not an aws connection: %w", c.Name, fault.ErrInvalid)
	}
	if ps := jobnet.ValidateConnection("connection "+c.Name, c); len(ps) > 0 {
		return ecs.Connection{}, ps
	}
	a := c.AWS
	return ecs.Connection{
		Name: c.Name, Region: a.Region, RoleARN: a.RoleARN, ExternalID: a.ExternalID,
		SessionName: a.SessionName, Profile: a.Profile, EndpointURL: a.EndpointURL,
		LogsEndpointURL: a.LogsEndpointURL, STSEndpointURL: a.STSEndpointURL,
	}, nil
}

// EKS returns the eks executor connection of a kubernetes connection.
func EKS(c jobnet.Connection) (eks.Connection, error) {
	if c.Kind != jobnet.ConnectionKubernetes || c.Kubernetes == nil {
		return eks.Connection{}, fmt.Errorf("connection %q is not a kubernetes connection: %w", c.Name, fault.ErrInvalid)
	}
	if ps := jobnet.ValidateConnection("connection "+c.Name, c); len(ps) > 0 {
		return eks.Connection{}, ps
	}
	k := c.Kubernetes
	out := eks.Connection{Name: c.Name, Namespace: k.Namespace, QPS: float32(k.QPS), Burst: k.Burst, LogQPS: float32(k.LogQPS)}
	switch k.Mode() {
	case jobnet.KubeModeKubeconfig:
		out.Kubeconfig, out.Context = k.Kubeconfig, k.Context
	case jobnet.KubeModeInCluster:
		out.InCluster = true
	case jobnet.KubeModeEKS:
		out.EKS = &eks.EKSAccess{Cluster: k.EKSCluster, Region: k.Region, Endpoint: k.Server, CAData: []byte(k.CAData), RoleARN: k.RoleARN}
	case jobnet.KubeModeToken:
		out.REST = tokenREST(k)
	}
	return out, nil
}

func tokenREST(k *jobnet.KubeConnection) *rest.Config {
	return &rest.Config{Host: k.Server, BearerToken: k.Token, TLSClientConfig: rest.TLSClientConfig{CAData: []byte(k.CAData)}}
}

// Options tune a connection test.
type Options struct {
	// HTTPClient carries the AWS calls (nil: the SDK's default).
	HTTPClient *http.Client
	// Credentials replace the default credential chain as base credentials.
	Credentials aws.CredentialsProvider
	// Timeout bounds the test (TimeoutDefault when zero).
	Timeout time.Duration
}

// Test checks that c works and returns a one-line description of what it
// reached ("account 123456789012, arn:aws:sts::…" or "Kubernetes v1.31.2").
// The error says which step failed.
func Test(ctx context.Context, c jobnet.Connection, opts Options) (string, error) {
	if ps := jobnet.ValidateConnection("connection "+c.Name, c); len(ps) > 0 {
		return "", ps
	}
	if opts.Timeout <= 0 {
		opts.Timeout = TimeoutDefault
	}
	ctx, cancel := context.WithTimeout(ctx, opts.Timeout)
	defer cancel()
	switch c.Kind {
	case jobnet.ConnectionAWS:
		return testAWS(ctx, c, opts)
	case jobnet.ConnectionKubernetes:
		return testKubernetes(ctx, c, opts)
	}
	return "", fmt.Errorf("test connection %q: unknown type %q: %w", c.Name, c.Kind, fault.ErrInvalid)
}

// awsConfig builds the SDK configuration of region/profile/role, the way
// the executors do.
func awsConfig(ctx context.Context, region, profile, roleARN, externalID, sessionName, stsEndpoint string, opts Options) (aws.Config, error) {
	lo := []func(*awsconfig.LoadOptions) error{awsconfig.WithLogger(ecs.SDKLogger(slog.Default()))}
	if region != "" {
		lo = append(lo, awsconfig.WithRegion(region))
	}
	if profile != "" {
		lo = append(lo, awsconfig.WithSharedConfigProfile(profile))
	}
	if opts.HTTPClient != nil {
		lo = append(lo, awsconfig.WithHTTPClient(opts.HTTPClient))
	}
	if opts.Credentials != nil {
		lo = append(lo, awsconfig.WithCredentialsProvider(opts.Credentials))
	}
	cfg, err := awsconfig.LoadDefaultConfig(ctx, lo...)
	if err != nil {
		return aws.Config{}, fmt.Errorf("load AWS configuration: %w", err)
	}
	if roleARN != "" {
		if sessionName == "" {
			sessionName = SessionNameDefault
		}
		client := sts.NewFromConfig(cfg, stsEndpointOption(stsEndpoint))
		p := stscreds.NewAssumeRoleProvider(client, roleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = sessionName
			if externalID != "" {
				o.ExternalID = aws.String(externalID)
			}
		})
		cfg.Credentials = aws.NewCredentialsCache(p)
	}
	return cfg, nil
}

func stsEndpointOption(url string) func(*sts.Options) {
	return func(o *sts.Options) {
		if url != "" {
			o.BaseEndpoint = aws.String(url)
		}
	}
}

func testAWS(ctx context.Context, c jobnet.Connection, opts Options) (string, error) {
	a := c.AWS
	cfg, err := awsConfig(ctx, a.Region, a.Profile, a.RoleARN, a.ExternalID, a.SessionName, a.STSEndpointURL, opts)
	if err != nil {
		return "", fmt.Errorf("test connection %q: %w", c.Name, err)
	}
	out, err := sts.NewFromConfig(cfg, stsEndpointOption(a.STSEndpointURL)).GetCallerIdentity(ctx, &sts.GetCallerIdentityInput{})
	if err != nil {
		return "", fmt.Errorf("test connection %q: sts GetCallerIdentity: %w", c.Name, err)
	}
	return fmt.Sprintf("account %s, %s", aws.ToString(out.Account), aws.ToString(out.Arn)), nil
}

func testKubernetes(ctx context.Context, c jobnet.Connection, opts Options) (string, error) {
	k := c.Kubernetes
	var rc *rest.Config
	var err error
	switch k.Mode() {
	case jobnet.KubeModeKubeconfig:
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if k.Kubeconfig != "" {
			rules = &clientcmd.ClientConfigLoadingRules{ExplicitPath: k.Kubeconfig}
		}
		rc, err = clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: k.Context}).ClientConfig()
	case jobnet.KubeModeInCluster:
		rc, err = rest.InClusterConfig()
	case jobnet.KubeModeEKS:
		var cfg aws.Config
		cfg, err = awsConfig(ctx, k.Region, "", k.RoleARN, "", "", "", opts)
		if err == nil {
			var tok string
			tok, err = eks.NewTokenSource(cfg, k.EKSCluster, time.Now).Token(ctx)
			rc = &rest.Config{Host: k.Server, BearerToken: tok, TLSClientConfig: rest.TLSClientConfig{CAData: []byte(k.CAData)}}
		}
	case jobnet.KubeModeToken:
		rc = tokenREST(k)
	}
	if err != nil {
		return "", fmt.Errorf("test connection %q: client configuration (%s): %w", c.Name, k.Mode(), err)
	}
	rc = rest.CopyConfig(rc)
	if deadline, ok := ctx.Deadline(); ok {
		rc.Timeout = time.Until(deadline)
	}
	dc, err := discovery.NewDiscoveryClientForConfig(rc)
	if err != nil {
		return "", fmt.Errorf("test connection %q: %w", c.Name, err)
	}
	type result struct {
		v   string
		err error
	}
	ch := make(chan result, 1)
	go func() {
		info, err := dc.ServerVersion()
		if err != nil {
			ch <- result{err: err}
			return
		}
		ch <- result{v: info.GitVersion}
	}()
	select {
	case r := <-ch:
		if r.err != nil {
			return "", fmt.Errorf("test connection %q: get server version from %s: %w", c.Name, rc.Host, r.err)
		}
		return "Kubernetes " + r.v, nil
	case <-ctx.Done():
		return "", fmt.Errorf("test connection %q: get server version from %s: %w", c.Name, rc.Host, ctx.Err())
	}
}
