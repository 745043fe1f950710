package web_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// stsDouble answers STS GetCallerIdentity in the query protocol (POST form
// Action=GetCallerIdentity, XML answer), checking that the call is signed.
func stsDouble(t *testing.T) (*httptest.Server, *atomic.Int32) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil || r.Method != http.MethodPost {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		if r.Form.Get("Action") != "GetCallerIdentity" || !strings.Contains(r.Header.Get("Authorization"), "/sts/aws4_request") {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprint(w, `<ErrorResponse><Error><Type>Sender</Type><Code>InvalidAction</Code><Message>unsupported</Message></Error><RequestId>r1</RequestId></ErrorResponse>`)
			return
		}
		calls.Add(1)
		w.Header().Set("Content-Type", "text/xml")
		fmt.Fprint(w, `<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <GetCallerIdentityResult>
    <Arn>arn:aws:iam::123456789012:user/koyomi-test</Arn>
    <UserId>AIDAKOYOMITEST</UserId>
    <Account>123456789012</Account>
  </GetCallerIdentityResult>
  <ResponseMetadata><RequestId>01234567-89ab-cdef-0123-456789abcdef</RequestId></ResponseMetadata>
</GetCallerIdentityResponse>`)
	}))
	t.Cleanup(srv.Close)
	return srv, &calls
}

// kubeDouble answers /version and checks the bearer token.
func kubeDouble(t *testing.T, token string) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+token {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"kind":"Status","apiVersion":"v1","status":"Failure","message":"Unauthorized","reason":"Unauthorized","code":401}`)
			return
		}
		if r.URL.Path != "/version" {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"major":"1","minor":"31","gitVersion":"v1.31.2-eks-7f9249a","platform":"linux/amd64"}`)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func isolateAWS(t *testing.T) {
	t.Setenv("AWS_ACCESS_KEY_ID", "AKIDKOYOMITEST")
	t.Setenv("AWS_SECRET_ACCESS_KEY", "not-a-secret")
	t.Setenv("AWS_SESSION_TOKEN", "")
	t.Setenv("AWS_PROFILE", "")
	t.Setenv("AWS_CONFIG_FILE", t.TempDir()+"/config")
	t.Setenv("AWS_SHARED_CREDENTIALS_FILE", t.TempDir()+"/credentials")
	t.Setenv("AWS_EC2_METADATA_DISABLED", "true")
}

func TestAdminConnections(t *testing.T) {
	isolateAWS(t)
	sts, stsCalls := stsDouble(t)
	const token = "kube-bearer-token-0123456789"
	kube := kubeDouble(t, token)
	ts := newTestServer(t, "sqlite")
	ctx := context.Background()
	c := ts.client(t).login("admin", adminPassword)

	resp, body := c.get("/admin/connections")
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, `data-testid="connections-empty"`)

	// A bad form re-renders with field messages and keeps what was typed.
	resp, body = c.post("/admin/connections", url.Values{"name": {"prod"}, "type": {"aws"}, "aws_region": {"Tokyo"},
		"aws_role_arn": {"arn:aws:iam::123456789012:role/koyomi"}, "aws_sts_endpoint_url": {"ftp://x"}, "aws_external_id": {"ext-secret-1"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, body, `data-testid="error-aws_region"`)
	require.Contains(t, body, `invalid region &#34;Tokyo&#34;`)
	require.Contains(t, body, `data-testid="error-aws_sts_endpoint_url"`)
	require.Contains(t, body, `value="arn:aws:iam::123456789012:role/koyomi"`)
	require.NotContains(t, body, "ext-secret-1", "a secret is never echoed back")

	// Create an aws and a kubernetes connection; secrets never show.
	resp, body = c.post("/admin/connections", url.Values{"name": {"prod"}, "type": {"aws"}, "description": {"<script>alert(1)</script>"},
		"aws_region": {"ap-northeast-1"}, "aws_sts_endpoint_url": {sts.URL}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	resp, body = c.post("/admin/connections", url.Values{"name": {"lab"}, "type": {"kubernetes"}, "kube_mode": {"token"},
		"kube_server": {kube.URL}, "kube_token": {token}, "kube_namespace": {"batch"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	resp, body = c.post("/admin/connections", url.Values{"name": {"lab"}, "type": {"aws"}, "aws_region": {"ap-northeast-1"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, body, "already exists")

	_, body = c.get("/admin/connections")
	require.Contains(t, body, `data-testid="connection-prod"`)
	require.Contains(t, body, `data-testid="connection-lab"`)
	require.Contains(t, body, "(set)")
	require.NotContains(t, body, token)
	require.NotContains(t, body, "<script>alert(1)</script>")
	require.Contains(t, body, "&lt;script&gt;")
	_, body = c.get("/admin/connections/lab")
	require.NotContains(t, body, token)
	require.Contains(t, body, `value="`+kube.URL+`"`)
	stored, err := ts.Store.Connection(ctx, "lab")
	require.NoError(t, err)
	require.Equal(t, token, stored.Secret())

	// Editing without the token keeps it.
	resp, body = c.post("/admin/connections/lab", url.Values{"type": {"kubernetes"}, "kube_mode": {"token"}, "kube_server": {kube.URL}, "kube_namespace": {"jobs"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	stored, err = ts.Store.Connection(ctx, "lab")
	require.NoError(t, err)
	require.Equal(t, token, stored.Secret())
	require.Equal(t, "jobs", stored.Kubernetes.Namespace)

	// Rate limits are set in the form, shown again, and a bad number is
	// refused with the field named, changing nothing.
	resp, body = c.post("/admin/connections/lab", url.Values{"type": {"kubernetes"}, "kube_mode": {"token"}, "kube_server": {kube.URL}, "kube_namespace": {"jobs"},
		"kube_qps": {"7.5"}, "kube_burst": {"15"}, "kube_log_qps": {"2"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	stored, err = ts.Store.Connection(ctx, "lab")
	require.NoError(t, err)
	require.Equal(t, 7.5, stored.Kubernetes.QPS)
	require.Equal(t, 15, stored.Kubernetes.Burst)
	require.Equal(t, 2.0, stored.Kubernetes.LogQPS)
	_, body = c.get("/admin/connections/lab")
	require.Contains(t, body, `value="7.5"`)
	resp, body = c.post("/admin/connections/lab", url.Values{"type": {"kubernetes"}, "kube_mode": {"token"}, "kube_server": {kube.URL}, "kube_namespace": {"jobs"},
		"kube_qps": {"fast"}, "kube_burst": {"1.5"}})
	require.Equal(t, http.StatusUnprocessableEntity, resp.StatusCode)
	require.Contains(t, body, `data-testid="error-kube_qps"`)
	require.Contains(t, body, `&#34;fast&#34; is not a number`)
	require.Contains(t, body, `data-testid="error-kube_burst"`)
	stored, err = ts.Store.Connection(ctx, "lab")
	require.NoError(t, err)
	require.Equal(t, 7.5, stored.Kubernetes.QPS, "nothing saved by a refused form")

	// Test: aws calls STS GetCallerIdentity, kubernetes asks for /version.
	resp, body = c.post("/admin/connections/prod/test", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "account 123456789012, arn:aws:iam::123456789012:user/koyomi-test")
	require.EqualValues(t, 1, stsCalls.Load())
	req, _ := http.NewRequest(http.MethodPost, ts.URL+"/admin/connections/lab/test", strings.NewReader(url.Values{"_csrf": {c.csrf}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("HX-Request", "true")
	hr, err := c.hc.Do(req)
	require.NoError(t, err)
	defer hr.Body.Close()
	frag, err := io.ReadAll(hr.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, hr.StatusCode)
	require.Contains(t, string(frag), "Kubernetes v1.31.2-eks-7f9249a")
	require.NotContains(t, string(frag), "<html")

	// A failing connection is a result with the reason, not an error page.
	resp, body = c.post("/admin/connections/lab", url.Values{"type": {"kubernetes"}, "kube_mode": {"token"}, "kube_server": {kube.URL}, "kube_token": {"wrong-token"}})
	require.Equal(t, http.StatusSeeOther, resp.StatusCode, body)
	resp, body = c.post("/admin/connections/lab/test", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Contains(t, body, "failed:")
	require.Contains(t, body, "the server has asked for the client to provide credentials")
	require.NotContains(t, body, "wrong-token")

	// Delete is refused while a jobnet uses the connection.
	_, err = ts.Ops.Apply(ctx, ops.Actor{Username: "admin", Role: store.RoleAdmin}, &jobnet.Bundle{
		Calendars: []calendar.Definition{{Name: "cal"}},
		Folders:   []jobnet.Folder{{Name: "sales", Calendar: "cal"}},
		Jobnets: []jobnet.Jobnet{{Name: "nightly", Folder: "sales", Net: jobnet.Net{Units: []jobnet.Unit{{Name: "score", Kind: jobnet.UnitJob,
			Job: &jobnet.Job{Type: jobnet.JobEKS, EKS: &jobnet.EKSSpec{Connection: "lab", Image: "busybox"}}}}}}},
	}, false)
	require.NoError(t, err)
	resp, _ = c.post("/admin/connections/lab/delete", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, body = c.get("/admin/connections")
	require.Contains(t, body, `connection &#34;lab&#34; is used by sales/nightly`)
	resp, _ = c.post("/admin/connections/prod/delete", nil)
	require.Equal(t, http.StatusSeeOther, resp.StatusCode)
	_, err = ts.Store.Connection(ctx, "prod")
	require.Error(t, err)

	// Only admins see the page.
	_, err = ts.Ops.CreateUser(ctx, ops.Actor{Username: "admin", Role: store.RoleAdmin}, "dora", "dora-password-1", store.RoleDesigner)
	require.NoError(t, err)
	d := ts.client(t).login("dora", "dora-password-1")
	resp, body = d.get("/admin/connections")
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
	require.NotContains(t, body, kube.URL)
	resp, _ = d.post("/admin/connections/lab/test", nil)
	require.Equal(t, http.StatusForbidden, resp.StatusCode)
}
