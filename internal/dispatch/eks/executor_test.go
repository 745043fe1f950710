package eks

import (
	"context"
	"encoding/pem"
	"errors"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes/fake"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

var getOpts = metav1.GetOptions{}

func pemCert(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

func fakeExecutor(t *testing.T, client *fake.Clientset) *Executor {
	t.Helper()
	e, err := New(Config{Connections: []Connection{{Name: "c", Client: client, Namespace: "batch"}}})
	require.NoError(t, err)
	t.Cleanup(func() { _ = e.Close() })
	return e
}

func TestStartIsIdempotentWithFakeClient(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	e := fakeExecutor(t, client)
	req := request(jobnet.EKSSpec{Image: "busybox"})
	h1, err := e.Start(ctx, req)
	require.NoError(t, err)
	h2, err := e.Start(ctx, req)
	require.NoError(t, err)
	require.Equal(t, h1, h2)
	h3, err := fakeExecutor(t, client).Start(ctx, req)
	require.NoError(t, err)
	require.Equal(t, h1, h3)
	pods, err := client.CoreV1().Pods("batch").List(ctx, metav1.ListOptions{})
	require.NoError(t, err)
	require.Len(t, pods.Items, 1)
	require.Equal(t, "batch/koyomi-g1-load-extract-1", h1.ID)
	hd, err := ParseHandle(h1)
	require.NoError(t, err)
	require.Equal(t, HandleData{Connection: "c", Namespace: "batch", Name: "koyomi-g1-load-extract-1", Mode: ModePod, Cleanup: CleanupDelete, UID: pods.Items[0].UID}, hd)

	// The status follows the pod; an end after Cancel reads as cancelled.
	st, err := e.Status(ctx, h1)
	require.NoError(t, err)
	require.Equal(t, dispatch.StatePending, st.State)
	pod := pods.Items[0].DeepCopy()
	pod.Status.Phase = corev1.PodFailed
	pod.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error"}}}}
	_, err = client.CoreV1().Pods("batch").UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	require.NoError(t, err)
	require.Eventually(t, func() bool {
		st, err := e.Status(ctx, h1)
		return err == nil && st.State == dispatch.StateExited && *st.ExitCode == 3
	}, 5*time.Second, 10*time.Millisecond)
	require.NoError(t, e.Cancel(ctx, h1, time.Second), "cancelling an ended job is no error")
	st, err = e.Status(ctx, h1)
	require.NoError(t, err)
	require.Equal(t, dispatch.StateExited, st.State, "an ended job keeps its end")
}

func TestStartRejectsForeignObjectAndBadSpecs(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset(&corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "koyomi-g1-load-extract-1", Namespace: "batch"}})
	e := fakeExecutor(t, client)
	_, err := e.Start(ctx, request(jobnet.EKSSpec{Image: "busybox"}))
	require.True(t, errors.Is(err, fault.ErrConflict), "%v", err)
	require.False(t, dispatch.IsRetryable(err))

	for _, spec := range []jobnet.EKSSpec{{Image: "busybox", Mode: "cron"}, {Image: "busybox", Cleanup: "never"}, {Image: "busybox", Connection: "other"}, {}} {
		_, err := e.Start(ctx, request(spec))
		require.Error(t, err)
		var p *dispatch.Permanent
		require.True(t, errors.As(err, &p), "%+v: %v", spec, err)
	}
}

func TestCancelAndLostWithFakeClient(t *testing.T) {
	ctx := context.Background()
	client := fake.NewClientset()
	e := fakeExecutor(t, client)
	req := request(jobnet.EKSSpec{Image: "busybox"})
	h, err := e.Start(ctx, req)
	require.NoError(t, err)
	require.NoError(t, e.Cancel(ctx, h, 5*time.Second))
	// The informer learns of the delete asynchronously.
	require.Eventually(t, func() bool {
		st, err := e.Status(ctx, h)
		return err == nil && st.State == dispatch.StateCancelled
	}, 5*time.Second, 10*time.Millisecond)

	req.Key = "g1-load-extract-2"
	h2, err := e.Start(ctx, req)
	require.NoError(t, err)
	hd, _ := ParseHandle(h2)
	require.NoError(t, client.CoreV1().Pods("batch").Delete(ctx, hd.Name, metav1.DeleteOptions{}))
	require.Eventually(t, func() bool {
		st, err := e.Status(ctx, h2)
		return err == nil && st.State == dispatch.StateLost
	}, 5*time.Second, 10*time.Millisecond)
}

func TestConfigValidate(t *testing.T) {
	err := Config{
		Connections: []Connection{
			{Name: "a", Kubeconfig: "/k", InCluster: true},
			{Name: "a", EKS: &EKSAccess{}},
			{InCluster: true},
		},
		DefaultConnection: "zzz",
		StartErrorLimit:   -time.Second,
	}.Validate()
	var ps fault.Problems
	require.True(t, errors.As(err, &ps))
	paths := []string{}
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	require.ElementsMatch(t, []string{
		"connections[0]", "connections[1].name", "connections[1].eks.cluster", "connections[1].eks.region",
		"connections[1].eks.endpoint", "connections[1].eks.ca_data", "connections[2].name",
		"default_connection", "start_error_limit",
	}, paths)
}

func TestParseHandleAndCursor(t *testing.T) {
	_, err := ParseHandle(dispatch.Handle{Executor: "ecs", ID: "x"})
	require.True(t, errors.Is(err, dispatch.ErrUnknownHandle))
	_, err = ParseHandle(dispatch.Handle{Executor: "eks", ID: "a/b", Data: []byte(`{"namespace":"a","name":"c","mode":"pod"}`)})
	require.True(t, errors.Is(err, fault.ErrNotFound))
	for _, c := range []string{"-1", "x", "1.5"} {
		_, err := ParseCursor(c)
		require.True(t, errors.Is(err, fault.ErrInvalid), c)
	}
	n, err := ParseCursor("42")
	require.NoError(t, err)
	require.Equal(t, int64(42), n)
}
