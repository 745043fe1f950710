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
	// token is renewed after tokenRefresh, or earlier when the credentials
	// that signed it expire sooner (see TokenRenewAt).
	presignExpires = "60"
	tokenRefresh   = 10 * time.Minute
	// CredentialsMargin is how long before the signing credentials expire
	// a token signed with them is renewed, and how much validity fresh
	// credentials must have left to sign with.
	CredentialsMargin = time.Minute
)

// TokenRenewAt returns when a token signed at signed with creds must be
// replaced: tokenRefresh after signing (EKS accepts it for 15 minutes), or
// CredentialsMargin before creds expire when that is sooner — STS refuses a
// signature whose temporary credentials have expired, so a token outlives
// neither.
func TokenRenewAt(signed time.Time, creds aws.Credentials) time.Time {
	at := signed.Add(tokenRefresh)
	if creds.CanExpire {
		if e := creds.Expires.Add(-CredentialsMargin); e.Before(at) {
			at = e
		}
	}
	return at
}

// TokenSource makes EKS bearer tokens for one cluster and caches each until
// TokenRenewAt. It is safe for concurrent use.
type TokenSource struct {
	cluster string
	creds   aws.CredentialsProvider
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
	return &TokenSource{cluster: cluster, creds: cfg.Credentials, client: sts.NewPresignClient(sts.NewFromConfig(cfg)), now: now}
}

// Token returns a valid token, presigning a new one when the cached one is
// due for renewal (TokenRenewAt).
func (ts *TokenSource) Token(ctx context.Context) (string, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	now := ts.now()
	if ts.token != "" && now.Before(ts.expires) {
		return ts.token, nil
	}
	creds, err := ts.credentials(ctx, now)
	if err != nil {
		return "", fmt.Errorf("credentials to sign a token for eks cluster %q: %w", ts.cluster, err)
	}
	req, err := ts.client.PresignGetCallerIdentity(ctx, &sts.GetCallerIdentityInput{}, func(o *sts.PresignOptions) {
		o.ClientOptions = append(o.ClientOptions, func(so *sts.Options) {
			// Sign with exactly the credentials whose expiry decides the
			// token's renewal.
			so.Credentials = aws.CredentialsProviderFunc(func(context.Context) (aws.Credentials, error) { return creds, nil })
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
	ts.expires = TokenRenewAt(now, creds)
	return ts.token, nil
}

// credentials returns signing credentials with more than CredentialsMargin
// left: cached ones about to expire are dropped from the cache and fetched
// again once.
func (ts *TokenSource) credentials(ctx context.Context, now time.Time) (aws.Credentials, error) {
	if ts.creds == nil {
		return aws.Credentials{}, fmt.Errorf("no AWS credentials configured")
	}
	creds, err := ts.creds.Retrieve(ctx)
	if err != nil {
		return creds, err
	}
	if creds.CanExpire && !now.Before(creds.Expires.Add(-CredentialsMargin)) {
		if c, ok := ts.creds.(*aws.CredentialsCache); ok {
			c.Invalidate()
			return c.Retrieve(ctx)
		}
	}
	return creds, nil
}

// bearerTransport adds an EKS token to every request.
type bearerTransport struct {
	ts   *TokenSource
	next http.RoundTripper
}

func (b *bearerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	tok, err := b.ts.Token(r.Context())
	if err != nil {
		return nil, &tokenError{err: err}
	}
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", "Bearer "+tok)
	return b.next.RoundTrip(r)
}
