package eks

import (
	"context"
	"encoding/base64"
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
