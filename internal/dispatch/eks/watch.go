package eks

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	batchlisters "k8s.io/client-go/listers/batch/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
)

// watcher holds the informers of one connection and namespace: one pod
// informer (always) and one Job informer (from the first job-mode use), both
// restricted to objects labelled app.kubernetes.io/managed-by=koyomi. Every
// job of that namespace is served from the same caches, so N jobs cost one
// watch per kind instead of N polls.
type watcher struct {
	ns      string
	factory informers.SharedInformerFactory
	stop    <-chan struct{}
	syncTO  time.Duration
	ttl     time.Duration
	now     func() time.Time

	podInf cache.SharedIndexInformer
	pods   corelisters.PodLister

	jobOnce sync.Once
	// jobStarted is set once the Job informer exists.
	jobStarted atomic.Bool
	jobInf     cache.SharedIndexInformer
	jobs       batchlisters.JobLister

	mu sync.Mutex
	// gone remembers the last state of objects that disappeared, by
	// kind/name, so that Status after a delete can still tell the outcome.
	gone map[string]tombstone
	// cancelled marks objects Cancel deleted, by kind/name.
	cancelled map[string]time.Time
}

type tombstone struct {
	uid    types.UID
	status dispatch.Status
	at     time.Time
}

func newWatcher(ctx context.Context, client kubernetes.Interface, ns string, cfg Config, lim Limits) *watcher {
	w := &watcher{
		ns:        ns,
		stop:      ctx.Done(),
		syncTO:    cfg.SyncTimeout,
		ttl:       cfg.TombstoneTTL,
		now:       cfg.Now,
		gone:      map[string]tombstone{},
		cancelled: map[string]time.Time{},
	}
	w.factory = informers.NewSharedInformerFactoryWithOptions(client, cfg.ResyncPeriod,
		informers.WithNamespace(ns),
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.LabelSelector = Selector(cfg.Installation)
		}))
	w.podInf = w.factory.Core().V1().Pods().Informer()
	w.pods = w.factory.Core().V1().Pods().Lister()
	_, _ = w.podInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		DeleteFunc: func(obj any) {
			if pod, ok := unwrapDeleted(obj).(*corev1.Pod); ok {
				w.bury("pod/"+pod.Name, pod.UID, PodStatus(pod, w.now(), lim))
			}
		},
	})
	w.factory.Start(w.stop)
	return w
}

// jobInformer starts the Job informer on first use.
func (w *watcher) jobInformer() (cache.SharedIndexInformer, batchlisters.JobLister) {
	w.jobOnce.Do(func() {
		w.jobInf = w.factory.Batch().V1().Jobs().Informer()
		w.jobs = w.factory.Batch().V1().Jobs().Lister()
		_, _ = w.jobInf.AddEventHandler(cache.ResourceEventHandlerFuncs{
			DeleteFunc: func(obj any) {
				if job, ok := unwrapDeleted(obj).(*batchv1.Job); ok {
					w.mu.Lock()
					_, had := w.gone["job/"+job.Name]
					w.mu.Unlock()
					if !had {
						// Keep the pod-derived outcome recorded at cleanup;
						// otherwise remember what the Job itself says.
						w.bury("job/"+job.Name, job.UID, JobStatus(job, nil, w.now(), Limits{}))
					}
				}
			},
		})
		w.factory.Start(w.stop)
		w.jobStarted.Store(true)
	})
	return w.jobInf, w.jobs
}

// synced waits (bounded) for an informer's first list; false means the
// caller should ask the API server directly.
func (w *watcher) synced(ctx context.Context, inf cache.SharedIndexInformer) bool {
	if inf.HasSynced() {
		return true
	}
	ctx, cancel := context.WithTimeout(ctx, w.syncTO)
	defer cancel()
	return cache.WaitForCacheSync(ctx.Done(), inf.HasSynced)
}

func unwrapDeleted(obj any) any {
	if d, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		return d.Obj
	}
	return obj
}

// bury remembers the last status of an object that is gone or about to go.
func (w *watcher) bury(key string, uid types.UID, st dispatch.Status) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	w.gone[key] = tombstone{uid: uid, status: st, at: now}
	w.expireLocked(now)
}

// grave returns the remembered status of a vanished object with uid (any
// uid when uid is empty).
func (w *watcher) grave(key string, uid types.UID) (dispatch.Status, bool) {
	w.mu.Lock()
	defer w.mu.Unlock()
	t, ok := w.gone[key]
	if !ok || uid != "" && t.uid != "" && t.uid != uid {
		return dispatch.Status{}, false
	}
	return t.status, true
}

func (w *watcher) markCancelled(key string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	now := w.now()
	w.cancelled[key] = now
	w.expireLocked(now)
}

func (w *watcher) isCancelled(key string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	_, ok := w.cancelled[key]
	return ok
}

func (w *watcher) expireLocked(now time.Time) {
	for k, t := range w.gone {
		if now.Sub(t.at) > w.ttl {
			delete(w.gone, k)
		}
	}
	for k, at := range w.cancelled {
		if now.Sub(at) > w.ttl {
			delete(w.cancelled, k)
		}
	}
}

// jobPods lists the cached pods of a Job.
func (w *watcher) jobPods(name string) ([]*corev1.Pod, error) {
	return w.pods.Pods(w.ns).List(labels.SelectorFromSet(labels.Set{LabelJobName: name}))
}
