package eks

import (
	"fmt"
	"maps"
	"slices"
	"strconv"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// ContainerName is the name of the single container of every job pod.
const ContainerName = "job"

// Modes of an EKS job.
const (
	// ModePod runs a bare pod (the default).
	ModePod = "pod"
	// ModeJob runs a batch/v1 Job with backoffLimit 0 (one pod).
	ModeJob = "job"
)

// Cleanup policies.
const (
	// CleanupDelete deletes the pod or Job once it has ended and its log was
	// read to the end (the default).
	CleanupDelete = "delete"
	// CleanupKeep leaves the ended pod or Job in place.
	CleanupKeep = "keep"
)

// specMode returns the normalised mode of spec.
func specMode(spec *jobnet.EKSSpec) (string, error) {
	switch spec.Mode {
	case "", ModePod:
		return ModePod, nil
	case ModeJob:
		return ModeJob, nil
	}
	return "", fmt.Errorf("eks.mode: %q is not pod or job: %w", spec.Mode, fault.ErrInvalid)
}

// specCleanup returns the normalised cleanup policy of spec.
func specCleanup(spec *jobnet.EKSSpec) (string, error) {
	switch spec.Cleanup {
	case "", CleanupDelete:
		return CleanupDelete, nil
	case CleanupKeep:
		return CleanupKeep, nil
	}
	return "", fmt.Errorf("eks.cleanup: %q is not delete or keep: %w", spec.Cleanup, fault.ErrInvalid)
}

// objectMeta returns the name, labels and annotations every object of req
// carries. Koyomi's own labels and annotations win over the spec's.
func objectMeta(name, namespace string, req dispatch.Request, spec *jobnet.EKSSpec) metav1.ObjectMeta {
	labels := maps.Clone(spec.Labels)
	if labels == nil {
		labels = map[string]string{}
	}
	labels[LabelManagedBy] = ManagedByValue
	labels[LabelKey] = LabelValue(req.Key)
	if req.RunID != "" {
		labels[LabelRunID] = LabelValue(req.RunID)
	}
	if req.Unit != "" {
		labels[LabelUnit] = LabelValue(req.Unit)
	}
	ann := maps.Clone(spec.Annotations)
	if ann == nil {
		ann = map[string]string{}
	}
	ann[AnnotationKey] = req.Key
	set := func(k, v string) {
		if v != "" {
			ann[k] = v
		}
	}
	set(AnnotationRunID, req.RunID)
	set(AnnotationUnit, req.Unit)
	set(AnnotationJobnet, req.Jobnet)
	set(AnnotationBusinessDate, req.BusinessDate)
	ann[AnnotationAttempt] = strconv.Itoa(req.Attempt)
	if cleanup, err := specCleanup(spec); err == nil {
		ann[AnnotationCleanup] = cleanup
	}
	return metav1.ObjectMeta{Name: name, Namespace: namespace, Labels: labels, Annotations: ann}
}

// podSpec builds the pod spec of req: one container "job", restartPolicy
// Never, the environment of req.Env in name order.
func podSpec(req dispatch.Request, spec *jobnet.EKSSpec) (corev1.PodSpec, error) {
	var ps fault.Problems
	if spec.Image == "" {
		ps.Add("eks.image", "required")
	}
	env := make([]corev1.EnvVar, 0, len(req.Env))
	for _, k := range slices.Sorted(maps.Keys(req.Env)) {
		env = append(env, corev1.EnvVar{Name: k, Value: req.Env[k]})
	}
	c := corev1.Container{
		Name:    ContainerName,
		Image:   spec.Image,
		Command: slices.Clone(spec.Command),
		Args:    slices.Clone(spec.Args),
		Env:     env,
		// The log is the job's output; kubelet keeps the last message in
		// the terminated state as a fallback reason.
		TerminationMessagePolicy: corev1.TerminationMessageFallbackToLogsOnError,
	}
	if r := spec.Resources; r != nil {
		c.Resources.Requests = quantities(&ps, "eks.resources.requests", r.Requests)
		c.Resources.Limits = quantities(&ps, "eks.resources.limits", r.Limits)
	}
	tols := make([]corev1.Toleration, 0, len(spec.Tolerations))
	for i, t := range spec.Tolerations {
		path := fmt.Sprintf("eks.tolerations[%d]", i)
		op := corev1.TolerationOperator(t.Operator)
		switch op {
		case "", corev1.TolerationOpEqual, corev1.TolerationOpExists:
		default:
			ps.Add(path+".operator", "%q is not Equal or Exists", t.Operator)
		}
		eff := corev1.TaintEffect(t.Effect)
		switch eff {
		case "", corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule, corev1.TaintEffectNoExecute:
		default:
			ps.Add(path+".effect", "%q is not NoSchedule, PreferNoSchedule or NoExecute", t.Effect)
		}
		if op == corev1.TolerationOpExists && t.Value != "" {
			ps.Add(path+".value", "must be empty with operator Exists")
		}
		tols = append(tols, corev1.Toleration{Key: t.Key, Operator: op, Value: t.Value, Effect: eff})
	}
	if len(tols) == 0 {
		tols = nil
	}
	c.Env = append(c.Env, refEnv(spec)...)
	c.EnvFrom = envFrom(spec)
	vols := volumes(&ps, spec)
	for _, m := range spec.VolumeMounts {
		c.VolumeMounts = append(c.VolumeMounts, corev1.VolumeMount{Name: m.Name, MountPath: m.MountPath, SubPath: m.SubPath, ReadOnly: m.ReadOnly})
	}
	var pull []corev1.LocalObjectReference
	for _, name := range spec.ImagePullSecrets {
		pull = append(pull, corev1.LocalObjectReference{Name: name})
	}
	if err := ps.Err(); err != nil {
		return corev1.PodSpec{}, err
	}
	return corev1.PodSpec{
		Containers:         []corev1.Container{c},
		RestartPolicy:      corev1.RestartPolicyNever,
		ServiceAccountName: spec.ServiceAccount,
		NodeSelector:       maps.Clone(spec.NodeSelector),
		Tolerations:        tols,
		Volumes:            vols,
		ImagePullSecrets:   pull,
	}, nil
}

// refEnv returns the variables the spec takes from Secrets and ConfigMaps
// by reference (valueFrom): the kubelet reads the values, Koyomi never
// sees them.
func refEnv(spec *jobnet.EKSSpec) []corev1.EnvVar {
	var out []corev1.EnvVar
	for _, e := range spec.Env {
		v := corev1.EnvVar{Name: e.Name, ValueFrom: &corev1.EnvVarSource{}}
		switch {
		case e.SecretKeyRef != nil:
			r := e.SecretKeyRef
			v.ValueFrom.SecretKeyRef = &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: r.Name}, Key: r.Key, Optional: optional(r.Optional)}
		case e.ConfigMapKeyRef != nil:
			r := e.ConfigMapKeyRef
			v.ValueFrom.ConfigMapKeyRef = &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: r.Name}, Key: r.Key, Optional: optional(r.Optional)}
		default:
			continue
		}
		out = append(out, v)
	}
	return out
}

func envFrom(spec *jobnet.EKSSpec) []corev1.EnvFromSource {
	var out []corev1.EnvFromSource
	for _, e := range spec.EnvFrom {
		src := corev1.EnvFromSource{Prefix: e.Prefix}
		switch {
		case e.SecretRef != nil:
			src.SecretRef = &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: e.SecretRef.Name}, Optional: optional(e.SecretRef.Optional)}
		case e.ConfigMapRef != nil:
			src.ConfigMapRef = &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: e.ConfigMapRef.Name}, Optional: optional(e.ConfigMapRef.Optional)}
		default:
			continue
		}
		out = append(out, src)
	}
	return out
}

func volumes(ps *fault.Problems, spec *jobnet.EKSSpec) []corev1.Volume {
	var out []corev1.Volume
	items := func(in []jobnet.KubeKeyToPath) []corev1.KeyToPath {
		var out []corev1.KeyToPath
		for _, it := range in {
			out = append(out, corev1.KeyToPath{Key: it.Key, Path: it.Path})
		}
		return out
	}
	for i, v := range spec.Volumes {
		vol := corev1.Volume{Name: v.Name}
		switch {
		case v.Secret != nil:
			vol.Secret = &corev1.SecretVolumeSource{SecretName: v.Secret.SecretName, Items: items(v.Secret.Items), DefaultMode: v.Secret.DefaultMode, Optional: optional(v.Secret.Optional)}
		case v.ConfigMap != nil:
			vol.ConfigMap = &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: v.ConfigMap.Name},
				Items: items(v.ConfigMap.Items), DefaultMode: v.ConfigMap.DefaultMode, Optional: optional(v.ConfigMap.Optional)}
		case v.PersistentVolumeClaim != nil:
			vol.PersistentVolumeClaim = &corev1.PersistentVolumeClaimVolumeSource{ClaimName: v.PersistentVolumeClaim.ClaimName, ReadOnly: v.PersistentVolumeClaim.ReadOnly}
		case v.EmptyDir != nil:
			vol.EmptyDir = &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMedium(v.EmptyDir.Medium)}
			if v.EmptyDir.SizeLimit != "" {
				q, err := resource.ParseQuantity(v.EmptyDir.SizeLimit)
				if err != nil {
					ps.Add(fmt.Sprintf("eks.volumes[%d].empty_dir.size_limit", i), "%q is not a quantity: %v", v.EmptyDir.SizeLimit, err)
					continue
				}
				vol.EmptyDir.SizeLimit = &q
			}
		default:
			ps.Add(fmt.Sprintf("eks.volumes[%d]", i), "no source: set secret, config_map, persistent_volume_claim or empty_dir")
			continue
		}
		out = append(out, vol)
	}
	return out
}

// optional is a Kubernetes optional flag: nil when false.
func optional(b bool) *bool {
	if !b {
		return nil
	}
	return &b
}

func quantities(ps *fault.Problems, path string, in map[string]string) corev1.ResourceList {
	if len(in) == 0 {
		return nil
	}
	out := make(corev1.ResourceList, len(in))
	for _, k := range slices.Sorted(maps.Keys(in)) {
		q, err := resource.ParseQuantity(in[k])
		if err != nil {
			ps.Add(path+"."+k, "%q is not a quantity: %v", in[k], err)
			continue
		}
		out[corev1.ResourceName(k)] = q
	}
	return out
}

// BuildPod returns the pod that runs req in pod mode.
func BuildPod(name, namespace string, req dispatch.Request) (*corev1.Pod, error) {
	spec := req.Job.EKS
	if spec == nil {
		return nil, fmt.Errorf("eks: job has no eks spec: %w", fault.ErrInvalid)
	}
	ps, err := podSpec(req, spec)
	if err != nil {
		return nil, err
	}
	return &corev1.Pod{ObjectMeta: objectMeta(name, namespace, req, spec), Spec: ps}, nil
}

// BuildJob returns the batch/v1 Job that runs req in job mode: one
// completion, no retries (Koyomi's retry policy decides about re-runs), the
// pod template carrying the same labels and annotations as the Job.
func BuildJob(name, namespace string, req dispatch.Request) (*batchv1.Job, error) {
	spec := req.Job.EKS
	if spec == nil {
		return nil, fmt.Errorf("eks: job has no eks spec: %w", fault.ErrInvalid)
	}
	ps, err := podSpec(req, spec)
	if err != nil {
		return nil, err
	}
	meta := objectMeta(name, namespace, req, spec)
	tmpl := metav1.ObjectMeta{Labels: maps.Clone(meta.Labels), Annotations: maps.Clone(meta.Annotations)}
	one := int32(1)
	zero := int32(0)
	return &batchv1.Job{
		ObjectMeta: meta,
		Spec: batchv1.JobSpec{
			Parallelism:  &one,
			Completions:  &one,
			BackoffLimit: &zero,
			Template:     corev1.PodTemplateSpec{ObjectMeta: tmpl, Spec: ps},
		},
	}, nil
}
