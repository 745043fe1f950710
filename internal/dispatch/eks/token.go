package eks

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"sync"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sts"
	smithyhttp "github.com/aws/smithy-go/transport/http"
)

// EKS token constants (the aws-iam-authenticator scheme that EKS verifies).
const (
	// TokenPrefix starts every EKS bearer token.
	TokenPrefix = "k8s-aws-v1."
	// ClusterIDHeader is the signed header naming the cluster.
	ClusterIDHeader = "x-k8s-aws-id"
	// EKS accepts a token for 15 minutes after signing (whatever
	// X-Amz-Expires says; "60" is what aws eks get-token sends). A cached
	// token is renewed after tokenRefresh.
	presignExpires = "60"
	tokenRefresh   = 10 * time.Minute
)

// TokenSource makes EKS bearer tokens for one cluster and caches each for
// tokenRefresh. It is safe for concurrent use.
type TokenSource struct {
	cluster string
	client  *sts.PresignClient
	now     func() time.Time

	mu      sync.Mutex
	token   string
	expires time.Time
}

// NewTokenSource returns a token source for cluster signing with cfg's
// credentials in cfg's region. now is the clock (nil: time.Now).
func NewTokenSource(cfg aws.Config, cluster string, now func() time.Time) *TokenSource {
	if now == nil {
		now = time.Now
	}
	return &TokenSource{cluster: cluster, client: sts.NewPresignClient(sts.NewFromConfig(cfg)), now: now}
}

// Token returns a valid token, presigning a new one when the cached one is
// older than tokenRefresh.
func (ts *TokenSource) Token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	now := ts.now()
	if ts.token != "" && now.Before(ts.expires) {
		return ts.token, nil
	}
	req, err := ts.client.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, func(so *sts.Options) {
			so.APIOptions = append(so.APIOptions,
				smithyhttp.SetHeaderValue(ClusterIDHeader, ts.cluster),
				smithyhttp.SetHeaderValue("X-Amz-Expires", presignExpires),
			)
		})
	})
	if err != nil {
		return "", fmt.Errorf("presign sts GetCallerIdentity for eks cluster %q: %w", ts.cluster, err)
	}
	ts.token = TokenPrefix + base64.RawURLEncoding.EncodeToString([]byte(req.URL))
	ts.expires = now.Add(tokenRefresh)
	return ts.token, nil
}

// bearerTransport adds an EKS token to every request.
type bearerTransport struct {
	ts   *TokenSource
	next http.RoundTripper
}

func (b *bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := b.ts.Token(r.Context())
	if err != nil {
		return nil, err
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return b.next.RoundTrip(r)
}
