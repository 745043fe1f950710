package eks_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/eks"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/testpeer/kube"
)

var env kube.Env

// testLog is what every container log returns: enough lines that small
// chunk limits cut it many times, some longer than the limit.
var testLog = func() string {
	var b strings.Builder
	for i := range 40 {
		fmt.Fprintf(&b, "line %02d %s\n", i, strings.Repeat("x", i%13))
	}
	b.WriteString("a very long line that is longer than the small chunk limit used by the test\n")
	return b.String()
}()

func TestMain(m *testing.M) {
	os.Exit(kube.Main(m, kube.Options{KWOK: true, Log: testLog, NamespaceLogs: map[string]string{bigLogNS: bigLog, bigLogCapNS: bigLog}}, &env))
}

// watchCounter counts watch requests per resource path.
type watchCounter struct {
	next  http.RoundTripper
	pods  atomic.Int32
	other atomic.Int32
}

func (w *watchCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Query().Get("watch") == "true" {
		if strings.HasSuffix(r.URL.Path, "/pods") {
			w.pods.Add(1)
		} else {
			w.other.Add(1)
		}
	}
	return w.next.RoundTrip(r)
}

type fixture struct {
	cp      *kube.ControlPlane
	ns      string
	e       *eks.Executor
	watches *watchCounter
}

func setup(t *testing.T, cfg eks.Config) *fixture {
	t.Helper()
	cp := env.Need(t)
	ctx := context.Background()
	ns, err := cp.Namespace(ctx, strings.ToLower(strings.ReplaceAll(t.Name(), "_", "-"))[:min(len(t.Name()), 40)])
	require.NoError(t, err)
	wc := &watchCounter{}
	rc := rest.CopyConfig(cp.REST)
	rc.WrapTransport = func(rt http.RoundTripper) http.RoundTripper { wc.next = rt; return wc }
	cfg.Connections = []eks.Connection{{Name: "test", REST: rc, Namespace: ns, LogQPS: 1000}}
	if cfg.LogDir == "" {
		cfg.LogDir = t.TempDir()
	}
	if cfg.SweepInterval == 0 {
		cfg.SweepInterval = 20 * time.Millisecond
	}
	if cfg.CleanupAfter == 0 {
		cfg.CleanupAfter = time.Nanosecond
	}
	e, err := eks.New(cfg)
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return &fixture{cp: cp, ns: ns, e: e, watches: wc}
}

func req(key string, spec jobnet.EKSSpec) dispatch.Request {
	if spec.Image == "" {
		spec.Image = "registry.example/koyomi/batch:1"
	}
	return dispatch.Request{
		Key: key, RunID: "gen-20261124", Jobnet: "sales/nightly", Unit: "load/" + key, Attempt: 1,
		BusinessDate: "2026-11-24",
		Job:          jobnet.Job{Type: jobnet.JobEKS, EKS: &spec},
		Env:          map[string]string{"KOYOMI_BUSINESS_DATE": "2026-11-24", "KOYOMI_JOB": key},
	}
}

func exitAfter(code int, d time.Duration) map[string]string {
	return map[string]string{kube.AnnotationExitCode: strconv.Itoa(code), kube.AnnotationDuration: d.String()}
}

// waitEnd polls Status until the execution ends (the informer makes each
// call a cache read).
func waitEnd(t *testing.T, e *eks.Executor, h dispatch.Handle) dispatch.Status {
	t.Helper()
	var st dispatch.Status
	require.Eventually(t, func() bool {
		var err error
		st, err = e.Status(context.Background(), h)
		require.NoError(t, err)
		return st.State.IsTerminal()
	}, 60*time.Second, 20*time.Millisecond)
	return st
}

func TestPodExitsNormally(t *testing.T) {
	f := setup(t, eks.Config{})
	ctx := context.Background()
	h, err := f.e.Start(ctx, req("exit-0", jobnet.EKSSpec{Annotations: exitAfter(0, 500*time.Millisecond), Cleanup: "keep"}))
	require.NoError(t, err)
	st := waitEnd(t, f.e, h)
	require.Equal(t, dispatch.StateExited, st.State, st.Reason)
	require.Equal(t, 0, *st.ExitCode)
	require.Equal(t, "Completed", st.Reason)
	require.False(t, st.StartedAt.IsZero())
	require.False(t, st.EndedAt.Before(st.StartedAt))

	pod, err := f.cp.Client.CoreV1().Pods(f.ns).Get(ctx, "koyomi-exit-0", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, eks.ManagedByValue, pod.Labels[eks.LabelManagedBy])
	require.Equal(t, "gen-20261124", pod.Labels[eks.LabelRunID])
	require.Equal(t, "exit-0", pod.Labels[eks.LabelKey])
	require.Equal(t, "load/exit-0", pod.Annotations[eks.AnnotationUnit])
	require.Equal(t, corev1.RestartPolicyNever, pod.Spec.RestartPolicy)
	require.Equal(t, kube.NodeName, pod.Spec.NodeName, "placed by the scheduler")
	require.Contains(t, pod.Spec.Containers[0].Env, corev1.EnvVar{Name: "KOYOMI_JOB", Value: "exit-0"})
}

func TestPodExitsAbnormallyAndIsCleanedUp(t *testing.T) {
	f := setup(t, eks.Config{})
	ctx := context.Background()
	h, err := f.e.Start(ctx, req("exit-3", jobnet.EKSSpec{Annotations: exitAfter(3, 300*time.Millisecond)}))
	require.NoError(t, err)
	st := waitEnd(t, f.e, h)
	require.Equal(t, dispatch.StateExited, st.State, st.Reason)
	require.Equal(t, 3, *st.ExitCode)
	require.Equal(t, "Error", st.Reason)

	// The ended pod is deleted (cleanup "delete") once its log is kept;
	// the status and the log stay known.
	require.Eventually(t, func() bool {
		_, err := f.cp.Client.CoreV1().Pods(f.ns).Get(ctx, "koyomi-exit-3", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, 30*time.Second, 20*time.Millisecond)
	st, err = f.e.Status(ctx, h)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateExited, st.State)
	require.Equal(t, 3, *st.ExitCode)
	chunk, err := f.e.Logs(ctx, h, "", 0)
	require.NoError(t, err)
	require.Equal(t, testLog, string(chunk.Data))
	require.False(t, chunk.More)
}

func TestPodKilled(t *testing.T) {
	f := setup(t, eks.Config{})
	ctx := context.Background()
	h, err := f.e.Start(ctx, req("kill-me", jobnet.EKSSpec{Annotations: exitAfter(0, time.Hour)}))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := f.e.Status(ctx, h)
		require.NoError(t, err)
		return st.State == dispatch.StateRunning
	}, 60*time.Second, 20*time.Millisecond)
	require.NoError(t, f.e.Cancel(ctx, h, 2*time.Second))
	st := waitEnd(t, f.e, h)
	require.Equal(t, dispatch.StateCancelled, st.State, st.Reason)
	require.NoError(t, f.e.Cancel(ctx, h, 0), "cancelling again is not an error")
}

func TestPodDeletedBehindOurBackIsLost(t *testing.T) {
	f := setup(t, eks.Config{})
	ctx := context.Background()
	h, err := f.e.Start(ctx, req("vanish", jobnet.EKSSpec{Annotations: exitAfter(0, time.Hour)}))
	require.NoError(t, err)
	zero := int64(0)
	require.NoError(t, f.cp.Client.CoreV1().Pods(f.ns).Delete(ctx, "koyomi-vanish", metav1.DeleteOptions{GracePeriodSeconds: &zero}))
	st := waitEnd(t, f.e, h)
	require.Equal(t, dispatch.StateLost, st.State)
	require.Equal(t, "pod deleted", st.Reason)
}

func TestImagePullFailureFailsToStart(t *testing.T) {
	f := setup(t, eks.Config{StartErrorLimit: time.Millisecond})
	ctx := context.Background()
	h, err := f.e.Start(ctx, req("no-image", jobnet.EKSSpec{
		Image:       "registry.example/missing:404",
		Annotations: map[string]string{kube.AnnotationImagePullError: "ErrImagePull"},
	}))
	require.NoError(t, err)
	st := waitEnd(t, f.e, h)
	require.Equal(t, dispatch.StateFailedToStart, st.State)
	require.Contains(t, st.Reason, "ErrImagePull")
	require.Contains(t, st.Reason, "registry.example/missing:404")
	require.Nil(t, st.ExitCode)
}

func TestUnschedulableFailsToStart(t *testing.T) {
	f := setup(t, eks.Config{UnschedulableLimit: time.Millisecond})
	ctx := context.Background()
	h, err := f.e.Start(ctx, req("nowhere", jobnet.EKSSpec{NodeSelector: map[string]string{"pool": "gpu"}}))
	require.NoError(t, err)
	st := waitEnd(t, f.e, h)
	require.Equal(t, dispatch.StateFailedToStart, st.State)
	require.Contains(t, st.Reason, "Unschedulable")
	require.Contains(t, st.Reason, "node(s) didn't match")
}

func TestLogsInChunksLoseAndRepeatNothing(t *testing.T) {
	f := setup(t, eks.Config{})
	ctx := context.Background()
	h, err := f.e.Start(ctx, req("logs", jobnet.EKSSpec{Annotations: exitAfter(0, 200*time.Millisecond), Cleanup: "keep"}))
	require.NoError(t, err)
	require.Equal(t, dispatch.StateExited, waitEnd(t, f.e, h).State)
	for _, limit := range []int{7, 32, 64} {
		var got strings.Builder
		cursor := ""
		calls := 0
		for {
			chunk, err := f.e.Logs(ctx, h, cursor, limit)
			require.NoError(t, err)
			require.LessOrEqual(t, len(chunk.Data), limit)
			if chunk.More && strings.Contains(string(chunk.Data), "\n") {
				require.True(t, strings.HasSuffix(string(chunk.Data), "\n"), "chunks end at a line break when they hold one: %q", chunk.Data)
			}
			got.Write(chunk.Data)
			cursor = chunk.Next
			calls++
			if !chunk.More {
				break
			}
			require.Less(t, calls, 1000)
		}
		require.Equal(t, testLog, got.String(), "limit %d", limit)
		require.Equal(t, strconv.Itoa(len(testLog)), cursor)
	}
	// With cleanup "keep" the ended pod stays after its log was read.
	_, err = f.cp.Client.CoreV1().Pods(f.ns).Get(ctx, "koyomi-logs", metav1.GetOptions{})
	require.NoError(t, err)

	// The cursor is checked.
	_, err = f.e.Logs(ctx, h, "not-a-number", 10)
	require.ErrorIs(t, err, fault.ErrInvalid)
}

func TestStartTwiceMakesOnePod(t *testing.T) {
	f := setup(t, eks.Config{})
	ctx := context.Background()
	r := req("twice", jobnet.EKSSpec{Annotations: exitAfter(0, time.Hour)})
	h1, err := f.e.Start(ctx, r)
	require.NoError(t, err)
	h2, err := f.e.Start(ctx, r)
	require.NoError(t, err)
	require.Equal(t, h1, h2)

	// A new executor (a restarted server) re-attaches to the same pod.
	e2, err := eks.New(eks.Config{Connections: []eks.Connection{{Name: "test", REST: f.cp.REST, Namespace: f.ns}}})
	require.NoError(t, err)
	defer e2.Close()
	h3, err := e2.Start(ctx, r)
	require.NoError(t, err)
	require.Equal(t, h1, h3)
	pods, err := f.cp.Client.CoreV1().Pods(f.ns).List(ctx, metav1.ListOptions{LabelSelector: eks.LabelKey + "=twice"})
	require.NoError(t, err)
	require.Len(t, pods.Items, 1)
	require.Eventually(t, func() bool {
		st, err := e2.Status(ctx, h1)
		return err == nil && st.State == dispatch.StateRunning
	}, 60*time.Second, 20*time.Millisecond)
	require.NoError(t, e2.Cancel(ctx, h1, 0))
}

func TestBatchJobMode(t *testing.T) {
	f := setup(t, eks.Config{})
	ctx := context.Background()
	ok, err := f.e.Start(ctx, req("job-ok", jobnet.EKSSpec{Mode: "job"}))
	require.NoError(t, err)
	bad, err := f.e.Start(ctx, req("job-bad", jobnet.EKSSpec{Mode: "job", Annotations: exitAfter(3, 300*time.Millisecond)}))
	require.NoError(t, err)
	again, err := f.e.Start(ctx, req("job-ok", jobnet.EKSSpec{Mode: "job"}))
	require.NoError(t, err)
	require.Equal(t, ok, again)

	st := waitEnd(t, f.e, ok)
	require.Equal(t, dispatch.StateExited, st.State, st.Reason)
	require.Equal(t, 0, *st.ExitCode)
	st = waitEnd(t, f.e, bad)
	require.Equal(t, dispatch.StateExited, st.State, st.Reason)
	require.Equal(t, 3, *st.ExitCode)

	chunk, err := f.e.Logs(ctx, bad, "", 0)
	require.NoError(t, err)
	require.Equal(t, testLog, string(chunk.Data))
	require.Eventually(t, func() bool {
		_, err := f.cp.Client.BatchV1().Jobs(f.ns).Get(ctx, "koyomi-job-bad", metav1.GetOptions{})
		return apierrors.IsNotFound(err)
	}, 30*time.Second, 20*time.Millisecond, "cleanup deletes the Job once its log is kept")
	st, err = f.e.Status(ctx, bad)
	require.NoError(t, err)
	require.Equal(t, 3, *st.ExitCode)

	long, err := f.e.Start(ctx, req("job-kill", jobnet.EKSSpec{Mode: "job", Annotations: exitAfter(0, time.Hour)}))
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := f.e.Status(ctx, long)
		require.NoError(t, err)
		return st.State == dispatch.StateRunning
	}, 60*time.Second, 20*time.Millisecond)
	require.NoError(t, f.e.Cancel(ctx, long, time.Second))
	st = waitEnd(t, f.e, long)
	require.Equal(t, dispatch.StateCancelled, st.State, st.Reason)
}

func TestInformerIsShared(t *testing.T) {
	f := setup(t, eks.Config{})
	ctx := context.Background()
	const n = 8
	hs := make([]dispatch.Handle, n)
	for i := range n {
		h, err := f.e.Start(ctx, req(fmt.Sprintf("many-%d", i), jobnet.EKSSpec{Annotations: exitAfter(i%2, 300*time.Millisecond)}))
		require.NoError(t, err)
		hs[i] = h
	}
	for i, h := range hs {
		st := waitEnd(t, f.e, h)
		require.Equal(t, dispatch.StateExited, st.State)
		require.Equal(t, i%2, *st.ExitCode)
	}
	require.Equal(t, int32(1), f.watches.pods.Load(), "one pod watch for all jobs of the namespace")
	require.Equal(t, int32(0), f.watches.other.Load())
}

// TestSecretsByReferenceReachThePod: the real API server accepts a pod
// whose variables, envFrom and volumes name a Secret and a ConfigMap, with
// an image pull secret and a service account; the pod carries the
// references and never the secret's value.
func TestSecretsByReferenceReachThePod(t *testing.T) {
	f := setup(t, eks.Config{})
	ctx := context.Background()
	const value = "s3cr3t-value-never-in-the-pod"
	_, err := f.cp.Client.CoreV1().Secrets(f.ns).Create(ctx, &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Name: "sales-db"}, StringData: map[string]string{"password": value}}, metav1.CreateOptions{})
	require.NoError(t, err)
	_, err = f.cp.Client.CoreV1().ServiceAccounts(f.ns).Create(ctx, &corev1.ServiceAccount{ObjectMeta: metav1.ObjectMeta{Name: "sales-extract"}}, metav1.CreateOptions{})
	require.NoError(t, err)
	spec := jobnet.EKSSpec{
		ServiceAccount: "sales-extract", Annotations: exitAfter(0, 200*time.Millisecond), Cleanup: "keep",
		Env:     []jobnet.KubeEnvVar{{Name: "DB_PASSWORD", SecretKeyRef: &jobnet.KubeKeyRef{Name: "sales-db", Key: "password"}}},
		EnvFrom: []jobnet.KubeEnvFrom{{ConfigMapRef: &jobnet.KubeObjectRef{Name: "sales-settings", Optional: true}}},
		Volumes: []jobnet.KubeVolume{
			{Name: "db", Secret: &jobnet.KubeSecretVolume{SecretName: "sales-db"}},
			{Name: "scratch", EmptyDir: &jobnet.KubeEmptyDirVolume{SizeLimit: "64Mi"}},
		},
		VolumeMounts:     []jobnet.KubeVolumeMount{{Name: "db", MountPath: "/etc/db", ReadOnly: true}, {Name: "scratch", MountPath: "/scratch"}},
		ImagePullSecrets: []string{"ecr-pull"},
	}
	for _, mode := range []string{"pod", "job"} {
		spec.Mode = mode
		h, err := f.e.Start(ctx, req("refs-"+mode, spec))
		require.NoError(t, err, mode)
		st := waitEnd(t, f.e, h)
		require.Equal(t, dispatch.StateExited, st.State, "%s: %s", mode, st.Reason)
	}
	pod, err := f.cp.Client.CoreV1().Pods(f.ns).Get(ctx, "koyomi-refs-pod", metav1.GetOptions{})
	require.NoError(t, err)
	c := pod.Spec.Containers[0]
	var db *corev1.EnvVar
	for i := range c.Env {
		if c.Env[i].Name == "DB_PASSWORD" {
			db = &c.Env[i]
		}
	}
	require.NotNil(t, db)
	require.Empty(t, db.Value)
	require.Equal(t, "sales-db", db.ValueFrom.SecretKeyRef.Name)
	require.Equal(t, "sales-settings", c.EnvFrom[0].ConfigMapRef.Name)
	require.Equal(t, "sales-db", pod.Spec.Volumes[0].Secret.SecretName)
	require.Contains(t, c.VolumeMounts, corev1.VolumeMount{Name: "db", MountPath: "/etc/db", ReadOnly: true})
	require.Equal(t, []corev1.LocalObjectReference{{Name: "ecr-pull"}}, pod.Spec.ImagePullSecrets)
	require.Equal(t, "sales-extract", pod.Spec.ServiceAccountName)
	raw, err := json.Marshal(pod)
	require.NoError(t, err)
	require.NotContains(t, string(raw), value)
	job, err := f.cp.Client.BatchV1().Jobs(f.ns).Get(ctx, "koyomi-refs-job", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "sales-db", job.Spec.Template.Spec.Volumes[0].Secret.SecretName)
}
