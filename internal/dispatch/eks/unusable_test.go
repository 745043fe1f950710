package eks_test

import (
	"context"
	"errors"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"k8s.io/client-go/rest"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/eks"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// closedPort returns a local port nothing listens on.
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	return port
}

// TestUnusableConnectionFailsStartAtOnce: a Start on a connection that
// cannot work — nothing listening, a host name that does not resolve,
// credentials the real API server rejects (401), an identity without the
// RBAC rights (403) — is a permanent error with the reason, returned at
// once, so the job ends failed to start instead of being retried for
// minutes. A hung server stays retryable (TestHungAPIServerCallsReturnWithinTheDeadline).
func TestUnusableConnectionFailsStartAtOnce(t *testing.T) {
	cp := env.Need(t)
	ctx := context.Background()
	ns, err := cp.Namespace(ctx, "unusable")
	require.NoError(t, err)
	badToken := rest.AnonymousClientConfig(cp.REST)
	badToken.BearerToken = "not-a-valid-token"
	nobody := rest.CopyConfig(cp.REST)
	nobody.Impersonate = rest.ImpersonationConfig{UserName: "koyomi-nobody"}
	for _, tt := range []struct {
		name string
		rc   *rest.Config
		want string
	}{
		{"refused", &rest.Config{Host: "https://127.0.0.1:" + strconv.Itoa(closedPort(t))}, "the API server cannot be reached"},
		{"dns", &rest.Config{Host: "https://koyomi-test-nowhere.invalid:6443"}, "host name koyomi-test-nowhere.invalid does not resolve"},
		{"unauthorized", badToken, "401 Unauthorized"},
		{"forbidden", nobody, "403 Forbidden"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, err := eks.New(eks.Config{Connections: []eks.Connection{{Name: "prod", REST: tt.rc, Namespace: ns}}, CallTimeout: 20 * time.Second})
			require.NoError(t, err)
			t.Cleanup(func() { _ = e.Close() })
			_, err = e.Start(ctx, req("unusable-"+tt.name, jobnet.EKSSpec{}))
			require.Error(t, err)
			var perm *dispatch.Permanent
			require.True(t, errors.As(err, &perm), "a permanent error: %v", err)
			require.False(t, dispatch.IsRetryable(err))
			require.ErrorContains(t, err, `connection "prod" cannot be used: `)
			require.ErrorContains(t, err, tt.want)
		})
	}
}
