package eks

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"strings"
	"syscall"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
)

// unusable reports why err shows that a connection cannot be used at all,
// so that a Start fails for good at once instead of being retried for
// minutes: the API server's host name does not resolve, nothing listens
// at its address, its certificate is not trusted, no token can be signed
// for it, or it refuses the connection's credentials (401) or their
// permissions (403, except an exceeded resource quota, which frees up).
// Each of these means the request created nothing, so ending the attempt
// cannot leave a pod behind. Timeouts, throttling, server errors and
// connections cut after they were made are transient: "" and false.
func unusable(err error) (string, bool) {
	if err == nil {
		return "", false
	}
	var tokErr *tokenError
	if errors.As(err, &tokErr) {
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			return "", false
		}
		return "no EKS token can be signed with the connection's AWS identity", true
	}
	if apierrors.IsUnauthorized(err) {
		return "the API server does not accept the connection's credentials (401 Unauthorized)", true
	}
	if apierrors.IsForbidden(err) {
		if strings.Contains(err.Error(), "exceeded quota") {
			return "", false
		}
		return "the connection's identity is not allowed to do this (403 Forbidden: check its RBAC role, docs/eks.md)", true
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) && (dnsErr.IsNotFound || (!dnsErr.IsTimeout && !dnsErr.IsTemporary)) {
		return "the API server's host name " + dnsErr.Name + " does not resolve", true
	}
	if errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.EHOSTUNREACH) || errors.Is(err, syscall.ENETUNREACH) {
		return "the API server cannot be reached", true
	}
	var (
		unknownCA x509.UnknownAuthorityError
		hostname  x509.HostnameError
		invalid   x509.CertificateInvalidError
		verify    *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownCA) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify) {
		return "the API server's certificate is not trusted (check the connection's ca_data)", true
	}
	return "", false
}

// tokenError is a failure to make an EKS bearer token (no or bad AWS
// credentials, a role that cannot be assumed).
type tokenError struct{ err error }

func (t *tokenError) Error() string { return t.err.Error() }
func (t *tokenError) Unwrap() error { return t.err }
