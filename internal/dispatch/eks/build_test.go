package eks

import (
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

func request(spec jobnet.EKSSpec) dispatch.Request {
	return dispatch.Request{
		Key: "g1-load-extract-1", RunID: "g1", Jobnet: "sales/nightly", Unit: "load/extract", Attempt: 1,
		BusinessDate: "2026-11-24",
		Job:          jobnet.Job{Type: jobnet.JobEKS, EKS: &spec},
		Env:          map[string]string{"KOYOMI_BUSINESS_DATE": "2026-11-24", "B": "2", "A": "1"},
	}
}

func TestBuildPod(t *testing.T) {
	spec := jobnet.EKSSpec{
		Image: "busybox:1.37", Command: []string{"sh", "-c"}, Args: []string{"echo hi"},
		Resources:      &jobnet.Resources{Requests: map[string]string{"cpu": "500m", "memory": "1Gi"}, Limits: map[string]string{"memory": "2Gi"}},
		ServiceAccount: "batch", NodeSelector: map[string]string{"pool": "batch"},
		Tolerations: []jobnet.Toleration{{Key: "dedicated", Operator: "Equal", Value: "batch", Effect: "NoSchedule"}},
		Labels:      map[string]string{"team": "sales", LabelManagedBy: "someone-else"},
		Annotations: map[string]string{"cluster-autoscaler.kubernetes.io/safe-to-evict": "false"},
	}
	pod, err := BuildPod("koyomi-g1-load-extract-1", "batch", request(spec))
	require.NoError(t, err)
	require.Equal(t, "koyomi-g1-load-extract-1", pod.Name)
	require.Equal(t, "batch", pod.Namespace)
	require.Equal(t, map[string]string{
		"team": "sales", LabelManagedBy: ManagedByValue, LabelKey: "g1-load-extract-1",
		LabelRunID: "g1", LabelUnit: LabelValue("load/extract"),
	}, pod.Labels)
	require.Equal(t, "load/extract", pod.Annotations[AnnotationUnit])
	require.Equal(t, "sales/nightly", pod.Annotations[AnnotationJobnet])
	require.Equal(t, "1", pod.Annotations[AnnotationAttempt])
	require.Equal(t, "false", pod.Annotations["cluster-autoscaler.kubernetes.io/safe-to-evict"])
	require.Equal(t, corev1.RestartPolicyNever, pod.Spec.RestartPolicy)
	require.Equal(t, "batch", pod.Spec.ServiceAccountName)
	require.Equal(t, map[string]string{"pool": "batch"}, pod.Spec.NodeSelector)
	require.Equal(t, []corev1.Toleration{{Key: "dedicated", Operator: corev1.TolerationOpEqual, Value: "batch", Effect: corev1.TaintEffectNoSchedule}}, pod.Spec.Tolerations)
	c := pod.Spec.Containers[0]
	require.Equal(t, ContainerName, c.Name)
	require.Equal(t, []string{"sh", "-c"}, c.Command)
	require.Equal(t, []string{"echo hi"}, c.Args)
	require.Equal(t, []corev1.EnvVar{{Name: "A", Value: "1"}, {Name: "B", Value: "2"}, {Name: "KOYOMI_BUSINESS_DATE", Value: "2026-11-24"}}, c.Env)
	require.True(t, c.Resources.Requests.Cpu().Equal(resource.MustParse("500m")))
	require.True(t, c.Resources.Limits.Memory().Equal(resource.MustParse("2Gi")))

	job, err := BuildJob("koyomi-g1-load-extract-1", "batch", request(spec))
	require.NoError(t, err)
	require.Equal(t, int32(0), *job.Spec.BackoffLimit)
	require.Equal(t, pod.Labels, job.Spec.Template.Labels)
	require.Equal(t, pod.Spec, job.Spec.Template.Spec)
}

func TestBuildPodProblems(t *testing.T) {
	spec := jobnet.EKSSpec{
		Resources:   &jobnet.Resources{Requests: map[string]string{"cpu": "lots"}},
		Tolerations: []jobnet.Toleration{{Operator: "Maybe", Effect: "Never"}, {Operator: "Exists", Value: "x"}},
	}
	_, err := BuildPod("koyomi-x", "ns", request(spec))
	require.True(t, errors.Is(err, fault.ErrInvalid))
	var ps fault.Problems
	require.True(t, errors.As(err, &ps))
	paths := []string{}
	for _, p := range ps {
		paths = append(paths, p.Path)
	}
	require.ElementsMatch(t, []string{"eks.image", "eks.resources.requests.cpu", "eks.tolerations[0].operator", "eks.tolerations[0].effect", "eks.tolerations[1].value"}, paths)
}

func TestBuildPodReferencesSecretsNeverValues(t *testing.T) {
	mode := int32(0o400)
	spec := jobnet.EKSSpec{
		Image: "busybox:1.37", ServiceAccount: "sales-extract",
		Env: []jobnet.KubeEnvVar{
			{Name: "DB_PASSWORD", SecretKeyRef: &jobnet.KubeKeyRef{Name: "sales-db", Key: "password"}},
			{Name: "REGION", ConfigMapKeyRef: &jobnet.KubeKeyRef{Name: "sales-settings", Key: "region", Optional: true}},
		},
		EnvFrom: []jobnet.KubeEnvFrom{{Prefix: "API_", SecretRef: &jobnet.KubeObjectRef{Name: "sales-api"}}, {ConfigMapRef: &jobnet.KubeObjectRef{Name: "sales-settings"}}},
		Volumes: []jobnet.KubeVolume{
			{Name: "tls", Secret: &jobnet.KubeSecretVolume{SecretName: "sales-tls", DefaultMode: &mode, Items: []jobnet.KubeKeyToPath{{Key: "tls.crt", Path: "cert.pem"}}}},
			{Name: "settings", ConfigMap: &jobnet.KubeConfigMapVolume{Name: "sales-settings"}},
			{Name: "data", PersistentVolumeClaim: &jobnet.KubeClaimVolume{ClaimName: "sales-data", ReadOnly: true}},
			{Name: "scratch", EmptyDir: &jobnet.KubeEmptyDirVolume{Medium: "Memory", SizeLimit: "1Gi"}},
		},
		VolumeMounts:     []jobnet.KubeVolumeMount{{Name: "tls", MountPath: "/etc/tls", ReadOnly: true}, {Name: "scratch", MountPath: "/scratch", SubPath: "run"}},
		ImagePullSecrets: []string{"ecr-pull"},
	}
	pod, err := BuildPod("koyomi-x", "batch", request(spec))
	require.NoError(t, err)
	c := pod.Spec.Containers[0]
	yes := true
	require.Equal(t, []corev1.EnvVar{
		{Name: "A", Value: "1"}, {Name: "B", Value: "2"}, {Name: "KOYOMI_BUSINESS_DATE", Value: "2026-11-24"},
		{Name: "DB_PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sales-db"}, Key: "password"}}},
		{Name: "REGION", ValueFrom: &corev1.EnvVarSource{ConfigMapKeyRef: &corev1.ConfigMapKeySelector{LocalObjectReference: corev1.LocalObjectReference{Name: "sales-settings"}, Key: "region", Optional: &yes}}},
	}, c.Env)
	require.Equal(t, []corev1.EnvFromSource{
		{Prefix: "API_", SecretRef: &corev1.SecretEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "sales-api"}}},
		{ConfigMapRef: &corev1.ConfigMapEnvSource{LocalObjectReference: corev1.LocalObjectReference{Name: "sales-settings"}}},
	}, c.EnvFrom)
	size := resource.MustParse("1Gi")
	require.Equal(t, []corev1.Volume{
		{Name: "tls", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "sales-tls", DefaultMode: &mode, Items: []corev1.KeyToPath{{Key: "tls.crt", Path: "cert.pem"}}}}},
		{Name: "settings", VolumeSource: corev1.VolumeSource{ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: "sales-settings"}}}},
		{Name: "data", VolumeSource: corev1.VolumeSource{PersistentVolumeClaim: &corev1.PersistentVolumeClaimVolumeSource{ClaimName: "sales-data", ReadOnly: true}}},
		{Name: "scratch", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{Medium: corev1.StorageMediumMemory, SizeLimit: &size}}},
	}, pod.Spec.Volumes)
	require.Equal(t, []corev1.VolumeMount{{Name: "tls", MountPath: "/etc/tls", ReadOnly: true}, {Name: "scratch", MountPath: "/scratch", SubPath: "run"}}, c.VolumeMounts)
	require.Equal(t, []corev1.LocalObjectReference{{Name: "ecr-pull"}}, pod.Spec.ImagePullSecrets)
	require.Equal(t, "sales-extract", pod.Spec.ServiceAccountName)
}
