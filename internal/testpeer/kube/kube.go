package kube

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	_ "embed"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
	clientcmdapi "k8s.io/client-go/tools/clientcmd/api"
)

// Version is the Kubernetes version the harness expects.
const Version = "v1.37.2"

// BinsEnv names the environment variable that points at the binaries.
const BinsEnv = "KOYOMI_K8S_BINS"

// Binaries the harness runs.
const (
	BinEtcd              = "etcd"
	BinAPIServer         = "kube-apiserver"
	BinControllerManager = "kube-controller-manager"
	BinScheduler         = "kube-scheduler"
	BinKWOK              = "kwok"
)

// Test annotations understood by the harness's KWOK stages.
const (
	// AnnotationExitCode: the container ends with this exit code.
	AnnotationExitCode = "kwok-test/exit-code"
	// AnnotationDuration: … after running this long (a Go duration; default 1s).
	AnnotationDuration = "kwok-test/duration"
	// AnnotationImagePullError: the container waits with this reason.
	AnnotationImagePullError = "kwok-test/image-pull-error"
)

// NodeName is the KWOK node the harness creates.
const NodeName = "kwok-node-0"

// StopTimeoutDefault is how long a component gets after SIGTERM before SIGKILL.
const StopTimeoutDefault = 10 * time.Second

// ReadyTimeoutDefault bounds the start-up of the whole control plane.
const ReadyTimeoutDefault = 2 * time.Minute

// ErrNoBinaries means the Kubernetes binaries are not built.
var ErrNoBinaries = errors.New("kubernetes test binaries missing (run `make k8s-bins`)")

//go:embed stages.yaml
var stagesYAML []byte

// Options selects the components of a control plane.
type Options struct {
	// Bins is the binary directory; empty means BinDir().
	Bins string
	// Controllers starts kube-controller-manager (Jobs, service accounts,
	// garbage collection, node lifecycle) and kube-scheduler.
	Controllers bool
	// KWOK starts KWOK with one fake node that runs pods per the stages.
	// It implies Controllers, since pods without a node need the scheduler
	// and the node's not-ready taint needs the node lifecycle controller.
	KWOK bool
	// Log is the content every container log returns (CRI lines are made
	// from it, one per line). Empty means a short default.
	Log string
	// NamespaceLogs gives the pods of a namespace another log than Log
	// (namespace name → content), e.g. a log of many megabytes for the
	// tests that need one.
	NamespaceLogs map[string]string
	// StopTimeout: see StopTimeoutDefault.
	StopTimeout time.Duration
	// ReadyTimeout: see ReadyTimeoutDefault.
	ReadyTimeout time.Duration
}

// ControlPlane is a running etcd + kube-apiserver (+ controllers, KWOK)
// bound to 127.0.0.1.
type ControlPlane struct {
	// Dir holds the data, certificates, logs and the kubeconfig.
	Dir string
	// Kubeconfig is the path of a kubeconfig with the admin token.
	Kubeconfig string
	// REST is the admin client configuration.
	REST *rest.Config
	// Client is an admin clientset.
	Client kubernetes.Interface
	// LogContent is what every container log returns.
	LogContent string

	opts  Options
	procs []*proc
	nsSeq int
	mu    sync.Mutex
}

// BinDir returns $KOYOMI_K8S_BINS or <repo>/.cache/k8s-v1.37.2.
func BinDir() string {
	if d := os.Getenv(BinsEnv); d != "" {
		return d
	}
	_, file, _, ok := runtime.Caller(0)
	if !ok {
		return filepath.Join(".cache", "k8s-"+Version)
	}
	// file is <repo>/internal/testpeer/kube/kube.go.
	return filepath.Join(filepath.Dir(file), "..", "..", "..", ".cache", "k8s-"+Version)
}

// Missing returns the binaries opts needs that are not in the bin directory.
func (o Options) Missing() []string {
	dir := o.bins()
	need := []string{BinEtcd, BinAPIServer}
	if o.Controllers || o.KWOK {
		need = append(need, BinControllerManager, BinScheduler)
	}
	if o.KWOK {
		need = append(need, BinKWOK)
	}
	var missing []string
	for _, b := range need {
		if fi, err := os.Stat(filepath.Join(dir, b)); err != nil || fi.Mode()&0o111 == 0 {
			missing = append(missing, b)
		}
	}
	return missing
}

func (o Options) bins() string {
	if o.Bins != "" {
		return o.Bins
	}
	return BinDir()
}

// Start starts a control plane in a fresh temporary directory and waits
// until it is ready. It returns an error wrapping ErrNoBinaries when a
// binary is missing.
func Start(ctx context.Context, opts Options) (cp *ControlPlane, err error) {
	if m := opts.Missing(); len(m) > 0 {
		return nil, fmt.Errorf("%w: %s not in %s", ErrNoBinaries, strings.Join(m, ", "), opts.bins())
	}
	if opts.StopTimeout == 0 {
		opts.StopTimeout = StopTimeoutDefault
	}
	if opts.ReadyTimeout == 0 {
		opts.ReadyTimeout = ReadyTimeoutDefault
	}
	if opts.KWOK {
		opts.Controllers = true
	}
	if opts.Log == "" {
		opts.Log = "koyomi test log line 1\nkoyomi test log line 2\n"
	}
	dir, err := os.MkdirTemp("", "koyomi-kube-")
	if err != nil {
		return nil, fmt.Errorf("start control plane: %w", err)
	}
	cp = &ControlPlane{Dir: dir, opts: opts, LogContent: opts.Log}
	defer func() {
		if err != nil {
			_ = cp.Stop()
		}
	}()
	ctx, cancel := context.WithTimeout(ctx, opts.ReadyTimeout)
	defer cancel()
	if err := cp.start(ctx); err != nil {
		return cp, fmt.Errorf("start control plane in %s: %w", dir, err)
	}
	return cp, nil
}

func (cp *ControlPlane) start(ctx context.Context) error {
	ports, err := freePorts(4)
	if err != nil {
		return err
	}
	etcdClient, etcdPeer, apiPort, kwokPort := ports[0], ports[1], ports[2], ports[3]
	const token = "koyomi-admin-token"
	if err := os.WriteFile(cp.path("tokens.csv"), []byte(token+`,admin,uid-admin,"system:masters"`+"\n"), 0o600); err != nil {
		return err
	}
	if err := writeSAKey(cp.path("sa.key"), cp.path("sa.pub")); err != nil {
		return err
	}

	cu := fmt.Sprintf("http://127.0.0.1:%d", etcdClient)
	pu := fmt.Sprintf("http://127.0.0.1:%d", etcdPeer)
	if err := cp.spawn(BinEtcd,
		"--name=t", "--data-dir="+cp.path("etcd-data"),
		"--listen-client-urls="+cu, "--advertise-client-urls="+cu,
		"--listen-peer-urls="+pu, "--initial-advertise-peer-urls="+pu, "--initial-cluster=t="+pu,
		"--unsafe-no-fsync", "--log-level=warn"); err != nil {
		return err
	}
	if err := cp.spawn(BinAPIServer,
		"--etcd-servers="+cu, "--bind-address=127.0.0.1", "--advertise-address=127.0.0.1",
		"--endpoint-reconciler-type=none", "--secure-port="+strconv.Itoa(apiPort),
		"--cert-dir="+cp.path("certs"), "--token-auth-file="+cp.path("tokens.csv"),
		"--authorization-mode=Node,RBAC",
		"--service-account-issuer=https://kubernetes.default.svc.cluster.local",
		"--service-account-key-file="+cp.path("sa.pub"), "--service-account-signing-key-file="+cp.path("sa.key"),
		"--service-cluster-ip-range=10.96.0.0/16", "--allow-privileged=true"); err != nil {
		return err
	}

	host := fmt.Sprintf("https://127.0.0.1:%d", apiPort)
	caFile := cp.path("certs", "apiserver.crt")
	if err := cp.waitFile(ctx, caFile); err != nil {
		return err
	}
	ca, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	cp.REST = &rest.Config{Host: host, BearerToken: token, TLSClientConfig: rest.TLSClientConfig{CAData: ca}, QPS: 100, Burst: 200}
	cp.Client, err = kubernetes.NewForConfig(cp.REST)
	if err != nil {
		return err
	}
	cp.Kubeconfig = cp.path("kubeconfig")
	kc := clientcmdapi.NewConfig()
	kc.Clusters["test"] = &clientcmdapi.Cluster{Server: host, CertificateAuthorityData: ca}
	kc.AuthInfos["admin"] = &clientcmdapi.AuthInfo{Token: token}
	kc.Contexts["test"] = &clientcmdapi.Context{Cluster: "test", AuthInfo: "admin", Namespace: "default"}
	kc.CurrentContext = "test"
	if err := clientcmd.WriteToFile(*kc, cp.Kubeconfig); err != nil {
		return err
	}
	if err := cp.waitReady(ctx); err != nil {
		return err
	}
	if !cp.opts.Controllers {
		return nil
	}
	if err := cp.spawn(BinControllerManager,
		"--kubeconfig="+cp.Kubeconfig, "--leader-elect=false", "--secure-port=0",
		"--use-service-account-credentials=false",
		"--controllers=job-controller,serviceaccount-controller,garbage-collector-controller,ttl-after-finished-controller,node-lifecycle-controller"); err != nil {
		return err
	}
	if err := cp.spawn(BinScheduler, "--kubeconfig="+cp.Kubeconfig, "--leader-elect=false", "--secure-port=0"); err != nil {
		return err
	}
	if !cp.opts.KWOK {
		return nil
	}
	if err := cp.startKWOK(kwokPort); err != nil {
		return err
	}
	return cp.addNode(ctx)
}

func (cp *ControlPlane) startKWOK(port int) error {
	if err := writeServingCert(cp.path("kwok.crt"), cp.path("kwok.key")); err != nil {
		return err
	}
	if err := writeCRILog(cp.path("container.log"), cp.opts.Log); err != nil {
		return err
	}
	// Namespace rules come first: KWOK uses the first ClusterLogs that
	// matches a pod.
	var nsLogs strings.Builder
	for _, ns := range slices.Sorted(maps.Keys(cp.opts.NamespaceLogs)) {
		file := cp.path("container-" + ns + ".log")
		if err := writeCRILog(file, cp.opts.NamespaceLogs[ns]); err != nil {
			return err
		}
		fmt.Fprintf(&nsLogs, `apiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: ns-%s
spec:
  selector:
    matchNamespaces: [%s]
  logs:
  - logsFile: %s
---
`, ns, ns, file)
	}
	cfg := fmt.Sprintf(`apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokConfiguration
options:
  manageAllNodes: false
  manageNodesWithAnnotationSelector: kwok.x-k8s.io/node=fake
  nodeIP: 127.0.0.1
  nodePort: %d
  serverAddress: 127.0.0.1:%d
  tlsCertFile: %s
  tlsPrivateKeyFile: %s
  enableDebuggingHandlers: true
  nodeLeaseParallelism: 4
  podPlayStageParallelism: 4
  nodePlayStageParallelism: 4
  enablePodsOnNodeSyncStreamWatch: true
---
%sapiVersion: kwok.x-k8s.io/v1alpha1
kind: ClusterLogs
metadata:
  name: all
spec:
  logs:
  - logsFile: %s
---
%s`, port, port, cp.path("kwok.crt"), cp.path("kwok.key"), nsLogs.String(), cp.path("container.log"), stagesYAML)
	if err := os.WriteFile(cp.path("kwok.yaml"), []byte(cfg), 0o644); err != nil {
		return err
	}
	return cp.spawn(BinKWOK, "--kubeconfig="+cp.Kubeconfig, "--config="+cp.path("kwok.yaml"))
}

// writeCRILog writes content as a CRI container log file, one line per
// line of content.
func writeCRILog(path, content string) error {
	var logs bytes.Buffer
	for _, line := range strings.SplitAfter(content, "\n") {
		if line == "" {
			continue
		}
		tag := "F"
		if !strings.HasSuffix(line, "\n") {
			// A last line without a newline stays without one.
			tag = "P"
		}
		fmt.Fprintf(&logs, "2026-11-24T06:00:00.000000000Z stdout %s %s", tag, line)
		if tag == "P" {
			logs.WriteString("\n")
		}
	}
	return os.WriteFile(path, logs.Bytes(), 0o644)
}

// addNode creates the KWOK node and waits until it is Ready and free of
// the not-ready taint, so that the scheduler places pods on it.
func (cp *ControlPlane) addNode(ctx context.Context) error {
	node := &corev1.Node{ObjectMeta: metav1.ObjectMeta{
		Name:        NodeName,
		Labels:      map[string]string{"kubernetes.io/hostname": NodeName, "type": "kwok"},
		Annotations: map[string]string{"kwok.x-k8s.io/node": "fake"},
	}}
	if _, err := cp.Client.CoreV1().Nodes().Create(ctx, node, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create node: %w", err)
	}
	return cp.poll(ctx, "node "+NodeName+" ready and untainted", func() (bool, error) {
		n, err := cp.Client.CoreV1().Nodes().Get(ctx, NodeName, metav1.GetOptions{})
		if err != nil {
			return false, nil
		}
		ready := false
		for _, c := range n.Status.Conditions {
			if c.Type == corev1.NodeReady && c.Status == corev1.ConditionTrue {
				ready = true
			}
		}
		return ready && len(n.Spec.Taints) == 0, nil
	})
}

func (cp *ControlPlane) waitReady(ctx context.Context) error {
	return cp.poll(ctx, "kube-apiserver /readyz", func() (bool, error) {
		body, err := cp.Client.Discovery().RESTClient().Get().AbsPath("/readyz").DoRaw(ctx)
		return err == nil && strings.TrimSpace(string(body)) == "ok", nil
	})
}

func (cp *ControlPlane) waitFile(ctx context.Context, path string) error {
	return cp.poll(ctx, path, func() (bool, error) {
		fi, err := os.Stat(path)
		return err == nil && fi.Size() > 0, nil
	})
}

// poll calls ok every 100 ms until it returns true, a component exits, or
// ctx ends.
func (cp *ControlPlane) poll(ctx context.Context, what string, ok func() (bool, error)) error {
	t := time.NewTicker(100 * time.Millisecond)
	defer t.Stop()
	for {
		done, err := ok()
		if err != nil {
			return fmt.Errorf("wait for %s: %w", what, err)
		}
		if done {
			return nil
		}
		for _, p := range cp.procs {
			select {
			case <-p.done:
				return fmt.Errorf("wait for %s: %s exited (%v); log tail:\n%s", what, p.name, p.err, tail(p.log, 20))
			default:
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("wait for %s: %w", what, ctx.Err())
		case <-t.C:
		}
	}
}

func (cp *ControlPlane) path(elem ...string) string {
	return filepath.Join(append([]string{cp.Dir}, elem...)...)
}

// proc is a started component.
type proc struct {
	name string
	cmd  *exec.Cmd
	log  string
	done chan struct{}
	err  error
}

func (cp *ControlPlane) spawn(name string, args ...string) error {
	logPath := cp.path(name + ".log")
	f, err := os.Create(logPath)
	if err != nil {
		return err
	}
	cmd := exec.Command(filepath.Join(cp.opts.bins(), name), args...)
	cmd.Stdout, cmd.Stderr = f, f
	cmd.Dir = cp.Dir
	// The kernel kills the component if the test binary dies first.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	p := &proc{name: name, cmd: cmd, log: logPath, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		f.Close()
		close(p.done)
	}()
	cp.procs = append(cp.procs, p)
	return nil
}

// Stop stops the components in reverse start order (KWOK, scheduler,
// controller manager, API server, etcd): SIGTERM, then SIGKILL after the
// stop timeout. It removes the directory unless KOYOMI_KEEP_KUBE is set.
func (cp *ControlPlane) Stop() error {
	var errs []error
	for i := len(cp.procs) - 1; i >= 0; i-- {
		p := cp.procs[i]
		select {
		case <-p.done:
			continue
		default:
		}
		_ = p.cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-p.done:
		case <-time.After(cp.opts.StopTimeout):
			_ = p.cmd.Process.Kill()
			<-p.done
			errs = append(errs, fmt.Errorf("%s (pid %d) ignored SIGTERM for %s and was killed", p.name, p.cmd.Process.Pid, cp.opts.StopTimeout))
		}
	}
	cp.procs = nil
	if os.Getenv("KOYOMI_KEEP_KUBE") == "" {
		if err := os.RemoveAll(cp.Dir); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Namespace creates a fresh namespace with its default service account (so
// tests do not wait for the service account controller) and returns its name.
func (cp *ControlPlane) Namespace(ctx context.Context, prefix string) (string, error) {
	cp.mu.Lock()
	cp.nsSeq++
	name := fmt.Sprintf("%s-%d", prefix, cp.nsSeq)
	cp.mu.Unlock()
	return name, cp.NamespaceNamed(ctx, name)
}

// NamespaceNamed creates the namespace name (one of Options.NamespaceLogs,
// say) with its default service account.
func (cp *ControlPlane) NamespaceNamed(ctx context.Context, name string) error {
	if _, err := cp.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{}); err != nil {
		return fmt.Errorf("create namespace %s: %w", name, err)
	}
	sa := &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "default", Namespace: name}}
	if _, err := cp.Client.CoreV1().ServiceAccounts(name).Create(ctx, sa, metav1.CreateOptions{}); err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("create service account %s/default: %w", name, err)
	}
	return nil
}

func freePorts(n int) ([]int, error) {
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, fmt.Errorf("free port: %w", err)
		}
		ls = append(ls, l)
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

// writeSAKey writes an ECDSA P-256 service account signing key pair.
func writeSAKey(keyPath, pubPath string) error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	der, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return err
	}
	pub, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	if err != nil {
		return err
	}
	if err := os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600); err != nil {
		return err
	}
	return os.WriteFile(pubPath, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub}), 0o644)
}

// writeServingCert writes a self-signed certificate for 127.0.0.1.
func writeServingCert(certPath, keyPath string) error {
	k, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "kwok"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
		IPAddresses:  []net.IP{net.ParseIP("127.0.0.1")},
		DNSNames:     []string{"localhost"},
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	if err != nil {
		return err
	}
	kd, err := x509.MarshalECPrivateKey(k)
	if err != nil {
		return err
	}
	if err := os.WriteFile(certPath, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		return err
	}
	return os.WriteFile(keyPath, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: kd}), 0o600)
}

func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
