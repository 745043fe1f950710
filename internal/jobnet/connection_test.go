package jobnet

import (
	"os"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// testCA is a self-signed certificate of the EKS example.
func testCA(t *testing.T) string {
	t.Helper()
	b, err := ParseFile("connection.yaml", mustRead(t, examplesDir+"/cloud/eks/connection.yaml"))
	require.NoError(t, err)
	require.Len(t, b.Connections, 1)
	return b.Connections[0].Kubernetes.CAData
}

func mustRead(t *testing.T, path string) []byte {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	return data
}

const connectionsYAML = `kind: Connection
name: prod-tokyo
type: aws
description: Production
aws:
  region: ap-northeast-1
  role_arn: arn:aws:iam::123456789012:role/koyomi-runner
  external_id: ext-1234
  session_name: koyomi-prod
  sts_endpoint_url: https://sts.ap-northeast-1.amazonaws.com
---
kind: Connection
name: lab
type: kubernetes
kubernetes:
  server: https://10.0.0.1:6443
  token: eyJhbGciOi.abc
  namespace: batch
`

func TestParseConnections(t *testing.T) {
	b, err := ParseFile("c.yaml", []byte(connectionsYAML))
	require.NoError(t, err)
	require.Equal(t, []Connection{
		{Name: "prod-tokyo", Kind: ConnectionAWS, Description: "Production", AWS: &AWSConnection{
			Region: "ap-northeast-1", RoleARN: "arn:aws:iam::123456789012:role/koyomi-runner", ExternalID: "ext-1234",
			SessionName: "koyomi-prod", STSEndpointURL: "https://sts.ap-northeast-1.amazonaws.com"}},
		{Name: "lab", Kind: ConnectionKubernetes, Kubernetes: &KubeConnection{Server: "https://10.0.0.1:6443", Token: "eyJhbGciOi.abc", Namespace: "batch"}},
	}, b.Connections)
	require.Empty(t, Validate(b, Known{}))
	require.Equal(t, KubeModeToken, b.Connections[1].Kubernetes.Mode())
	require.Equal(t, "ap-northeast-1", b.Connections[0].Target())
	require.Equal(t, "https://10.0.0.1:6443", b.Connections[1].Target())

	// Round trip: encode and parse back gives the normalized bundle;
	// connections sort by name and go to connections.yaml.
	out, err := Encode(b)
	require.NoError(t, err)
	require.Less(t, strings.Index(string(out), "name: lab"), strings.Index(string(out), "name: prod-tokyo"))
	back, err := ParseFile("c.yaml", out)
	require.NoError(t, err)
	require.Equal(t, b.Normalized(), back.Normalized())
	files := SplitByFolder(b)
	require.Len(t, files, 1)
	require.Equal(t, ConnectionsFile, files[0].Name)
}

func TestParseConnectionStrict(t *testing.T) {
	_, err := ParseFile("c.yaml", []byte("kind: Connection\nname: x\ntype: aws\naws:\n  regoin: ap-northeast-1\n"))
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.ErrorContains(t, err, `c.yaml:5:3: unknown field "regoin" in Connection.aws`)
}

func TestConnectionSecrets(t *testing.T) {
	b, err := ParseFile("c.yaml", []byte(connectionsYAML))
	require.NoError(t, err)
	aws, kube := b.Connections[0], b.Connections[1]
	require.Equal(t, "ext-1234", aws.Secret())
	require.Equal(t, "eyJhbGciOi.abc", kube.Secret())

	r := aws.Redacted()
	require.False(t, r.HasSecret())
	require.Equal(t, "ext-1234", aws.AWS.ExternalID, "Redacted copies, the original keeps its secret")
	require.Equal(t, aws, r.WithSecret("ext-1234"))
	require.Equal(t, kube, kube.Redacted().WithSecret("eyJhbGciOi.abc"))

	exported, err := Encode(&Bundle{Connections: []Connection{aws.Redacted(), kube.Redacted()}})
	require.NoError(t, err)
	require.NotContains(t, string(exported), "ext-1234")
	require.NotContains(t, string(exported), "eyJhbGciOi")

	// A redacted token connection still validates (the token is stored),
	// but cannot be created without one.
	require.Empty(t, Validate(&Bundle{Connections: []Connection{kube.Redacted()}}, Known{}))
	require.Equal(t, fault.Problems{{Path: "connections[lab].kubernetes.token",
		Message: "required with server (a bearer token); it is write-only, so give it when creating the connection"}},
		RequireSecrets("connections[lab]", kube.Redacted()))
	require.Empty(t, RequireSecrets("connections[lab]", kube))
}

func TestValidateConnections(t *testing.T) {
	ca := testCA(t)
	const arn = "arn:aws:iam::123456789012:role/koyomi"
	awsConn := func(a AWSConnection) Connection { return Connection{Name: "c", Kind: ConnectionAWS, AWS: &a} }
	kubeConn := func(k KubeConnection) Connection {
		return Connection{Name: "c", Kind: ConnectionKubernetes, Kubernetes: &k}
	}
	p := func(path, msg string) fault.Problem {
		return fault.Problem{Path: "connections[c]" + path, Message: msg}
	}
	tests := []struct {
		name string
		c    Connection
		want fault.Problems
	}{
		{"aws minimal", awsConn(AWSConnection{Region: "us-gov-west-1"}), nil},
		{"aws profile supplies region", awsConn(AWSConnection{Profile: "prod"}), nil},
		{"aws everything", awsConn(AWSConnection{Region: "eu-central-2", RoleARN: arn + "/path/x", ExternalID: "abc:1", SessionName: "s-1",
			EndpointURL: "https://vpce-1.ecs.eu-central-2.vpce.amazonaws.com", LogsEndpointURL: "http://localhost:4566", STSEndpointURL: "https://sts.eu-central-2.amazonaws.com/"}), nil},
		{"no type", Connection{Name: "c"}, fault.Problems{p(".type", "required: aws or kubernetes")}},
		{"bad type", Connection{Name: "c", Kind: "gcp"}, fault.Problems{p(".type", `"gcp": must be aws or kubernetes`)}},
		{"aws without payload", Connection{Name: "c", Kind: ConnectionAWS}, fault.Problems{p(".aws", "required for type aws (region at least)")}},
		{"kind does not match payload", Connection{Name: "c", Kind: ConnectionAWS, AWS: &AWSConnection{Region: "ap-northeast-1"}, Kubernetes: &KubeConnection{InCluster: true}},
			fault.Problems{p(".kubernetes", "not allowed in a connection of type aws")}},
		{"kubernetes with aws payload", Connection{Name: "c", Kind: ConnectionKubernetes, AWS: &AWSConnection{}},
			fault.Problems{p(".aws", "not allowed in a connection of type kubernetes"), p(".kubernetes", "required for type kubernetes")}},
		{"aws region missing", awsConn(AWSConnection{}), fault.Problems{p(".aws.region", "required unless a profile supplies it")}},
		{"aws bad formats", awsConn(AWSConnection{Region: "Tokyo", RoleARN: "arn:aws:iam::1234:user/x", ExternalID: "a b", SessionName: "x",
			EndpointURL: "ftp://x", LogsEndpointURL: "https://u:p@x", STSEndpointURL: "https://x/?a=1"}),
			fault.Problems{
				p(".aws.endpoint_url", `"ftp://x": want an http or https URL`),
				p(".aws.external_id", "must be 2-1224 characters of A-Z a-z 0-9 and +=,.@:/-_"),
				p(".aws.logs_endpoint_url", `"https://u:p@x": credentials in the URL are not allowed`),
				p(".aws.region", `invalid region "Tokyo": want a region code such as ap-northeast-1`),
				p(".aws.role_arn", `invalid role ARN "arn:aws:iam::1234:user/x": want arn:aws:iam::<12-digit account>:role/<name>`),
				p(".aws.session_name", `invalid session name "x": 2-64 characters of A-Z a-z 0-9 and +=,.@-_`),
				p(".aws.sts_endpoint_url", `"https://x/?a=1": the URL must not have a query or fragment`),
			}},
		{"external id needs role", awsConn(AWSConnection{Region: "ap-northeast-1", ExternalID: "abc"}), fault.Problems{p(".aws.external_id", "needs role_arn")}},
		{"kubeconfig", kubeConn(KubeConnection{Kubeconfig: "/etc/koyomi/kubeconfig", Context: "prod", Namespace: "batch"}), nil},
		{"context only", kubeConn(KubeConnection{Context: "prod"}), nil},
		{"in cluster", kubeConn(KubeConnection{InCluster: true}), nil},
		{"rate limits", kubeConn(KubeConnection{InCluster: true, QPS: 5, Burst: 10, LogQPS: 0.5}), nil},
		{"bad rate limits", kubeConn(KubeConnection{InCluster: true, QPS: -1, Burst: 20000, LogQPS: -0.5}), fault.Problems{
			p(".kubernetes.burst", "20000: must be 0 (the default) to 10000"),
			p(".kubernetes.log_qps", "-0.5: must be 0 (the default) to 10000"),
			p(".kubernetes.qps", "-1: must be 0 (the default) to 10000"),
		}},
		{"eks", kubeConn(KubeConnection{EKSCluster: "batch", Region: "ap-northeast-1", Server: "https://x.eks.amazonaws.com", CAData: ca, RoleARN: arn}), nil},
		{"no mode", kubeConn(KubeConnection{Namespace: "batch"}),
			fault.Problems{p(".kubernetes", "set exactly one access mode: kubeconfig/context, in_cluster, eks_cluster or server with token")}},
		{"two modes", kubeConn(KubeConnection{Context: "prod", InCluster: true}),
			fault.Problems{p(".kubernetes", "set exactly one access mode, found kubeconfig, in_cluster")}},
		{"eks incomplete", kubeConn(KubeConnection{EKSCluster: "batch", Token: "t"}), fault.Problems{
			p(".kubernetes.ca_data", "required with eks_cluster: the cluster CA in PEM"),
			p(".kubernetes.region", "required with eks_cluster"),
			p(".kubernetes.server", "required with eks_cluster: the cluster endpoint"),
			p(".kubernetes.token", "not allowed with eks_cluster (the token is signed from the AWS identity)"),
		}},
		{"eks fields without eks", kubeConn(KubeConnection{InCluster: true, Region: "ap-northeast-1", RoleARN: arn, CAData: ca}), fault.Problems{
			p(".kubernetes.ca_data", "only with eks_cluster or server"),
			p(".kubernetes.region", "only with eks_cluster"),
			p(".kubernetes.role_arn", "only with eks_cluster"),
		}},
		{"token without server", kubeConn(KubeConnection{InCluster: true, Token: "t"}), fault.Problems{p(".kubernetes.token", "needs server: the API server URL")}},
		{"bad values", kubeConn(KubeConnection{Kubeconfig: "kube/config", Namespace: "Batch_1"}), fault.Problems{
			p(".kubernetes.kubeconfig", `"kube/config": want an absolute path on the server`),
			p(".kubernetes.namespace", `invalid namespace "Batch_1": want a DNS label (a-z 0-9 -)`),
		}},
		{"bad CA and token", kubeConn(KubeConnection{Server: "https://k:6443", CAData: "not pem", Token: "a b"}), fault.Problems{
			p(".kubernetes.ca_data", "want PEM certificates (-----BEGIN CERTIFICATE-----)"),
			p(".kubernetes.token", "must be 1-16384 printable characters without spaces"),
		}},
		{"CA with a key block", kubeConn(KubeConnection{Server: "https://k:6443", CAData: "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"}),
			fault.Problems{p(".kubernetes.ca_data", "want PEM certificates, found a PRIVATE KEY block")}},
		{"description too long", Connection{Name: "c", Kind: ConnectionAWS, Description: strings.Repeat("x", MaxDescriptionLen+1), AWS: &AWSConnection{Region: "ap-northeast-1"}},
			fault.Problems{p(".description", "longer than 1000 characters")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Validate(&Bundle{Connections: []Connection{tt.c}}, Known{})
			require.Equal(t, tt.want, got)
		})
	}
}

func TestValidateConnectionNamesAndReferences(t *testing.T) {
	b := validBundle()
	b.Connections = []Connection{
		{Name: "aws1", Kind: ConnectionAWS, AWS: &AWSConnection{Region: "ap-northeast-1"}},
		{Name: "aws1", Kind: ConnectionAWS, AWS: &AWSConnection{Region: "ap-northeast-1"}},
		{Name: "bad/name", Kind: ConnectionKubernetes, Kubernetes: &KubeConnection{InCluster: true}},
		{Name: "k8s", Kind: ConnectionKubernetes, Kubernetes: &KubeConnection{InCluster: true}},
	}
	j := &b.Jobnets[0]
	j.Units = append(j.Units,
		Unit{Name: "e1", Kind: UnitJob, Job: &Job{Type: JobECS, ECS: &ECSSpec{Connection: "k8s", Cluster: "c", TaskDefinition: "td"}}},
		Unit{Name: "e2", Kind: UnitJob, Job: &Job{Type: JobECS, ECS: &ECSSpec{Connection: "aws1", Cluster: "c", TaskDefinition: "td"}}},
		Unit{Name: "e3", Kind: UnitJob, Job: &Job{Type: JobEKS, EKS: &EKSSpec{Connection: "stored", Image: "busybox"}}},
		Unit{Name: "e4", Kind: UnitJob, Job: &Job{Type: JobEKS, EKS: &EKSSpec{Connection: "nowhere", Image: "busybox"}}},
	)
	got := Validate(b, Known{Connections: []string{"stored"}, CheckConnections: true})
	require.Equal(t, fault.Problems{
		{Path: "connections[aws1]", Message: `duplicate connection "aws1"`},
		{Path: "connections[bad/name].name", Message: `invalid connection name "bad/name": ` + nameRule},
		{Path: "jobnets[f/net].units[e1].job.ecs.connection", Message: `connection "k8s" is of type kubernetes; this ecs job needs a connection of type aws`},
		{Path: "jobnets[f/net].units[e4].job.eks.connection", Message: `unknown connection "nowhere"`},
	}, got)
	// Without CheckConnections only the bundle's own definitions are checked.
	got = Validate(b, Known{})
	require.Len(t, got, 3)
}
