package eks

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
)

var (
	t0  = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)
	lim = Limits{Unschedulable: 5 * time.Minute, StartError: 2 * time.Minute}
)

func mt(t time.Time) metav1.Time { return metav1.NewTime(t) }

func podWith(phase corev1.PodPhase, cs *corev1.ContainerState, conds ...corev1.PodCondition) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "koyomi-k", CreationTimestamp: mt(t0)}}
	p.Status.Phase = phase
	p.Status.Conditions = conds
	if cs != nil {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: ContainerName, State: *cs}}
	}
	return p
}

func TestPodStatus(t *testing.T) {
	start := t0.Add(10 * time.Second)
	end := t0.Add(70 * time.Second)
	started := t0.Add(5 * time.Second)
	withStart := func(p *corev1.Pod) *corev1.Pod { s := mt(started); p.Status.StartTime = &s; return p }
	code := func(n int) *int { return &n }
	tests := []struct {
		name string
		pod  *corev1.Pod
		now  time.Time
		want dispatch.Status
	}{
		{"pending, just created", podWith(corev1.PodPending, nil), t0.Add(time.Second),
			dispatch.Status{State: dispatch.StatePending}},
		{"running", podWith(corev1.PodRunning, &corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt(start)}}), t0.Add(time.Minute),
			dispatch.Status{State: dispatch.StateRunning, StartedAt: start}},
		{"succeeded exit 0", podWith(corev1.PodSucceeded, &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 0, Reason: "Completed", StartedAt: mt(start), FinishedAt: mt(end)}}), t0.Add(2 * time.Minute),
			dispatch.Status{State: dispatch.StateExited, ExitCode: code(0), Reason: "Completed", StartedAt: start, EndedAt: end}},
		{"failed exit 3 with message", podWith(corev1.PodFailed, &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", Message: "boom", StartedAt: mt(start), FinishedAt: mt(end)}}), t0.Add(2 * time.Minute),
			dispatch.Status{State: dispatch.StateExited, ExitCode: code(3), Reason: "Error: boom", StartedAt: start, EndedAt: end}},
		{"terminated while phase still Running", podWith(corev1.PodRunning, &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 137, Reason: "OOMKilled", StartedAt: mt(start), FinishedAt: mt(end)}}), t0.Add(2 * time.Minute),
			dispatch.Status{State: dispatch.StateExited, ExitCode: code(137), Reason: "OOMKilled", StartedAt: start, EndedAt: end}},
		{"command not found", podWith(corev1.PodFailed, &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 128, Reason: "StartError", Message: `exec: "nope": executable file not found`, FinishedAt: mt(end)}}), t0.Add(2 * time.Minute),
			dispatch.Status{State: dispatch.StateFailedToStart, ExitCode: code(128), Reason: `StartError: exec: "nope": executable file not found`, EndedAt: end}},
		{"image pull error within the limit", withStart(podWith(corev1.PodPending, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ErrImagePull", Message: "not found"}})), started.Add(2 * time.Minute),
			dispatch.Status{State: dispatch.StatePending, Reason: "ErrImagePull: not found"}},
		{"image pull backoff beyond the limit", withStart(podWith(corev1.PodPending, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff", Message: "Back-off"}})), started.Add(2*time.Minute + time.Second),
			dispatch.Status{State: dispatch.StateFailedToStart, Reason: "ImagePullBackOff: Back-off (for more than 2m0s)", EndedAt: started.Add(2*time.Minute + time.Second)}},
		{"config error beyond the limit counts from creation without start time", podWith(corev1.PodPending, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "CreateContainerConfigError", Message: `secret "s" not found`}}), t0.Add(3 * time.Minute),
			dispatch.Status{State: dispatch.StateFailedToStart, Reason: `CreateContainerConfigError: secret "s" not found (for more than 2m0s)`, EndedAt: t0.Add(3 * time.Minute)}},
		{"invalid image name fails at once", withStart(podWith(corev1.PodPending, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "InvalidImageName"}})), started,
			dispatch.Status{State: dispatch.StateFailedToStart, Reason: "InvalidImageName", EndedAt: started}},
		{"container creating is pending", withStart(podWith(corev1.PodPending, &corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ContainerCreating"}})), t0.Add(time.Hour),
			dispatch.Status{State: dispatch.StatePending, Reason: "ContainerCreating"}},
		{"unschedulable within the limit", podWith(corev1.PodPending, nil, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available", LastTransitionTime: mt(t0)}), t0.Add(5 * time.Minute),
			dispatch.Status{State: dispatch.StatePending, Reason: "Unschedulable: 0/1 nodes are available"}},
		{"unschedulable beyond the limit", podWith(corev1.PodPending, nil, corev1.PodCondition{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: "Unschedulable", Message: "0/1 nodes are available", LastTransitionTime: mt(t0)}), t0.Add(5*time.Minute + time.Second),
			dispatch.Status{State: dispatch.StateFailedToStart, Reason: "Unschedulable: 0/1 nodes are available (for more than 5m0s)", EndedAt: t0.Add(5*time.Minute + time.Second)}},
		{"rejected by the kubelet before start", podWith(corev1.PodFailed, nil, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, LastTransitionTime: mt(end)}), t0.Add(2 * time.Minute),
			func() dispatch.Status {
				return dispatch.Status{State: dispatch.StateFailedToStart, Reason: "pod Failed without a container result", EndedAt: end}
			}()},
		{"unknown phase counts as running", podWith(corev1.PodUnknown, &corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt(start)}}), t0.Add(time.Minute),
			dispatch.Status{State: dispatch.StateRunning, StartedAt: start, Reason: "pod phase Unknown: the node does not report"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, PodStatus(tt.pod, tt.now, lim))
		})
	}
}

func TestPodStatusEvictedWhileRunning(t *testing.T) {
	p := podWith(corev1.PodFailed, &corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt(t0)}})
	p.Status.Reason, p.Status.Message = "Evicted", "low on memory"
	st := PodStatus(p, t0.Add(time.Hour), lim)
	require.Equal(t, dispatch.StateLost, st.State)
	require.Equal(t, "Evicted: low on memory", st.Reason)
	require.Nil(t, st.ExitCode)
}

func TestJobStatus(t *testing.T) {
	done := mt(t0.Add(time.Minute))
	startT := mt(t0)
	job := func(conds ...batchv1.JobCondition) *batchv1.Job {
		j := &batchv1.Job{}
		j.Status.Conditions = conds
		j.Status.StartTime = &startT
		return j
	}
	exit3 := podWith(corev1.PodFailed, &corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 3, Reason: "Error", StartedAt: mt(t0), FinishedAt: done}})
	running := podWith(corev1.PodRunning, &corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: mt(t0)}})
	zero, three := 0, 3
	tests := []struct {
		name string
		job  *batchv1.Job
		pods []*corev1.Pod
		want dispatch.Status
	}{
		{"no pod yet", job(), nil, dispatch.Status{State: dispatch.StatePending, Reason: "waiting for the job controller to create the pod"}},
		{"running pod", job(), []*corev1.Pod{running}, dispatch.Status{State: dispatch.StateRunning, StartedAt: t0}},
		{"failed pod decides", job(batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "BackoffLimitExceeded"}), []*corev1.Pod{exit3},
			dispatch.Status{State: dispatch.StateExited, ExitCode: &three, Reason: "Error", StartedAt: t0, EndedAt: done.Time}},
		{"complete, pod gone", job(batchv1.JobCondition{Type: batchv1.JobComplete, Status: corev1.ConditionTrue, Reason: "CompletionsReached", LastTransitionTime: done}), nil,
			dispatch.Status{State: dispatch.StateExited, ExitCode: &zero, Reason: "CompletionsReached", StartedAt: t0, EndedAt: done.Time}},
		{"failed without pod", job(batchv1.JobCondition{Type: batchv1.JobFailed, Status: corev1.ConditionTrue, Reason: "DeadlineExceeded", Message: "too long", LastTransitionTime: done}), nil,
			dispatch.Status{State: dispatch.StateFailedToStart, Reason: "job failed: DeadlineExceeded: too long", EndedAt: done.Time}},
		{"failure target while the pod stops", job(batchv1.JobCondition{Type: batchv1.JobFailureTarget, Status: corev1.ConditionTrue}), []*corev1.Pod{running},
			dispatch.Status{State: dispatch.StateRunning, StartedAt: t0}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, JobStatus(tt.job, tt.pods, t0.Add(2*time.Minute), lim))
		})
	}
}
