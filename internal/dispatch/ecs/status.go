package ecs

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
)

// describeBatch is DescribeTasks' limit of task ARNs per call.
const describeBatch = 100

// Status reports one task's state.
func (e *Executor) Status(ctx context.Context, h dispatch.Handle) (dispatch.Status, error) {
	sts, err := e.Statuses(ctx, []dispatch.Handle{h})
	if err != nil {
		return dispatch.Status{}, err
	}
	return sts[0], nil
}

// Statuses reports many tasks with one DescribeTasks call per connection,
// cluster and 100 tasks. The result is in the order of hs.
func (e *Executor) Statuses(ctx context.Context, hs []dispatch.Handle) ([]dispatch.Status, error) {
	type group struct {
		conn, cluster, container string
		idx                      []int
	}
	out := make([]dispatch.Status, len(hs))
	datas := make([]handleData, len(hs))
	groups := map[string]*group{}
	var order []*group
	for i, h := range hs {
		d, err := e.parseHandle(h)
		if err != nil {
			return nil, fmt.Errorf("status of ecs handle %d: %w", i, err)
		}
		datas[i] = d
		k := d.Connection + "\x00" + d.Cluster
		g := groups[k]
		if g == nil {
			g = &group{conn: d.Connection, cluster: d.Cluster}
			groups[k] = g
			order = append(order, g)
		}
		g.idx = append(g.idx, i)
	}
	for _, g := range order {
		c, err := e.clientsFor(ctx, g.conn)
		if err != nil {
			return nil, fmt.Errorf("status of ecs tasks: %w", err)
		}
		// Distinct ARNs in batches of 100.
		var arns []string
		seen := map[string]bool{}
		for _, i := range g.idx {
			if !seen[hs[i].ID] {
				seen[hs[i].ID] = true
				arns = append(arns, hs[i].ID)
			}
		}
		tasks := map[string]ecstypes.Task{}
		missing := map[string]string{}
		for start := 0; start < len(arns); start += describeBatch {
			batch := arns[start:min(start+describeBatch, len(arns))]
			res, err := c.ecs.DescribeTasks(ctx, &awsecs.DescribeTasksInput{Cluster: aws.String(g.cluster), Tasks: batch})
			if err != nil {
				if errorCode(err) == "ClusterNotFoundException" {
					for _, a := range batch {
						missing[a] = "cluster " + g.cluster + " not found"
					}
					continue
				}
				return nil, fmt.Errorf("DescribeTasks on cluster %q: %w", g.cluster, classify(err))
			}
			for _, t := range res.Tasks {
				tasks[aws.ToString(t.TaskArn)] = t
			}
			for _, f := range res.Failures {
				reason := aws.ToString(f.Reason)
				if d := aws.ToString(f.Detail); d != "" {
					reason += ": " + d
				}
				missing[aws.ToString(f.Arn)] = reason
			}
		}
		for _, i := range g.idx {
			arn := hs[i].ID
			if t, ok := tasks[arn]; ok {
				out[i] = StatusOf(t, datas[i].Container)
				continue
			}
			reason, ok := missing[arn]
			if !ok {
				reason = "not in the DescribeTasks answer"
			}
			out[i] = e.missingStatus(arn, datas[i], reason)
		}
	}
	return out, nil
}

// missingStatus is the status of a task DescribeTasks did not describe:
// within MissingGrace of its creation ECS may not show it yet (it is
// eventually consistent right after RunTask), so it still starts; later
// ECS has forgotten it (about an hour after it stopped) and its outcome
// cannot be learned, though its log stays in CloudWatch Logs.
func (e *Executor) missingStatus(arn string, d handleData, reason string) dispatch.Status {
	id := arn[strings.LastIndex(arn, "/")+1:]
	if !d.CreatedAt.IsZero() && !strings.HasPrefix(reason, "cluster ") {
		if age := e.cfg.Now().Sub(d.CreatedAt); age < e.cfg.MissingGrace {
			return dispatch.Status{State: dispatch.StatePending, Reason: fmt.Sprintf(
				"ECS does not describe task %s yet (%s %s after it was created); waiting up to %s for it to appear",
				id, reason, age.Truncate(time.Second), e.cfg.MissingGrace)}
		}
	}
	msg := fmt.Sprintf("ECS no longer knows task %s (%s); its outcome cannot be learned", id, reason)
	if strings.HasPrefix(reason, "cluster ") {
		msg = fmt.Sprintf("ECS no longer knows task %s: %s; its outcome cannot be learned", id, reason)
	} else {
		msg += " (ECS forgets a task about an hour after it stopped)"
	}
	if d.LogGroup != "" {
		msg += fmt.Sprintf("; its log stays readable in CloudWatch Logs %s %s", d.LogGroup, d.LogStream)
	}
	return dispatch.Status{State: dispatch.StateLost, Reason: msg}
}

// StatusOf maps a described task to a dispatch.Status; container names the
// container whose exit code counts ("" = the first that reports one).
//
//	lastStatus PROVISIONING, PENDING, ACTIVATING                → pending
//	lastStatus RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING  → running
//	STOPPED, stopCode TaskFailedToStart                         → failed_to_start
//	STOPPED, stopCode UserInitiated                             → cancelled
//	STOPPED, stopCode SpotInterruption, TerminationNotice       → lost
//	STOPPED, exit code of the container known                   → exited
//	STOPPED, no exit code                                       → failed_to_start
func StatusOf(t ecstypes.Task, container string) dispatch.Status {
	st := dispatch.Status{StartedAt: aws.ToTime(t.StartedAt)}
	last := aws.ToString(t.LastStatus)
	switch last {
	case "PROVISIONING", "PENDING", "ACTIVATING":
		st.State = dispatch.StatePending
		return st
	case "STOPPED":
	default:
		st.State = dispatch.StateRunning
		if aws.ToString(t.DesiredStatus) == "STOPPED" {
			st.Reason = stopText(t, nil)
		}
		return st
	}
	st.EndedAt = aws.ToTime(t.StoppedAt)
	if st.EndedAt.IsZero() {
		st.EndedAt = aws.ToTime(t.ExecutionStoppedAt)
	}
	if !st.StartedAt.IsZero() && st.EndedAt.Before(st.StartedAt) {
		st.EndedAt = st.StartedAt
	}
	c := exitContainer(t, container)
	var code *int
	if c != nil && c.ExitCode != nil {
		v := int(*c.ExitCode)
		code = &v
	}
	st.Reason = stopText(t, c)
	switch t.StopCode {
	case ecstypes.TaskStopCodeTaskFailedToStart:
		st.State = dispatch.StateFailedToStart
		return st
	case ecstypes.TaskStopCodeUserInitiated:
		st.State = dispatch.StateCancelled
		st.ExitCode = code
		return st
	case ecstypes.TaskStopCodeSpotInterruption, ecstypes.TaskStopCodeTerminationNotice:
		st.State = dispatch.StateLost
		st.ExitCode = code
		return st
	}
	if code == nil {
		st.State = dispatch.StateFailedToStart
		if st.StartedAt.IsZero() {
			return st
		}
		// It ran but its exit code is unknown (a container that was
		// never started in a task whose sidecar ran).
		st.State = dispatch.StateLost
		return st
	}
	st.State = dispatch.StateExited
	st.ExitCode = code
	return st
}

func exitContainer(t ecstypes.Task, name string) *ecstypes.Container {
	for i := range t.Containers {
		if name != "" && aws.ToString(t.Containers[i].Name) == name {
			return &t.Containers[i]
		}
	}
	if name != "" {
		return nil
	}
	for i := range t.Containers {
		if t.Containers[i].ExitCode != nil {
			return &t.Containers[i]
		}
	}
	if len(t.Containers) > 0 {
		return &t.Containers[0]
	}
	return nil
}

// stopText is "<stopCode>: <stoppedReason>; container <name>: exit code N, <reason>".
func stopText(t ecstypes.Task, c *ecstypes.Container) string {
	var parts []string
	head := string(t.StopCode)
	if r := aws.ToString(t.StoppedReason); r != "" {
		if head != "" {
			head += ": "
		}
		head += r
	}
	if head != "" {
		parts = append(parts, head)
	}
	if c != nil {
		var cs []string
		if c.ExitCode != nil {
			cs = append(cs, fmt.Sprintf("exit code %d", *c.ExitCode))
		}
		if r := aws.ToString(c.Reason); r != "" {
			cs = append(cs, r)
		}
		if len(cs) > 0 {
			parts = append(parts, "container "+aws.ToString(c.Name)+": "+strings.Join(cs, ", "))
		}
	}
	return strings.Join(parts, "; ")
}

// Cancel asks ECS to stop the task. ECS sends SIGTERM and, after the
// container's stopTimeout from the task definition (30 s by default, at most
// 120 s), SIGKILL; grace cannot shorten or lengthen that per call. A task that
// has already stopped, or that ECS no longer knows, is not an error.
func (e *Executor) Cancel(ctx context.Context, h dispatch.Handle, grace time.Duration) error {
	d, err := e.parseHandle(h)
	if err != nil {
		return fmt.Errorf("cancel ecs task: %w", err)
	}
	c, err := e.clientsFor(ctx, d.Connection)
	if err != nil {
		return fmt.Errorf("cancel ecs task %s: %w", h.ID, err)
	}
	_, err = c.ecs.StopTask(ctx, &awsecs.StopTaskInput{
		Cluster: aws.String(d.Cluster),
		Task:    aws.String(h.ID),
		Reason:  aws.String(e.cfg.StopReason),
	})
	if err == nil {
		e.cfg.Logger.Info("ecs task stop requested", "task", h.ID, "grace", grace)
		return nil
	}
	switch errorCode(err) {
	case "InvalidParameterException", "ClusterNotFoundException":
		st, serr := e.Status(ctx, h)
		if serr == nil && (st.State == dispatch.StateLost || st.State.IsTerminal()) {
			return nil
		}
	}
	return fmt.Errorf("cancel ecs task %s: StopTask: %w", h.ID, classify(err))
}
