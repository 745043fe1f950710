package eks

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"golang.org/x/time/rate"
	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// HandleData is the executor-specific part of a Handle.
type HandleData struct {
	Connection string    `json:"connection"`
	Namespace  string    `json:"namespace"`
	Name       string    `json:"name"`
	Mode       string    `json:"mode"`
	Cleanup    string    `json:"cleanup"`
	UID        types.UID `json:"uid,omitempty"`
}

// Executor runs jobs as pods or batch/v1 Jobs. It is safe for concurrent use.
type Executor struct {
	cfg    Config
	lim    Limits
	conns  map[string]*conn
	ctx    context.Context
	cancel context.CancelFunc
	bg     sync.WaitGroup

	mu sync.Mutex
	// keeping marks the objects (namespace/name) whose logs are being kept.
	keeping map[string]bool
	// keepers bounds the logs read at once.
	keepers chan struct{}
	// endSeen is when a sweep first saw an object ended (for cleanup
	// without LogDir).
	endSeen map[string]time.Time
}

type conn struct {
	name      string
	client    kubernetes.Interface
	namespace string
	// logs limits the connection's log reads (Connection.LogQPS).
	logs *rate.Limiter

	mu       sync.Mutex
	watchers map[string]*watcher
}

var _ dispatch.Executor = (*Executor)(nil)

// New returns an executor for the configured connections. It reads the
// connections' files but does not contact any cluster; informers start on
// first use. Close stops them.
func New(cfg Config) (*Executor, error) {
	cfg = cfg.withDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("eks executor config: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	e := &Executor{
		cfg:     cfg,
		lim:     Limits{Unschedulable: cfg.UnschedulableLimit, StartError: cfg.StartErrorLimit},
		conns:   map[string]*conn{},
		ctx:     ctx,
		cancel:  cancel,
		keeping: map[string]bool{},
		keepers: make(chan struct{}, archiveWorkers),
		endSeen: map[string]time.Time{},
	}
	for _, cn := range cfg.Connections {
		client, err := clientFor(ctx, cn, cfg.Now)
		if err != nil {
			cancel()
			return nil, err
		}
		ns := cn.Namespace
		if ns == "" {
			ns = NamespaceDefault
		}
		e.conns[cn.Name] = &conn{name: cn.Name, client: client, namespace: ns, logs: logLimiter(cn), watchers: map[string]*watcher{}}
	}
	e.bg.Add(1)
	go e.sweepLoop()
	return e, nil
}

// Close stops the informers, the sweeps and the logs being kept.
func (e *Executor) Close() error {
	e.cancel()
	e.bg.Wait()
	return nil
}

// Type implements dispatch.Executor.
func (e *Executor) Type() jobnet.JobType { return jobnet.JobEKS }

func (e *Executor) conn(name string) (*conn, error) {
	if name == "" {
		name = e.cfg.DefaultConnection
	}
	c, ok := e.conns[name]
	if !ok {
		return nil, fmt.Errorf("eks connection %q: %w", name, fault.ErrNotFound)
	}
	return c, nil
}

func (e *Executor) watcher(c *conn, ns string) *watcher {
	c.mu.Lock()
	defer c.mu.Unlock()
	w, ok := c.watchers[ns]
	if !ok {
		w = newWatcher(e.ctx, c.client, ns, e.cfg, e.lim)
		c.watchers[ns] = w
	}
	return w
}

// Start implements dispatch.Executor: it creates the pod (or Job) named
// after req.Key; when it exists already (an earlier Start with the same key,
// possibly from another process), it returns that object's handle.
func (e *Executor) Start(ctx context.Context, req dispatch.Request) (dispatch.Handle, error) {
	cctx, cancel := context.WithTimeout(ctx, e.cfg.CallTimeout)
	defer cancel()
	h, err := e.start(cctx, req)
	var perm *dispatch.Permanent
	if why, ok := unusable(err); ok && !errors.As(err, &perm) {
		err = &dispatch.Permanent{Err: fmt.Errorf("connection %q cannot be used: %s: %w", connName(req, e.cfg.DefaultConnection), why, err)}
	}
	if err = e.timedOut(ctx, cctx, err); err != nil {
		return dispatch.Handle{}, fmt.Errorf("start job %q on eks: %w", req.Unit, err)
	}
	return h, nil
}

// connName is the connection a request uses.
func connName(req dispatch.Request, def string) string {
	if req.Job.EKS != nil && req.Job.EKS.Connection != "" {
		return req.Job.EKS.Connection
	}
	return def
}

func (e *Executor) start(ctx context.Context, req dispatch.Request) (dispatch.Handle, error) {
	spec := req.Job.EKS
	if spec == nil {
		return dispatch.Handle{}, &dispatch.Permanent{Err: fmt.Errorf("no eks spec: %w", fault.ErrInvalid)}
	}
	mode, err := specMode(spec)
	if err != nil {
		return dispatch.Handle{}, &dispatch.Permanent{Err: err}
	}
	cleanup, err := specCleanup(spec)
	if err != nil {
		return dispatch.Handle{}, &dispatch.Permanent{Err: err}
	}
	c, err := e.conn(spec.Connection)
	if err != nil {
		return dispatch.Handle{}, &dispatch.Permanent{Err: err}
	}
	name, err := ObjectName(req.Key)
	if err != nil {
		return dispatch.Handle{}, &dispatch.Permanent{Err: err}
	}
	ns := spec.Namespace
	if ns == "" {
		ns = c.namespace
	}
	hd := HandleData{Connection: c.name, Namespace: ns, Name: name, Mode: mode, Cleanup: cleanup}
	w := e.watcher(c, ns)
	var meta metav1.Object
	switch mode {
	case ModeJob:
		w.jobInformer()
		job, err := BuildJob(name, ns, req)
		if err != nil {
			return dispatch.Handle{}, &dispatch.Permanent{Err: err}
		}
		e.stamp(&job.ObjectMeta)
		e.stamp(&job.Spec.Template.ObjectMeta)
		got, err := c.client.BatchV1().Jobs(ns).Create(ctx, job, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			got, err = c.client.BatchV1().Jobs(ns).Get(ctx, name, metav1.GetOptions{})
		}
		if err != nil {
			return dispatch.Handle{}, apiError("create job "+ns+"/"+name, err)
		}
		meta = got
	default:
		pod, err := BuildPod(name, ns, req)
		if err != nil {
			return dispatch.Handle{}, &dispatch.Permanent{Err: err}
		}
		e.stamp(&pod.ObjectMeta)
		got, err := c.client.CoreV1().Pods(ns).Create(ctx, pod, metav1.CreateOptions{})
		if apierrors.IsAlreadyExists(err) {
			got, err = c.client.CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		}
		if err != nil {
			return dispatch.Handle{}, apiError("create pod "+ns+"/"+name, err)
		}
		meta = got
	}
	if k := meta.GetAnnotations()[AnnotationKey]; k != req.Key {
		return dispatch.Handle{}, &dispatch.Permanent{Err: fmt.Errorf("%s %s/%s exists with key %q, not %q: %w", mode, ns, name, k, req.Key, fault.ErrConflict)}
	}
	if in := meta.GetLabels()[LabelInstallation]; in != e.cfg.Installation {
		return dispatch.Handle{}, &dispatch.Permanent{Err: fmt.Errorf("%s %s/%s exists but was started by installation %q, not this one (%q): %w", mode, ns, name, in, e.cfg.Installation, fault.ErrConflict)}
	}
	hd.UID = meta.GetUID()
	return makeHandle(hd)
}

// stamp labels an object with this executor's installation (when it has one).
func (e *Executor) stamp(m *metav1.ObjectMeta) {
	if e.cfg.Installation == "" {
		return
	}
	if m.Labels == nil {
		m.Labels = map[string]string{}
	}
	m.Labels[LabelInstallation] = e.cfg.Installation
}

func makeHandle(hd HandleData) (dispatch.Handle, error) {
	data, err := json.Marshal(hd)
	if err != nil {
		return dispatch.Handle{}, fmt.Errorf("encode handle: %w", err)
	}
	return dispatch.Handle{Executor: string(jobnet.JobEKS), ID: hd.Namespace + "/" + hd.Name, Data: data}, nil
}

// ParseHandle decodes a handle made by this executor.
func ParseHandle(h dispatch.Handle) (HandleData, error) {
	var hd HandleData
	if h.Executor != string(jobnet.JobEKS) {
		return hd, fmt.Errorf("%w: executor %q is not eks", dispatch.ErrUnknownHandle, h.Executor)
	}
	if err := json.Unmarshal(h.Data, &hd); err != nil {
		return hd, fmt.Errorf("%w: %q: %v", dispatch.ErrUnknownHandle, h.ID, err)
	}
	if hd.Namespace == "" || hd.Name == "" || hd.Namespace+"/"+hd.Name != h.ID {
		return hd, fmt.Errorf("%w: %q: data names %s/%s", dispatch.ErrUnknownHandle, h.ID, hd.Namespace, hd.Name)
	}
	switch hd.Mode {
	case ModePod, ModeJob:
	default:
		return hd, fmt.Errorf("%w: %q: mode %q", dispatch.ErrUnknownHandle, h.ID, hd.Mode)
	}
	return hd, nil
}

func (e *Executor) resolve(h dispatch.Handle) (HandleData, *conn, *watcher, error) {
	hd, err := ParseHandle(h)
	if err != nil {
		return hd, nil, nil, err
	}
	c, err := e.conn(hd.Connection)
	if err != nil {
		return hd, nil, nil, err
	}
	w := e.watcher(c, hd.Namespace)
	if hd.Mode == ModeJob {
		w.jobInformer()
	}
	return hd, c, w, nil
}

// Status implements dispatch.Executor, from the informer cache when it has
// the object, else from the API server.
func (e *Executor) Status(ctx context.Context, h dispatch.Handle) (dispatch.Status, error) {
	cctx, cancel := context.WithTimeout(ctx, e.cfg.CallTimeout)
	defer cancel()
	st, err := e.status(cctx, h)
	return st, e.timedOut(ctx, cctx, err)
}

func (e *Executor) status(ctx context.Context, h dispatch.Handle) (dispatch.Status, error) {
	hd, c, w, err := e.resolve(h)
	if err != nil {
		return dispatch.Status{}, fmt.Errorf("status of %q on eks: %w", h.ID, err)
	}
	var st dispatch.Status
	if hd.Mode == ModeJob {
		st, err = e.jobStatus(ctx, hd, c, w)
	} else {
		st, err = e.podStatus(ctx, hd, c, w)
	}
	if err != nil {
		return dispatch.Status{}, fmt.Errorf("status of %q on eks: %w", h.ID, err)
	}
	return st, nil
}

// getPod returns the pod from the cache, else from the API server; nil when
// it does not exist (or exists with another uid: ours was replaced).
func (e *Executor) getPod(ctx context.Context, hd HandleData, c *conn, w *watcher) (*corev1.Pod, error) {
	if w.podInf.HasSynced() {
		if pod, err := w.pods.Pods(hd.Namespace).Get(hd.Name); err == nil {
			if hd.UID != "" && pod.UID != hd.UID {
				return nil, nil
			}
			return pod, nil
		}
	}
	pod, err := c.client.CoreV1().Pods(hd.Namespace).Get(ctx, hd.Name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, apiError("get pod "+hd.Namespace+"/"+hd.Name, err)
	}
	if hd.UID != "" && pod.UID != hd.UID {
		return nil, nil
	}
	return pod, nil
}

func (e *Executor) podStatus(ctx context.Context, hd HandleData, c *conn, w *watcher) (dispatch.Status, error) {
	key := "pod/" + hd.Name
	pod, err := e.getPod(ctx, hd, c, w)
	if err != nil {
		return dispatch.Status{}, err
	}
	var st dispatch.Status
	if pod != nil {
		st = cancelledIf(w, key, PodStatus(pod, e.cfg.Now(), e.lim))
		if st.State.IsTerminal() {
			e.keepLog(c, hd.Namespace, hd.Name, hd.UID, pod, st)
		}
		return st, nil
	}
	return cancelledIf(w, key, e.goneStatus(w, key, hd, "pod")), nil
}

func (e *Executor) jobStatus(ctx context.Context, hd HandleData, c *conn, w *watcher) (dispatch.Status, error) {
	key := "job/" + hd.Name
	job, pods, err := e.getJob(ctx, hd, c, w)
	if err != nil {
		return dispatch.Status{}, err
	}
	var st dispatch.Status
	if job != nil {
		st = cancelledIf(w, key, JobStatus(job, pods, e.cfg.Now(), e.lim))
		if st.State.IsTerminal() {
			e.keepLog(c, hd.Namespace, hd.Name, hd.UID, newestPod(pods), st)
		}
		return st, nil
	}
	return cancelledIf(w, key, e.goneStatus(w, key, hd, "job")), nil
}

// getJob returns the Job and its pods (nil Job when it does not exist).
func (e *Executor) getJob(ctx context.Context, hd HandleData, c *conn, w *watcher) (*batchv1.Job, []*corev1.Pod, error) {
	jobInf, jobs := w.jobInformer()
	var job *batchv1.Job
	if jobInf.HasSynced() {
		if j, err := jobs.Jobs(hd.Namespace).Get(hd.Name); err == nil {
			job = j
		}
	}
	if job == nil {
		j, err := c.client.BatchV1().Jobs(hd.Namespace).Get(ctx, hd.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil, nil, nil
		}
		if err != nil {
			return nil, nil, apiError("get job "+hd.Namespace+"/"+hd.Name, err)
		}
		job = j
	}
	if hd.UID != "" && job.UID != hd.UID {
		return nil, nil, nil
	}
	// The pod cache is trusted once synced: a pod it does not have yet
	// only makes the job look pending a moment longer.
	var pods []*corev1.Pod
	if w.podInf.HasSynced() {
		ps, err := w.jobPods(hd.Name)
		if err != nil {
			return nil, nil, fmt.Errorf("list cached pods of job %s/%s: %w", hd.Namespace, hd.Name, err)
		}
		for _, p := range ps {
			if isOwnedBy(p, job.UID) {
				pods = append(pods, p)
			}
		}
	} else {
		list, err := c.client.CoreV1().Pods(hd.Namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelJobName + "=" + hd.Name})
		if err != nil {
			return nil, nil, apiError("list pods of job "+hd.Namespace+"/"+hd.Name, err)
		}
		for i := range list.Items {
			if isOwnedBy(&list.Items[i], job.UID) {
				pods = append(pods, &list.Items[i])
			}
		}
	}
	return job, pods, nil
}

func isOwnedBy(pod *corev1.Pod, uid types.UID) bool {
	for _, o := range pod.OwnerReferences {
		if o.UID == uid {
			return true
		}
	}
	return false
}

// goneStatus is the status of an object that no longer exists: what it last
// showed when that was an end (remembered by the watch, or recorded with
// its kept log, which survives restarts), else lost.
func (e *Executor) goneStatus(w *watcher, key string, hd HandleData, kind string) dispatch.Status {
	if st, ok := w.grave(key, hd.UID); ok && st.State.IsTerminal() {
		return st
	}
	if rec, ok := e.archived(hd.Namespace, hd.Name, hd.UID); ok && rec.Status.State.IsTerminal() {
		return rec.Status
	}
	return dispatch.Status{State: dispatch.StateLost, Reason: kind + " deleted", EndedAt: w.now()}
}

// cancelledIf turns the end of an execution that Cancel stopped into
// cancelled, keeping its exit code and times. An execution that ended
// before the cancel keeps its own end: Cancel does not mark those.
func cancelledIf(w *watcher, key string, st dispatch.Status) dispatch.Status {
	if !w.isCancelled(key) || !st.State.IsTerminal() {
		return st
	}
	st.State = dispatch.StateCancelled
	if st.Reason == "" || strings.HasSuffix(st.Reason, " deleted") {
		st.Reason = "cancelled"
	} else {
		st.Reason = "cancelled: " + st.Reason
	}
	return st
}

// Cancel implements dispatch.Executor: it deletes the pod (or the Job and
// its pods) with grace as the termination grace period; the kubelet sends
// SIGTERM, then SIGKILL when grace has passed.
func (e *Executor) Cancel(ctx context.Context, h dispatch.Handle, grace time.Duration) error {
	cctx, cancel := context.WithTimeout(ctx, e.cfg.CallTimeout)
	defer cancel()
	return e.timedOut(ctx, cctx, e.cancelExec(cctx, h, grace))
}

func (e *Executor) cancelExec(ctx context.Context, h dispatch.Handle, grace time.Duration) error {
	hd, c, w, err := e.resolve(h)
	if err != nil {
		return fmt.Errorf("cancel %q on eks: %w", h.ID, err)
	}
	st, err := e.Status(ctx, h)
	if err != nil {
		return fmt.Errorf("cancel %q on eks: %w", h.ID, err)
	}
	if st.State.IsTerminal() {
		return nil
	}
	secs := int64(math.Ceil(max(grace, 0).Seconds()))
	if hd.Mode == ModeJob {
		w.markCancelled("job/" + hd.Name)
		err = e.deleteJob(ctx, hd, c, w, &secs)
	} else {
		w.markCancelled("pod/" + hd.Name)
		err = e.deletePod(ctx, hd, c, &secs)
	}
	if err != nil {
		return fmt.Errorf("cancel %q on eks: %w", h.ID, err)
	}
	return nil
}

func (e *Executor) deletePod(ctx context.Context, hd HandleData, c *conn, grace *int64) error {
	opts := metav1.DeleteOptions{GracePeriodSeconds: grace}
	if hd.UID != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &hd.UID}
	}
	err := c.client.CoreV1().Pods(hd.Namespace).Delete(ctx, hd.Name, opts)
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return apiError("delete pod "+hd.Namespace+"/"+hd.Name, err)
	}
	return nil
}

// deleteJob deletes the Job (its pods are garbage-collected) and deletes
// its pods right away with grace, since the garbage collector would use
// each pod's own termination grace period.
func (e *Executor) deleteJob(ctx context.Context, hd HandleData, c *conn, w *watcher, grace *int64) error {
	bg := metav1.DeletePropagationBackground
	opts := metav1.DeleteOptions{PropagationPolicy: &bg}
	if hd.UID != "" {
		opts.Preconditions = &metav1.Preconditions{UID: &hd.UID}
	}
	err := c.client.BatchV1().Jobs(hd.Namespace).Delete(ctx, hd.Name, opts)
	if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
		return apiError("delete job "+hd.Namespace+"/"+hd.Name, err)
	}
	list, err := c.client.CoreV1().Pods(hd.Namespace).List(ctx, metav1.ListOptions{LabelSelector: LabelJobName + "=" + hd.Name})
	if err != nil {
		return apiError("list pods of job "+hd.Namespace+"/"+hd.Name, err)
	}
	for _, p := range list.Items {
		err := c.client.CoreV1().Pods(hd.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: grace})
		if err != nil && !apierrors.IsNotFound(err) {
			return apiError("delete pod "+hd.Namespace+"/"+p.Name, err)
		}
	}
	return nil
}

// retryable marks an API failure worth retrying (throttling, timeouts,
// unavailable servers).
type retryable struct{ err error }

func (r *retryable) Error() string   { return r.err.Error() }
func (r *retryable) Unwrap() error   { return r.err }
func (r *retryable) Retryable() bool { return true }

// apiError wraps a Kubernetes API error with what was attempted, unwrapping
// to the fault category; invalid objects and missing namespaces are
// permanent, throttling and server trouble retryable.
// timedOut marks err as the per-call deadline's doing when cctx (derived
// from ctx with Config.CallTimeout) ran out and ctx did not: a retryable
// error that says so.
func (e *Executor) timedOut(ctx, cctx context.Context, err error) error {
	if err == nil || ctx.Err() != nil || !errors.Is(cctx.Err(), context.DeadlineExceeded) {
		return err
	}
	return &retryable{err: fmt.Errorf("the Kubernetes API server did not answer within %s: %w", e.cfg.CallTimeout, err)}
}

func apiError(what string, err error) error {
	switch {
	case apierrors.IsInvalid(err), apierrors.IsBadRequest(err):
		return &dispatch.Permanent{Err: fmt.Errorf("%s: %w: %w", what, fault.ErrInvalid, err)}
	case apierrors.IsNotFound(err):
		return &dispatch.Permanent{Err: fmt.Errorf("%s: %w: %w", what, fault.ErrNotFound, err)}
	case apierrors.IsForbidden(err):
		// RBAC or a quota: an administrator fixes it, then a retry works.
		return fmt.Errorf("%s: %w: %w", what, fault.ErrForbidden, err)
	case apierrors.IsUnauthorized(err):
		return fmt.Errorf("%s: %w: %w", what, fault.ErrUnauthenticated, err)
	case apierrors.IsTooManyRequests(err), apierrors.IsServerTimeout(err), apierrors.IsTimeout(err),
		apierrors.IsInternalError(err), apierrors.IsServiceUnavailable(err), errors.Is(err, context.DeadlineExceeded):
		return &retryable{err: fmt.Errorf("%s: %w", what, err)}
	}
	return fmt.Errorf("%s: %w", what, err)
}
