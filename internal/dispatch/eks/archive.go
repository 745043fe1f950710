package eks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/types"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/dispatch/logcap"
)

// Files of a kept log: <LogDir>/<namespace>/<name>/log holds the whole
// container log (the part the size cap left out is a hole), record.json
// says that it is complete, how it ended and what was cut.
const (
	archiveLogFile    = "log"
	archiveRecordFile = "record.json"
)

// archiveRecord describes a kept log. Its presence means the log was read
// to its end (or that there was none to read).
type archiveRecord struct {
	UID types.UID `json:"uid,omitempty"`
	// Status is the execution's end as seen when the log was kept.
	Status dispatch.Status `json:"status"`
	// Size is the length of the whole log in bytes (cursor space).
	Size int64 `json:"size"`
	// Cut is the range the size cap left out.
	Cut logcap.Cut `json:"cut,omitzero"`
	// Missing says why there is no log (the pod was gone before it was
	// read); empty when the container never ran, which leaves no log.
	Missing    string    `json:"missing,omitempty"`
	ArchivedAt time.Time `json:"archived_at"`
}

// cappedWriter appends a log to a file and frees the part the cap leaves
// out as it goes (a hole punched in the file: offsets stay those of the
// whole log while the disk holds about max bytes).
type cappedWriter struct {
	f    *os.File
	max  int64
	size int64
	cut  logcap.Cut
}

// capSlack is how far a log may grow past its cap before the next punch.
const capSlack = 1 << 20

func (w *cappedWriter) Write(p []byte) (int, error) {
	n, err := w.f.Write(p)
	w.size += int64(n)
	if err == nil && w.max > 0 && w.size-(w.cut.To-w.cut.From) > w.max+capSlack {
		w.apply()
	}
	return n, err
}

// apply punches the range the cap leaves out now. A file system that
// cannot punch holes keeps the bytes; readers skip them all the same.
func (w *cappedWriter) apply() {
	next, changed := logcap.Plan(w.size, w.max, w.cut)
	if !changed {
		return
	}
	_ = logcap.Punch(w.f, w.cut, next)
	w.cut = next
}

// archiveDir is where the log of namespace/name is kept.
func (e *Executor) archiveDir(ns, name string) string {
	return filepath.Join(e.cfg.LogDir, ns, name)
}

// archived returns the record of the kept log of namespace/name, when it
// is complete and belongs to the object with uid (any uid when empty).
func (e *Executor) archived(ns, name string, uid types.UID) (archiveRecord, bool) {
	if e.cfg.LogDir == "" {
		return archiveRecord{}, false
	}
	data, err := os.ReadFile(filepath.Join(e.archiveDir(ns, name), archiveRecordFile))
	if err != nil {
		return archiveRecord{}, false
	}
	var rec archiveRecord
	if err := json.Unmarshal(data, &rec); err != nil {
		return archiveRecord{}, false
	}
	if uid != "" && rec.UID != "" && rec.UID != uid {
		return archiveRecord{}, false
	}
	return rec, true
}

// keepLog starts keeping the log of an ended object (its pod, for a Job)
// in the background, once: read to its end under the log limiter and
// Config.ArchiveTimeout, written under the size cap. A failed attempt is
// retried by the next status read or sweep.
func (e *Executor) keepLog(c *conn, ns, name string, uid types.UID, pod *corev1.Pod, st dispatch.Status) {
	if e.cfg.LogDir == "" {
		return
	}
	key := ns + "/" + name
	e.mu.Lock()
	if e.keeping[key] {
		e.mu.Unlock()
		return
	}
	if _, ok := e.archived(ns, name, uid); ok {
		e.mu.Unlock()
		return
	}
	e.keeping[key] = true
	e.mu.Unlock()
	e.bg.Add(1)
	go func() {
		defer e.bg.Done()
		defer func() {
			e.mu.Lock()
			delete(e.keeping, key)
			e.mu.Unlock()
		}()
		select {
		case e.keepers <- struct{}{}:
			defer func() { <-e.keepers }()
		case <-e.ctx.Done():
			return
		}
		ctx, cancel := context.WithTimeout(e.ctx, e.cfg.ArchiveTimeout)
		defer cancel()
		if err := e.writeArchive(ctx, c, ns, name, uid, pod, st); err != nil {
			e.cfg.Logger.Warn("cannot keep the log of an ended pod yet", "connection", c.name, "object", key, "err", err)
		}
	}()
}

// writeArchive reads the whole log of pod and writes it with its record.
func (e *Executor) writeArchive(ctx context.Context, c *conn, ns, name string, uid types.UID, pod *corev1.Pod, st dispatch.Status) error {
	dir := e.archiveDir(ns, name)
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return fmt.Errorf("keep log of %s/%s: %w", ns, name, err)
	}
	rec := archiveRecord{UID: uid, Status: st, ArchivedAt: e.cfg.Now()}
	if pod != nil && containerStarted(pod) {
		size, cut, missing, err := e.copyLog(ctx, c, pod, dir)
		if err != nil {
			return fmt.Errorf("keep log of %s/%s: %w", ns, name, err)
		}
		rec.Size, rec.Cut, rec.Missing = size, cut, missing
	}
	data, err := json.Marshal(rec)
	if err != nil {
		return fmt.Errorf("keep log of %s/%s: %w", ns, name, err)
	}
	if err := writeFileAtomic(dir, archiveRecordFile, data); err != nil {
		return fmt.Errorf("keep log of %s/%s: %w", ns, name, err)
	}
	return nil
}

// copyLog streams the job container's log of pod into dir/log.
func (e *Executor) copyLog(ctx context.Context, c *conn, pod *corev1.Pod, dir string) (int64, logcap.Cut, string, error) {
	if err := c.logs.Wait(ctx); err != nil {
		return 0, logcap.Cut{}, "", fmt.Errorf("log reads of connection %q are rate limited: %w", c.name, err)
	}
	opts := &corev1.PodLogOptions{Container: ContainerName}
	if cs := jobContainer(pod); cs != nil {
		opts.Container = cs.Name
	}
	rc, err := c.client.CoreV1().Pods(pod.Namespace).GetLogs(pod.Name, opts).Stream(ctx)
	if apierrors.IsNotFound(err) {
		return 0, logcap.Cut{}, "the pod was deleted before its log could be kept", nil
	}
	if err != nil {
		return 0, logcap.Cut{}, "", apiError("get log of pod "+pod.Namespace+"/"+pod.Name, err)
	}
	defer rc.Close()
	tmp := filepath.Join(dir, archiveLogFile+".part")
	f, err := os.OpenFile(tmp, os.O_CREATE|os.O_TRUNC|os.O_WRONLY, 0o640)
	if err != nil {
		return 0, logcap.Cut{}, "", err
	}
	defer f.Close()
	w := &cappedWriter{f: f, max: e.cfg.LogMax}
	if _, err := io.Copy(w, rc); err != nil {
		return 0, logcap.Cut{}, "", fmt.Errorf("read log of pod %s/%s: %w", pod.Namespace, pod.Name, err)
	}
	w.apply()
	if err := f.Sync(); err != nil {
		return 0, logcap.Cut{}, "", err
	}
	if err := f.Close(); err != nil {
		return 0, logcap.Cut{}, "", err
	}
	if err := os.Rename(tmp, filepath.Join(dir, archiveLogFile)); err != nil {
		return 0, logcap.Cut{}, "", err
	}
	return w.size, w.cut, "", nil
}

// writeFileAtomic writes dir/name through a temporary file and a rename,
// synced, so a reader sees the old content or the whole new one.
func writeFileAtomic(dir, name string, data []byte) error {
	tmp, err := os.CreateTemp(dir, name+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), filepath.Join(dir, name))
}

// readArchive reads at most limit bytes of a kept log from off. Where the
// cap left a part out the chunk holds a line that says so and the cursor
// jumps past it; a chunk ends after its last line break when it has one.
func (e *Executor) readArchive(ns, name string, rec archiveRecord, off int64, limit int) (dispatch.LogChunk, error) {
	if rec.Missing != "" || rec.Size == 0 {
		var data []byte
		if off == 0 && rec.Missing != "" {
			data = []byte("[koyomi: no log: " + rec.Missing + "]\n")
		}
		return dispatch.LogChunk{Data: data, Next: strconv.FormatInt(max(off, rec.Size), 10)}, nil
	}
	if off >= rec.Size {
		return dispatch.LogChunk{Next: strconv.FormatInt(off, 10)}, nil
	}
	f, err := os.Open(filepath.Join(e.archiveDir(ns, name), archiveLogFile))
	if err != nil {
		return dispatch.LogChunk{}, fmt.Errorf("kept log of %s/%s: %w", ns, name, err)
	}
	defer f.Close()
	// Chunks end at a line break, as chunks read from the pod do.
	data, next, err := logcap.Read(f, rec.Size, rec.Cut, off, limit, true)
	if err != nil {
		return dispatch.LogChunk{}, fmt.Errorf("kept log of %s/%s: %w", ns, name, err)
	}
	return dispatch.LogChunk{Data: data, Next: strconv.FormatInt(next, 10), More: next < rec.Size}, nil
}

// tailArchive returns about the last max bytes of a kept log (never from
// the part the cap left out).
func (e *Executor) tailArchive(ns, name string, rec archiveRecord, maxBytes int) ([]byte, error) {
	if rec.Missing != "" || rec.Size == 0 {
		return nil, nil
	}
	from := max(0, rec.Size-int64(maxBytes))
	if c := rec.Cut; !c.Empty() && from < c.To {
		from = c.To
	}
	f, err := os.Open(filepath.Join(e.archiveDir(ns, name), archiveLogFile))
	if err != nil {
		return nil, fmt.Errorf("kept log of %s/%s: %w", ns, name, err)
	}
	defer f.Close()
	buf := make([]byte, rec.Size-from)
	n, err := f.ReadAt(buf, from)
	if err != nil && !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("kept log of %s/%s: %w", ns, name, err)
	}
	return buf[:n], nil
}

// pruneArchives removes kept logs older than Config.LogRetention.
func (e *Executor) pruneArchives() {
	if e.cfg.LogDir == "" || e.cfg.LogRetention <= 0 {
		return
	}
	cutoff := e.cfg.Now().Add(-e.cfg.LogRetention)
	nss, err := os.ReadDir(e.cfg.LogDir)
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			e.cfg.Logger.Warn("cannot prune kept pod logs", "err", err)
		}
		return
	}
	for _, ns := range nss {
		objs, err := os.ReadDir(filepath.Join(e.cfg.LogDir, ns.Name()))
		if err != nil {
			continue
		}
		for _, o := range objs {
			rec, ok := e.archived(ns.Name(), o.Name(), "")
			if ok && rec.ArchivedAt.Before(cutoff) {
				if err := os.RemoveAll(e.archiveDir(ns.Name(), o.Name())); err != nil {
					e.cfg.Logger.Warn("cannot prune a kept pod log", "object", ns.Name()+"/"+o.Name(), "err", err)
				}
			}
		}
	}
}
