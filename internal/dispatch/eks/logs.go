package eks

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Logs implements dispatch.Executor with pods/log. The cursor is a decimal
// byte offset into the container's whole log as the kubelet returns it (""
// is 0). A chunk ends at the last line break within limit when there is one,
// so that chunks hold whole lines; either way the next chunk starts at the
// exact byte after this one, so nothing is read twice or skipped.
//
// When the execution has ended, the log was read to its end and the cleanup
// policy is delete, Logs deletes the pod (or Job) and remembers its status.
func (e *Executor) Logs(ctx context.Context, h dispatch.Handle, cursor string, limit int) (dispatch.LogChunk, error) {
	cctx, cancel := context.WithTimeout(ctx, e.cfg.CallTimeout)
	defer cancel()
	chunk, err := e.logs(cctx, h, cursor, limit)
	if err = e.timedOut(ctx, cctx, err); err != nil {
		return dispatch.LogChunk{}, fmt.Errorf("logs of %q on eks: %w", h.ID, err)
	}
	return chunk, nil
}

// ParseCursor reads a Logs cursor.
func ParseCursor(cursor string) (int64, error) {
	if cursor == "" {
		return 0, nil
	}
	n, err := strconv.ParseInt(cursor, 10, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("log cursor %q: want a byte offset: %w", cursor, fault.ErrInvalid)
	}
	return n, nil
}

func (e *Executor) logs(ctx context.Context, h dispatch.Handle, cursor string, limit int) (dispatch.LogChunk, error) {
	off, err := ParseCursor(cursor)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	if limit <= 0 {
		limit = LogLimitDefault
	}
	hd, c, w, err := e.resolve(h)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	empty := dispatch.LogChunk{Next: strconv.FormatInt(off, 10)}

	// Take the state before reading: a log read after the end was seen is
	// complete, so the cleanup below never loses output.
	var (
		pod  *corev1.Pod
		st   dispatch.Status
		kind = "pod/"
	)
	if hd.Mode == ModeJob {
		kind = "job/"
		job, pods, err := e.getJob(ctx, hd, c, w)
		if err != nil {
			return dispatch.LogChunk{}, err
		}
		if job == nil {
			return empty, nil
		}
		st = JobStatus(job, pods, e.cfg.Now(), e.lim)
		pod = newestPod(pods)
	} else {
		pod, err = e.getPod(ctx, hd, c, w)
		if err != nil {
			return dispatch.LogChunk{}, err
		}
		if pod == nil {
			return empty, nil
		}
		st = PodStatus(pod, e.cfg.Now(), e.lim)
	}
	if pod == nil || !containerStarted(pod) {
		return empty, e.cleanupIfDone(ctx, hd, c, w, kind, st, false)
	}

	data, more, err := readLog(ctx, c, pod, off, limit)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	chunk := dispatch.LogChunk{Data: data, Next: strconv.FormatInt(off+int64(len(data)), 10), More: more}
	return chunk, e.cleanupIfDone(ctx, hd, c, w, kind, st, !more)
}

// containerStarted reports whether the job container has run, so that the
// kubelet has a log for it.
func containerStarted(pod *corev1.Pod) bool {
	cs := jobContainer(pod)
	return cs != nil && (cs.State.Running != nil || cs.State.Terminated != nil)
}

// readLog returns up to limit bytes of the container log from byte off and
// whether more bytes follow.
func readLog(ctx context.Context, c *conn, pod *corev1.Pod, off int64, limit int) ([]byte, bool, error) {
	if err := c.logs.Wait(ctx); err != nil {
		return nil, false, &retryable{err: fmt.Errorf("log reads of connection %q are rate limited: %w", c.name, err)}
	}
	want := off + int64(limit) + 1
	opts := &corev1.PodLogOptions{Container: ContainerName, LimitBytes: &want}
	if jobContainer(pod) != nil && jobContainer(pod).Name != ContainerName {
		opts.Container = jobContainer(pod).Name
	}
	rc, err := c.client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, opts).Stream(ctx)
	if err != nil {
		if apierrors.IsNotFound(err) {
			return nil, false, nil
		}
		return nil, false, apiError("get log of pod "+pod.Namespace+"/"+pod.Name, err)
	}
	defer rc.Close()
	if _, err := io.CopyN(io.Discard, rc, off); err != nil {
		if errors.Is(err, io.EOF) {
			// The log is shorter than the cursor: nothing new yet.
			return nil, false, nil
		}
		return nil, false, fmt.Errorf("read log of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	buf, err := io.ReadAll(io.LimitReader(rc, int64(limit)+1))
	if err != nil {
		return nil, false, fmt.Errorf("read log of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	more := len(buf) > limit
	if more {
		buf = buf[:limit]
		if i := bytes.LastIndexByte(buf, '\n'); i >= 0 {
			buf = buf[:i+1]
		}
	}
	return buf, more, nil
}

// cleanupIfDone deletes an ended pod or Job whose log was read to the end,
// when the cleanup policy asks for it, remembering its status first.
func (e *Executor) cleanupIfDone(ctx context.Context, hd HandleData, c *conn, w *watcher, kind string, st dispatch.Status, atEnd bool) error {
	if hd.Cleanup != CleanupDelete || !atEnd || !st.State.IsTerminal() {
		return nil
	}
	w.bury(kind+hd.Name, hd.UID, cancelledIf(w, kind+hd.Name, st))
	zero := int64(0)
	if hd.Mode == ModeJob {
		return e.deleteJob(ctx, hd, c, w, &zero)
	}
	return e.deletePod(ctx, hd, c, &zero)
}
