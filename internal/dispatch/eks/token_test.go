package eks

import (
	"context"
	"encoding/base64"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/stretchr/testify/require"
)

func TestTokenSource(t *testing.T) {
	cfg := aws.Config{Region: "ap-northeast-1", Credentials: credentials.NewStaticCredentialsProvider("AKIDEXAMPLE", "secret", "")}
	now := t0
	ts := NewTokenSource(cfg, "prod-batch", func() time.Time { return now })
	tok, err := ts.Token(context.Background())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(tok, TokenPrefix), tok)
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(tok, TokenPrefix))
	require.NoError(t, err)
	u, err := url.Parse(string(raw))
	require.NoError(t, err)
	require.Equal(t, "https", u.Scheme)
	require.Equal(t, "sts.ap-northeast-1.amazonaws.com", u.Host)
	q := u.Query()
	require.Equal(t, "GetCallerIdentity", q.Get("Action"))
	require.Equal(t, "AWS4-HMAC-SHA256", q.Get("X-Amz-Algorithm"))
	require.Equal(t, "60", q.Get("X-Amz-Expires"))
	require.NotEmpty(t, q.Get("X-Amz-Date"))
	cred := q.Get("X-Amz-Credential")
	require.True(t, strings.HasPrefix(cred, "AKIDEXAMPLE/") && strings.HasSuffix(cred, "/ap-northeast-1/sts/aws4_request"), cred)
	require.Contains(t, strings.Split(q.Get("X-Amz-SignedHeaders"), ";"), ClusterIDHeader)
	require.NotEmpty(t, q.Get("X-Amz-Signature"))

	// Cached for tokenRefresh, then renewed.
	now = t0.Add(tokenRefresh - time.Second)
	again, err := ts.Token(context.Background())
	require.NoError(t, err)
	require.Equal(t, tok, again)
	require.Equal(t, t0.Add(tokenRefresh), ts.expires, "not re-signed within the refresh period")
	now = t0.Add(tokenRefresh)
	fresh, err := ts.Token(context.Background())
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(fresh, TokenPrefix))
	require.Equal(t, now.Add(tokenRefresh), ts.expires, "re-signed after the refresh period")
}

func TestEKSConnectionSendsBearerToken(t *testing.T) {
	got := make(chan string, 1)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case got <- r.Header.Get("Authorization"):
		default:
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"ns"}}`))
	}))
	defer srv.Close()
	certPEM := pemCert(srv.Certificate().Raw)
	cfg := aws.Config{Region: "us-east-1", Credentials: credentials.NewStaticCredentialsProvider("AKID", "secret", "")}
	cs, err := clientFor(context.Background(), Connection{Name: "prod", EKS: &EKSAccess{Cluster: "c1", Region: "us-east-1", Endpoint: srv.URL, CAData: certPEM, AWS: &cfg}}, nil)
	require.NoError(t, err)
	_, err = cs.CoreV1().Pods("ns").Get(context.Background(), "p", getOpts)
	require.NoError(t, err)
	auth := <-got
	require.True(t, strings.HasPrefix(auth, "Bearer "+TokenPrefix), auth)
}

func TestTokenRenewAt(t *testing.T) {
	static := aws.Credentials{AccessKeyID: "AKID"}
	require.Equal(t, t0.Add(tokenRefresh), TokenRenewAt(t0, static), "long-lived keys: the token's own refresh")
	soon := aws.Credentials{AccessKeyID: "ASIA", CanExpire: true, Expires: t0.Add(4 * time.Minute)}
	require.Equal(t, t0.Add(3*time.Minute), TokenRenewAt(t0, soon), "session credentials expiring first: renewed a margin before")
	late := aws.Credentials{AccessKeyID: "ASIA", CanExpire: true, Expires: t0.Add(time.Hour)}
	require.Equal(t, t0.Add(tokenRefresh), TokenRenewAt(t0, late))
}

// rotatingCreds hands out new session credentials on every retrieval, each
// valid for ttl on the test clock (an assumed role with a short session).
type rotatingCreds struct {
	now *time.Time
	ttl time.Duration
	n   int
}

func (r *rotatingCreds) Retrieve(context.Context) (aws.Credentials, error) {
	r.n++
	return aws.Credentials{AccessKeyID: fmt.Sprintf("ASIAKEY%d", r.n), SecretAccessKey: "s", SessionToken: "t", CanExpire: true, Expires: r.now.Add(r.ttl)}, nil
}

// TestTokenFollowsExpiringCredentials: with credentials that expire after
// three minutes, the client's transport must send a token signed by new
// credentials once the old ones are within the margin of expiring, not
// keep the cached token for ten minutes.
func TestTokenFollowsExpiringCredentials(t *testing.T) {
	auths := make(chan string, 4)
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auths <- r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"kind":"Pod","apiVersion":"v1","metadata":{"name":"p","namespace":"ns"}}`))
	}))
	defer srv.Close()
	now := t0
	creds := &rotatingCreds{now: &now, ttl: 3 * time.Minute}
	cfg := aws.Config{Region: "us-east-1", Credentials: creds}
	cs, err := clientFor(context.Background(), Connection{Name: "prod", EKS: &EKSAccess{Cluster: "c1", Region: "us-east-1", Endpoint: srv.URL, CAData: pemCert(srv.Certificate().Raw), AWS: &cfg}}, func() time.Time { return now })
	require.NoError(t, err)
	keyOf := func() string {
		t.Helper()
		_, err := cs.CoreV1().Pods("ns").Get(context.Background(), "p", getOpts)
		require.NoError(t, err)
		auth := <-auths
		raw, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(auth, "Bearer "+TokenPrefix))
		require.NoError(t, err)
		u, err := url.Parse(string(raw))
		require.NoError(t, err)
		key, _, _ := strings.Cut(u.Query().Get("X-Amz-Credential"), "/")
		return key
	}
	require.Equal(t, "ASIAKEY1", keyOf())
	now = t0.Add(time.Minute)
	require.Equal(t, "ASIAKEY1", keyOf(), "still well within the credentials' life: the cached token")
	now = t0.Add(2*time.Minute + time.Second)
	require.Equal(t, "ASIAKEY2", keyOf(), "a minute before the signing credentials expire, a token from new ones")
}
