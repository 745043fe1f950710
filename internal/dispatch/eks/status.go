package eks

import (
	"fmt"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
)

// Limits bound how long a pod may stay in a state that usually does not
// resolve itself before it counts as failed to start.
type Limits struct {
	// Unschedulable: how long PodScheduled may be False with reason
	// Unschedulable (no node fits, the cluster autoscaler did not help).
	Unschedulable time.Duration
	// StartError: how long the container may wait with ErrImagePull,
	// ImagePullBackOff, CreateContainerConfigError or CreateContainerError,
	// counted from the pod's start time (when the kubelet accepted it).
	StartError time.Duration
}

// Waiting reasons that fail a start at once: they never resolve by retrying.
var immediateStartErrors = map[string]bool{
	"InvalidImageName":  true,
	"ErrImageNeverPull": true,
}

// Waiting reasons that fail a start once they outlast Limits.StartError.
var lingeringStartErrors = map[string]bool{
	"ErrImagePull":               true,
	"ImagePullBackOff":           true,
	"CreateContainerConfigError": true,
	"CreateContainerError":       true,
}

// Terminated reasons that mean the container's process never ran (the
// command does not exist, the runtime could not create it).
var notStartedTerminations = map[string]bool{
	"StartError":         true,
	"ContainerCannotRun": true,
}

// PodStatus maps a pod of a job to a dispatch status at time now.
//
//	container terminated (any phase)                → exited, exit code
//	  … with reason StartError/ContainerCannotRun   → failed_to_start, exit code
//	phase Succeeded/Failed without container result → failed_to_start if the
//	                                                  container never ran
//	                                                  (Evicted before start,
//	                                                  admission rejects), else lost
//	waiting InvalidImageName/ErrImageNeverPull       → failed_to_start
//	waiting ErrImagePull/ImagePullBackOff/Create…   → failed_to_start once
//	                                                  longer than lim.StartError
//	PodScheduled=False/Unschedulable                 → failed_to_start once
//	                                                  longer than lim.Unschedulable
//	phase Running (or Unknown)                       → running
//	otherwise                                        → pending
func PodStatus(pod *corev1.Pod, now time.Time, lim Limits) dispatch.Status {
	cs := jobContainer(pod)
	var st dispatch.Status
	if cs != nil {
		switch {
		case cs.State.Terminated != nil:
			t := cs.State.Terminated
			code := int(t.ExitCode)
			st = dispatch.Status{
				State:     dispatch.StateExited,
				ExitCode:  &code,
				Reason:    joinReason(t.Reason, t.Message),
				StartedAt: t.StartedAt.Time,
				EndedAt:   t.FinishedAt.Time,
			}
			if notStartedTerminations[t.Reason] {
				st.State = dispatch.StateFailedToStart
			}
			return st
		case cs.State.Running != nil:
			st.StartedAt = cs.State.Running.StartedAt.Time
		}
	}
	switch pod.Status.Phase {
	case corev1.PodSucceeded, corev1.PodFailed:
		reason := joinReason(pod.Status.Reason, pod.Status.Message)
		if reason == "" {
			reason = fmt.Sprintf("pod %s without a container result", pod.Status.Phase)
		}
		st.Reason = reason
		st.EndedAt = podEndTime(pod, now)
		if st.StartedAt.IsZero() {
			st.State = dispatch.StateFailedToStart
		} else {
			st.State = dispatch.StateLost
		}
		return st
	case corev1.PodRunning, corev1.PodUnknown:
		st.State = dispatch.StateRunning
		if pod.Status.Phase == corev1.PodUnknown {
			st.Reason = "pod phase Unknown: the node does not report"
		}
		return st
	}
	// Pending.
	st.State = dispatch.StatePending
	if cs != nil && cs.State.Waiting != nil {
		w := cs.State.Waiting
		st.Reason = joinReason(w.Reason, w.Message)
		since := podStartTime(pod)
		switch {
		case immediateStartErrors[w.Reason]:
			st.State = dispatch.StateFailedToStart
			st.EndedAt = now
		case lingeringStartErrors[w.Reason] && now.Sub(since) > lim.StartError:
			st.State = dispatch.StateFailedToStart
			st.Reason = fmt.Sprintf("%s (for more than %s)", st.Reason, lim.StartError)
			st.EndedAt = now
		}
		return st
	}
	if c := podCondition(pod, corev1.PodScheduled); c != nil && c.Status == corev1.ConditionFalse && c.Reason == corev1.PodReasonUnschedulable {
		st.Reason = joinReason(c.Reason, c.Message)
		since := c.LastTransitionTime.Time
		if since.IsZero() {
			since = pod.CreationTimestamp.Time
		}
		if now.Sub(since) > lim.Unschedulable {
			st.State = dispatch.StateFailedToStart
			st.Reason = fmt.Sprintf("%s (for more than %s)", st.Reason, lim.Unschedulable)
			st.EndedAt = now
		}
	}
	return st
}

// JobStatus maps a batch/v1 Job and its pods to a dispatch status. The pod
// is the source of the exit code; the Job's conditions decide when there is
// no pod (it was never created, or it is gone).
func JobStatus(job *batchv1.Job, pods []*corev1.Pod, now time.Time, lim Limits) dispatch.Status {
	var ps *dispatch.Status
	if pod := newestPod(pods); pod != nil {
		s := PodStatus(pod, now, lim)
		if s.State.IsTerminal() {
			return s
		}
		ps = &s
	}
	for _, c := range job.Status.Conditions {
		if c.Status != corev1.ConditionTrue {
			continue
		}
		switch c.Type {
		case batchv1.JobComplete, batchv1.JobSuccessCriteriaMet:
			zero := 0
			st := dispatch.Status{State: dispatch.StateExited, ExitCode: &zero, Reason: joinReason(c.Reason, c.Message)}
			if job.Status.StartTime != nil {
				st.StartedAt = job.Status.StartTime.Time
			}
			if job.Status.CompletionTime != nil {
				st.EndedAt = job.Status.CompletionTime.Time
			} else {
				st.EndedAt = c.LastTransitionTime.Time
			}
			return st
		case batchv1.JobFailed, batchv1.JobFailureTarget:
			if ps != nil {
				// The pod is still being stopped; its result follows.
				return *ps
			}
			return dispatch.Status{
				State:   dispatch.StateFailedToStart,
				Reason:  "job failed: " + joinReason(c.Reason, c.Message),
				EndedAt: c.LastTransitionTime.Time,
			}
		}
	}
	if ps != nil {
		return *ps
	}
	return dispatch.Status{State: dispatch.StatePending, Reason: "waiting for the job controller to create the pod"}
}

// jobContainer returns the status of the job's container: the one named
// ContainerName, else the first.
func jobContainer(pod *corev1.Pod) *corev1.ContainerStatus {
	for i := range pod.Status.ContainerStatuses {
		if pod.Status.ContainerStatuses[i].Name == ContainerName {
			return &pod.Status.ContainerStatuses[i]
		}
	}
	if len(pod.Status.ContainerStatuses) > 0 {
		return &pod.Status.ContainerStatuses[0]
	}
	return nil
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// podStartTime is when the kubelet accepted the pod, or its creation time.
func podStartTime(pod *corev1.Pod) time.Time {
	if pod.Status.StartTime != nil && !pod.Status.StartTime.IsZero() {
		return pod.Status.StartTime.Time
	}
	return pod.CreationTimestamp.Time
}

// podEndTime is the latest condition transition of an ended pod, or now.
func podEndTime(pod *corev1.Pod, now time.Time) time.Time {
	var t metav1.Time
	for _, c := range pod.Status.Conditions {
		if c.LastTransitionTime.After(t.Time) {
			t = c.LastTransitionTime
		}
	}
	if t.IsZero() {
		return now
	}
	return t.Time
}

func newestPod(pods []*corev1.Pod) *corev1.Pod {
	var best *corev1.Pod
	for _, p := range pods {
		if best == nil || best.CreationTimestamp.Before(&p.CreationTimestamp) ||
			best.CreationTimestamp.Equal(&p.CreationTimestamp) && p.Name > best.Name {
			best = p
		}
	}
	return best
}

func joinReason(reason, msg string) string {
	switch {
	case reason == "":
		return msg
	case msg == "":
		return reason
	}
	return reason + ": " + msg
}
