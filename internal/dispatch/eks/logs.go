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

// Logs implements dispatch.Executor. The cursor is a decimal byte offset
// into the container's whole log as the kubelet returns it ("" is 0). A
// chunk ends at the last line break within limit when there is one, so
// that chunks hold whole lines; either way the next chunk starts at the
// exact byte after this one, so nothing is read twice or skipped.
//
// Once the execution has ended and its log was kept (Config.LogDir), the
// log is read from there, also after the pod is gone; before, from
// pods/log. Reading never deletes anything: cleanup is the sweep's.
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
	if rec, ok := e.archived(hd.Namespace, hd.Name, hd.UID); ok {
		return e.readArchive(hd.Namespace, hd.Name, rec, off, limit)
	}
	pod, st, err := e.logPod(ctx, hd, c, w)
	if err != nil || pod == nil || !containerStarted(pod) {
		return dispatch.LogChunk{Next: strconv.FormatInt(off, 10)}, err
	}
	if st.State.IsTerminal() {
		e.keepLog(c, hd.Namespace, hd.Name, hd.UID, pod, st)
	}
	data, more, err := readLog(ctx, c, pod, off, limit)
	if err != nil {
		return dispatch.LogChunk{}, err
	}
	return dispatch.LogChunk{Data: data, Next: strconv.FormatInt(off+int64(len(data)), 10), More: more}, nil
}

// logPod returns the pod whose log is the execution's (the newest pod of a
// Job) and the execution's status; nil when there is none.
func (e *Executor) logPod(ctx context.Context, hd HandleData, c *conn, w *watcher) (*corev1.Pod, dispatch.Status, error) {
	if hd.Mode == ModeJob {
		job, pods, err := e.getJob(ctx, hd, c, w)
		if err != nil || job == nil {
			return nil, dispatch.Status{}, err
		}
		return newestPod(pods), cancelledIf(w, "job/"+hd.Name, JobStatus(job, pods, e.cfg.Now(), e.lim)), nil
	}
	pod, err := e.getPod(ctx, hd, c, w)
	if err != nil || pod == nil {
		return nil, dispatch.Status{}, err
	}
	return pod, cancelledIf(w, "pod/"+hd.Name, PodStatus(pod, e.cfg.Now(), e.lim)), nil
}

// LogTailBytes bounds what TailLines reads.
const LogTailBytes = 64 << 10

// TailLines implements dispatch.LineTailer: the last lines of the log (at
// most LogTailBytes), from the kept log when there is one, else from
// pods/log with tailLines — never by reading the log from its start.
func (e *Executor) TailLines(ctx context.Context, h dispatch.Handle, lines int) ([]string, error) {
	cctx, cancel := context.WithTimeout(ctx, e.cfg.CallTimeout)
	defer cancel()
	tail, err := e.logTail(cctx, h, lines)
	if err = e.timedOut(ctx, cctx, err); err != nil {
		return nil, fmt.Errorf("log tail of %q on eks: %w", h.ID, err)
	}
	return tail, nil
}

func (e *Executor) logTail(ctx context.Context, h dispatch.Handle, lines int) ([]string, error) {
	hd, c, w, err := e.resolve(h)
	if err != nil {
		return nil, err
	}
	var data []byte
	if rec, ok := e.archived(hd.Namespace, hd.Name, hd.UID); ok {
		if data, err = e.tailArchive(hd.Namespace, hd.Name, rec, LogTailBytes); err != nil {
			return nil, err
		}
	} else {
		pod, _, err := e.logPod(ctx, hd, c, w)
		if err != nil || pod == nil || !containerStarted(pod) {
			return nil, err
		}
		if err := c.logs.Wait(ctx); err != nil {
			return nil, &retryable{err: fmt.Errorf("log reads of connection %q are rate limited: %w", c.name, err)}
		}
		n, limit := int64(lines), int64(LogTailBytes)
		opts := &corev1.PodLogOptions{Container: jobContainer(pod).Name, TailLines: &n, LimitBytes: &limit}
		rc, err := c.client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, opts).Stream(ctx)
		if apierrors.IsNotFound(err) {
			return nil, nil
		}
		if err != nil {
			return nil, apiError("get log of pod "+pod.Namespace+"/"+pod.Name, err)
		}
		defer rc.Close()
		if data, err = io.ReadAll(io.LimitReader(rc, LogTailBytes)); err != nil {
			return nil, fmt.Errorf("read log of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
	}
	return dispatch.LastLines(data, lines), nil
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
