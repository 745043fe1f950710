package eks

import (
	"context"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
)

// pruneEvery is how often kept logs past Config.LogRetention are removed.
const pruneEvery = time.Hour

// sweepLoop looks at the ended objects of every watched namespace each
// SweepInterval: it keeps the logs not kept yet and deletes the objects
// whose cleanup is due. Cleanup therefore never waits for anyone to read a
// log, and never happens before the log was kept.
func (e *Executor) sweepLoop() {
	defer e.bg.Done()
	t := time.NewTicker(e.cfg.SweepInterval)
	defer t.Stop()
	var pruned time.Time
	for {
		select {
		case <-e.ctx.Done():
			return
		case <-t.C:
		}
		e.sweep(e.ctx)
		if now := e.cfg.Now(); now.Sub(pruned) >= pruneEvery {
			pruned = now
			e.pruneArchives()
		}
	}
}

// sweep handles the ended objects in the informer caches.
func (e *Executor) sweep(ctx context.Context) {
	for _, c := range e.conns {
		c.mu.Lock()
		ws := make([]*watcher, 0, len(c.watchers))
		for _, w := range c.watchers {
			ws = append(ws, w)
		}
		c.mu.Unlock()
		for _, w := range ws {
			if !w.podInf.HasSynced() {
				continue
			}
			now := e.cfg.Now()
			pods, _ := w.pods.Pods(w.ns).List(labels.Everything())
			for _, pod := range pods {
				if pod.Labels[LabelJobName] != "" {
					continue // a Job's pod: handled with its Job
				}
				st := cancelledIf(w, "pod/"+pod.Name, PodStatus(pod, now, e.lim))
				if st.State.IsTerminal() {
					e.settle(ctx, c, w, ModePod, pod.Namespace, pod.Name, pod.UID, pod.Annotations[AnnotationCleanup], pod, st)
				}
			}
			if !w.jobStarted.Load() {
				continue
			}
			jobInf, jobLister := w.jobInformer()
			if !jobInf.HasSynced() {
				continue
			}
			jobs, _ := jobLister.Jobs(w.ns).List(labels.Everything())
			for _, job := range jobs {
				ps, _ := w.jobPods(job.Name)
				var owned []*corev1.Pod
				for _, p := range ps {
					if isOwnedBy(p, job.UID) {
						owned = append(owned, p)
					}
				}
				st := cancelledIf(w, "job/"+job.Name, JobStatus(job, owned, now, e.lim))
				if st.State.IsTerminal() {
					e.settle(ctx, c, w, ModeJob, job.Namespace, job.Name, job.UID, job.Annotations[AnnotationCleanup], newestPod(owned), st)
				}
			}
		}
	}
}

// settle keeps the log of an ended object, and deletes the object once
// its log is kept and CleanupAfter has passed, when its policy says so
// (objects without the annotation predate it and are kept).
func (e *Executor) settle(ctx context.Context, c *conn, w *watcher, mode, ns, name string, uid types.UID, cleanup string, pod *corev1.Pod, st dispatch.Status) {
	key := ns + "/" + name
	since, ok := e.endedSince(ns, name, uid, c, pod, st)
	if !ok || cleanup != CleanupDelete || e.cfg.Now().Sub(since) < e.cfg.CleanupAfter {
		return
	}
	hd := HandleData{Connection: c.name, Namespace: ns, Name: name, Mode: mode, Cleanup: cleanup, UID: uid}
	w.bury(mode+"/"+name, uid, st)
	zero := int64(0)
	cctx, cancel := context.WithTimeout(ctx, e.cfg.CallTimeout)
	defer cancel()
	var err error
	if mode == ModeJob {
		err = e.deleteJob(cctx, hd, c, w, &zero)
	} else {
		err = e.deletePod(cctx, hd, c, &zero)
	}
	if err != nil {
		e.cfg.Logger.Warn("cannot clean up an ended object", "connection", c.name, "object", key, "err", err)
		return
	}
	e.mu.Lock()
	delete(e.endSeen, key)
	e.mu.Unlock()
}

// endedSince returns since when an ended object counts as ended for its
// cleanup: when its log was kept; without LogDir, when a sweep first saw
// it ended. false means its log is not kept yet (keeping it is started).
func (e *Executor) endedSince(ns, name string, uid types.UID, c *conn, pod *corev1.Pod, st dispatch.Status) (time.Time, bool) {
	if e.cfg.LogDir != "" {
		rec, ok := e.archived(ns, name, uid)
		if !ok {
			e.keepLog(c, ns, name, uid, pod, st)
			return time.Time{}, false
		}
		return rec.ArchivedAt, true
	}
	key := ns + "/" + name
	e.mu.Lock()
	defer e.mu.Unlock()
	at, ok := e.endSeen[key]
	if !ok {
		at = e.cfg.Now()
		e.endSeen[key] = at
	}
	return at, true
}
