package eks

import (
	"context"
	"fmt"
	"net/http"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsconfig "github.com/aws/aws-sdk-go-v2/config"
	"github.com/aws/aws-sdk-go-v2/credentials/stscreds"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	"golang.org/x/time/rate"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// restConfig returns the client configuration of a connection. It reads
// files (kubeconfig, service account, AWS shared config) but makes no call
// to the cluster.
func restConfig(ctx context.Context, cn Connection, now func() time.Time) (*rest.Config, error) {
	var (
		rc  *rest.Config
		err error
	)
	switch {
	case cn.REST != nil:
		rc = rest.CopyConfig(cn.REST)
	case cn.InCluster:
		rc, err = rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster config: %w: %w", fault.ErrInvalid, err)
		}
	case cn.EKS != nil:
		rc, err = eksConfig(ctx, *cn.EKS, now)
		if err != nil {
			return nil, err
		}
	default:
		rules := clientcmd.NewDefaultClientConfigLoadingRules()
		if cn.Kubeconfig != "" {
			rules.ExplicitPath = cn.Kubeconfig
		}
		cc := clientcmd.NewNonInteractiveDeferredLoadingClientConfig(rules, &clientcmd.ConfigOverrides{CurrentContext: cn.Context})
		rc, err = cc.ClientConfig()
		if err != nil {
			return nil, fmt.Errorf("kubeconfig %q context %q: %w: %w", cn.Kubeconfig, cn.Context, fault.ErrInvalid, err)
		}
	}
	if cn.QPS > 0 {
		rc.QPS = cn.QPS
	} else if rc.QPS == 0 {
		rc.QPS = QPSDefault
	}
	if cn.Burst > 0 {
		rc.Burst = cn.Burst
	} else if rc.Burst == 0 {
		rc.Burst = BurstDefault
	}
	if rc.UserAgent == "" {
		rc.UserAgent = "koyomi"
	}
	return rc, nil
}

// eksConfig builds a client configuration for an EKS cluster that
// authenticates with a fresh IAM token on every request (cached 10 min).
func eksConfig(ctx context.Context, a EKSAccess, now func() time.Time) (*rest.Config, error) {
	var cfg aws.Config
	if a.AWS != nil {
		cfg = a.AWS.Copy()
	} else {
		var err error
		cfg, err = awsconfig.LoadDefaultConfig(ctx, awsconfig.WithRegion(a.Region))
		if err != nil {
			return nil, fmt.Errorf("aws config for eks cluster %q: %w", a.Cluster, err)
		}
	}
	cfg.Region = a.Region
	if a.RoleARN != "" {
		cfg.Credentials = aws.NewCredentialsCache(stscreds.NewAssumeRoleProvider(sts.NewFromConfig(cfg), a.RoleARN, func(o *stscreds.AssumeRoleOptions) {
			o.RoleSessionName = "koyomi"
		}))
	}
	ts := NewTokenSource(cfg, a.Cluster, now)
	return &rest.Config{
		Host:            a.Endpoint,
		TLSClientConfig: rest.TLSClientConfig{CAData: a.CAData},
		WrapTransport: func(rt http.RoundTripper) http.RoundTripper {
			return &bearerTransport{ts: ts, next: rt}
		},
	}, nil
}

// logLimiter returns the limiter of a connection's log reads.
func logLimiter(cn Connection) *rate.Limiter {
	qps := float64(cn.LogQPS)
	if qps <= 0 {
		qps = LogQPSDefault
	}
	return rate.NewLimiter(rate.Limit(qps), max(1, int(2*qps)))
}

// clientFor returns the clientset of a connection.
func clientFor(ctx context.Context, cn Connection, now func() time.Time) (kubernetes.Interface, error) {
	if cn.Client != nil {
		return cn.Client, nil
	}
	rc, err := restConfig(ctx, cn, now)
	if err != nil {
		return nil, fmt.Errorf("eks connection %q: %w", cn.Name, err)
	}
	cs, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("eks connection %q: client: %w", cn.Name, err)
	}
	return cs, nil
}
