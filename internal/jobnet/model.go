package jobnet

import (
	"cmp"
	"fmt"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
)

// Folder groups jobnets (JP1 "job group"). It holds a default calendar and is
// the unit of permissions.
type Folder struct {
	Name        string `json:"name" yaml:"name"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Calendar is the default operation calendar of the folder's jobnets.
	Calendar string `json:"calendar,omitempty" yaml:"calendar,omitempty"`
}

// Pool is a named resource pool with a number of slots (e.g. ecs-prod: 20).
type Pool struct {
	Name        string `json:"name" yaml:"name"`
	Slots       int    `json:"slots" yaml:"slots"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
}

// UnitKind says what a unit does.
type UnitKind string

const (
	// UnitJob runs something through an executor.
	UnitJob UnitKind = "job"
	// UnitJobnet is a nested jobnet, defined inline.
	UnitJobnet UnitKind = "jobnet"
	// UnitJudgment branches on a condition through true/false edges.
	UnitJudgment UnitKind = "judgment"
	// UnitWait waits for a unit of another jobnet (same business date by default).
	UnitWait UnitKind = "wait"
)

// EdgeKind says when an edge fires.
type EdgeKind string

const (
	// EdgeNormal fires after the predecessor ended normally or with warning.
	EdgeNormal EdgeKind = "normal"
	// EdgeRecovery fires only after the predecessor ended abnormally.
	EdgeRecovery EdgeKind = "recovery"
	// EdgeTrue fires when a judgment's condition held.
	EdgeTrue EdgeKind = "true"
	// EdgeFalse fires when a judgment's condition did not hold.
	EdgeFalse EdgeKind = "false"
)

// Edge connects two units of the same net. A unit waits for all its incoming edges.
type Edge struct {
	From string   `json:"from" yaml:"from"`
	To   string   `json:"to" yaml:"to"`
	Kind EdgeKind `json:"kind,omitempty" yaml:"kind,omitempty"` // empty means normal
}

// EffectiveKind returns the edge kind with the default applied.
func (e Edge) EffectiveKind() EdgeKind {
	if e.Kind == "" {
		return EdgeNormal
	}
	return e.Kind
}

// Net is a DAG of units: the body of a root jobnet and of a nested jobnet unit.
type Net struct {
	Units []Unit `json:"units" yaml:"units"`
	Edges []Edge `json:"edges,omitempty" yaml:"edges,omitempty"`
}

// Position places a unit on the editor canvas.
type Position struct {
	X int `json:"x" yaml:"x"`
	Y int `json:"y" yaml:"y"`
}

// Unit is one node of a net.
type Unit struct {
	Name string `json:"name" yaml:"name"`
	// Title is the name people read (any characters, e.g. 給与計算); Name
	// stays the identifier used in paths, URLs and references.
	Title       string    `json:"title,omitempty" yaml:"title,omitempty"`
	Kind        UnitKind  `json:"kind" yaml:"kind"`
	Description string    `json:"description,omitempty" yaml:"description,omitempty"`
	Position    *Position `json:"position,omitempty" yaml:"position,omitempty"`
	// Hold starts the unit held in every generation until an operator releases it.
	Hold bool `json:"hold,omitempty" yaml:"hold,omitempty"`

	Job      *Job      `json:"job,omitempty" yaml:"job,omitempty"`
	Net      *Net      `json:"net,omitempty" yaml:"net,omitempty"`
	Judgment *Judgment `json:"judgment,omitempty" yaml:"judgment,omitempty"`
	Wait     *Wait     `json:"wait,omitempty" yaml:"wait,omitempty"`
	// Delay monitors a job or nested jobnet unit.
	Delay *DelayMonitor `json:"delay,omitempty" yaml:"delay,omitempty"`
	// Deadline is when a job or nested jobnet unit must have ended: the
	// forecast warns when its predicted end passes it.
	Deadline *Due `json:"deadline,omitempty" yaml:"deadline,omitempty"`
}

// JobType names the executor that runs a job.
type JobType string

const (
	// JobLocal runs a command on the Koyomi host.
	JobLocal JobType = "local"
	// JobECS runs an Amazon ECS task.
	JobECS JobType = "ecs"
	// JobEKS runs a Kubernetes pod (or batch/v1 Job) on EKS.
	JobEKS JobType = "eks"
	// JobNoop ends at once with exit code 0; for benchmarks and dry runs.
	JobNoop JobType = "noop"
)

// Job is a unit that runs something.
type Job struct {
	Type  JobType    `json:"type" yaml:"type"`
	Local *LocalSpec `json:"local,omitempty" yaml:"local,omitempty"`
	ECS   *ECSSpec   `json:"ecs,omitempty" yaml:"ecs,omitempty"`
	EKS   *EKSSpec   `json:"eks,omitempty" yaml:"eks,omitempty"`
	// Env adds environment variables; values may use ${...} macros.
	Env     map[string]string `json:"env,omitempty" yaml:"env,omitempty"`
	End     EndJudgment       `json:"end,omitempty" yaml:"end,omitempty"`
	Retry   *Retry            `json:"retry,omitempty" yaml:"retry,omitempty"`
	Timeout *Timeout          `json:"timeout,omitempty" yaml:"timeout,omitempty"`
	// Pool names the resource pool whose slot the job takes while it runs.
	Pool string `json:"pool,omitempty" yaml:"pool,omitempty"`
}

// LocalSpec runs a command on the Koyomi host through /bin/sh -c.
type LocalSpec struct {
	Command string `json:"command" yaml:"command"`
	WorkDir string `json:"workdir,omitempty" yaml:"workdir,omitempty"`
	// KeepChildren leaves the processes the command started in its process
	// group running when it ends; by default they are sent SIGTERM, then
	// SIGKILL after the kill grace.
	KeepChildren bool `json:"keep_children,omitempty" yaml:"keep_children,omitempty"`
}

// CapacityProvider is one entry of an ECS capacity provider strategy.
type CapacityProvider struct {
	Provider string `json:"provider" yaml:"provider"`
	Weight   int    `json:"weight,omitempty" yaml:"weight,omitempty"`
	Base     int    `json:"base,omitempty" yaml:"base,omitempty"`
}

// ECSSpec runs a task with RunTask.
type ECSSpec struct {
	// Connection names the AWS connection (account, region, role).
	Connection string `json:"connection,omitempty" yaml:"connection,omitempty"`
	Cluster    string `json:"cluster" yaml:"cluster"`
	// TaskDefinition is family or family:revision.
	TaskDefinition    string             `json:"task_definition" yaml:"task_definition"`
	LaunchType        string             `json:"launch_type,omitempty" yaml:"launch_type,omitempty"` // FARGATE, EC2, EXTERNAL
	CapacityProviders []CapacityProvider `json:"capacity_providers,omitempty" yaml:"capacity_providers,omitempty"`
	PlatformVersion   string             `json:"platform_version,omitempty" yaml:"platform_version,omitempty"`
	Subnets           []string           `json:"subnets,omitempty" yaml:"subnets,omitempty"`
	SecurityGroups    []string           `json:"security_groups,omitempty" yaml:"security_groups,omitempty"`
	AssignPublicIP    bool               `json:"assign_public_ip,omitempty" yaml:"assign_public_ip,omitempty"`
	// Container names the container the overrides apply to (default: the
	// task definition's first essential container).
	Container string   `json:"container,omitempty" yaml:"container,omitempty"`
	Command   []string `json:"command,omitempty" yaml:"command,omitempty"`
	// CPU (units) and Memory (MiB) override the container's own.
	CPU    int `json:"cpu,omitempty" yaml:"cpu,omitempty"`
	Memory int `json:"memory,omitempty" yaml:"memory,omitempty"`
	// TaskCPU and TaskMemory override the task's size, e.g. "1024" or
	// "1 vCPU" and "2048" or "2 GB"; on Fargate the pair must be one of
	// its task sizes.
	TaskCPU    string `json:"task_cpu,omitempty" yaml:"task_cpu,omitempty"`
	TaskMemory string `json:"task_memory,omitempty" yaml:"task_memory,omitempty"`
	// Secrets are environment variables whose values ECS reads from
	// Secrets Manager or SSM Parameter Store when the container starts:
	// name → secret or parameter ARN (valueFrom). Koyomi never sees the
	// values; it runs the task from a copy of the task definition with
	// these secrets added (registered once per set).
	Secrets map[string]string `json:"secrets,omitempty" yaml:"secrets,omitempty"`
	// CapacityRetries is how often a start that finds no capacity (RunTask
	// failures RESOURCE:*, Fargate "Capacity is unavailable", a full
	// quota, throttling) is tried again, CapacityRetryInterval apart,
	// before the job fails to start (defaults 20 and 30s).
	CapacityRetries       int               `json:"capacity_retries,omitempty" yaml:"capacity_retries,omitempty"`
	CapacityRetryInterval Duration          `json:"capacity_retry_interval,omitempty" yaml:"capacity_retry_interval,omitempty"`
	Tags                  map[string]string `json:"tags,omitempty" yaml:"tags,omitempty"`
}

// Toleration mirrors a Kubernetes pod toleration.
type Toleration struct {
	Key      string `json:"key,omitempty" yaml:"key,omitempty"`
	Operator string `json:"operator,omitempty" yaml:"operator,omitempty"`
	Value    string `json:"value,omitempty" yaml:"value,omitempty"`
	Effect   string `json:"effect,omitempty" yaml:"effect,omitempty"`
}

// Resources are Kubernetes quantities, e.g. {"cpu": "500m", "memory": "1Gi"}.
type Resources struct {
	Requests map[string]string `json:"requests,omitempty" yaml:"requests,omitempty"`
	Limits   map[string]string `json:"limits,omitempty" yaml:"limits,omitempty"`
}

// EKSSpec runs a pod, or a batch/v1 Job when Mode is "job".
type EKSSpec struct {
	// Connection names the Kubernetes connection (kubeconfig, in-cluster, EKS).
	Connection     string            `json:"connection,omitempty" yaml:"connection,omitempty"`
	Namespace      string            `json:"namespace,omitempty" yaml:"namespace,omitempty"`
	Mode           string            `json:"mode,omitempty" yaml:"mode,omitempty"` // pod (default) or job
	Image          string            `json:"image" yaml:"image"`
	Command        []string          `json:"command,omitempty" yaml:"command,omitempty"`
	Args           []string          `json:"args,omitempty" yaml:"args,omitempty"`
	Resources      *Resources        `json:"resources,omitempty" yaml:"resources,omitempty"`
	ServiceAccount string            `json:"service_account,omitempty" yaml:"service_account,omitempty"`
	NodeSelector   map[string]string `json:"node_selector,omitempty" yaml:"node_selector,omitempty"`
	Tolerations    []Toleration      `json:"tolerations,omitempty" yaml:"tolerations,omitempty"`
	Labels         map[string]string `json:"labels,omitempty" yaml:"labels,omitempty"`
	// Annotations are added to the pod (and the Job), e.g.
	// cluster-autoscaler.kubernetes.io/safe-to-evict: "false".
	Annotations map[string]string `json:"annotations,omitempty" yaml:"annotations,omitempty"`
	// Cleanup is "delete" (default: delete the ended pod once Koyomi has kept its log and the cleanup period passed) or "keep".
	Cleanup string `json:"cleanup,omitempty" yaml:"cleanup,omitempty"`
	// Env sets variables from Kubernetes Secrets and ConfigMaps by reference (secretKeyRef, configMapKeyRef): the value never passes through Koyomi. Plain values go in the job's env.
	Env []KubeEnvVar `json:"env,omitempty" yaml:"env,omitempty"`
	// EnvFrom sets a variable for every key of a Secret or ConfigMap (envFrom), optionally prefixed.
	EnvFrom []KubeEnvFrom `json:"env_from,omitempty" yaml:"env_from,omitempty"`
	// Volumes of the pod: secret, config_map, persistent_volume_claim or empty_dir, one each.
	Volumes []KubeVolume `json:"volumes,omitempty" yaml:"volumes,omitempty"`
	// VolumeMounts mount the volumes into the job container.
	VolumeMounts []KubeVolumeMount `json:"volume_mounts,omitempty" yaml:"volume_mounts,omitempty"`
	// ImagePullSecrets names the Secrets of type kubernetes.io/dockerconfigjson used to pull the image.
	ImagePullSecrets []string `json:"image_pull_secrets,omitempty" yaml:"image_pull_secrets,omitempty"`
}

// KubeEnvVar is one variable whose value Kubernetes reads from a Secret or a ConfigMap; exactly one of secret_key_ref and config_map_key_ref is set.
type KubeEnvVar struct {
	// Name of the variable.
	Name string `json:"name" yaml:"name"`
	// SecretKeyRef takes the value from a key of a Secret.
	SecretKeyRef *KubeKeyRef `json:"secret_key_ref,omitempty" yaml:"secret_key_ref,omitempty"`
	// ConfigMapKeyRef takes the value from a key of a ConfigMap.
	ConfigMapKeyRef *KubeKeyRef `json:"config_map_key_ref,omitempty" yaml:"config_map_key_ref,omitempty"`
}

// KubeKeyRef names a key of a Secret or ConfigMap in the job's namespace.
type KubeKeyRef struct {
	// Name of the Secret or ConfigMap.
	Name string `json:"name" yaml:"name"`
	// Key within it.
	Key string `json:"key" yaml:"key"`
	// Optional lets the pod start when the object or key is missing (the variable is then unset).
	Optional bool `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// KubeEnvFrom sets variables from every key of a Secret or a ConfigMap; exactly one of secret_ref and config_map_ref is set.
type KubeEnvFrom struct {
	// Prefix is put before every variable name.
	Prefix string `json:"prefix,omitempty" yaml:"prefix,omitempty"`
	// SecretRef names the Secret.
	SecretRef *KubeObjectRef `json:"secret_ref,omitempty" yaml:"secret_ref,omitempty"`
	// ConfigMapRef names the ConfigMap.
	ConfigMapRef *KubeObjectRef `json:"config_map_ref,omitempty" yaml:"config_map_ref,omitempty"`
}

// KubeObjectRef names a Secret or ConfigMap in the job's namespace.
type KubeObjectRef struct {
	// Name of the object.
	Name string `json:"name" yaml:"name"`
	// Optional lets the pod start when the object is missing.
	Optional bool `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// KubeVolume is a volume of the pod; exactly one source is set.
type KubeVolume struct {
	// Name of the volume (a DNS label), referenced by volume_mounts.
	Name string `json:"name" yaml:"name"`
	// Secret mounts the keys of a Secret as files.
	Secret *KubeSecretVolume `json:"secret,omitempty" yaml:"secret,omitempty"`
	// ConfigMap mounts the keys of a ConfigMap as files.
	ConfigMap *KubeConfigMapVolume `json:"config_map,omitempty" yaml:"config_map,omitempty"`
	// PersistentVolumeClaim mounts an existing claim.
	PersistentVolumeClaim *KubeClaimVolume `json:"persistent_volume_claim,omitempty" yaml:"persistent_volume_claim,omitempty"`
	// EmptyDir is scratch space that lives as long as the pod.
	EmptyDir *KubeEmptyDirVolume `json:"empty_dir,omitempty" yaml:"empty_dir,omitempty"`
}

// KubeSecretVolume is a secret volume.
type KubeSecretVolume struct {
	// SecretName names the Secret.
	SecretName string `json:"secret_name" yaml:"secret_name"`
	// Items selects keys and their file paths (all keys, named after themselves, when empty).
	Items []KubeKeyToPath `json:"items,omitempty" yaml:"items,omitempty"`
	// DefaultMode is the files' permission bits, 0 to 0777 (e.g. 256 = 0400; Kubernetes' 0644 when unset).
	DefaultMode *int32 `json:"default_mode,omitempty" yaml:"default_mode,omitempty"`
	// Optional lets the pod start when the Secret is missing.
	Optional bool `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// KubeConfigMapVolume is a configMap volume.
type KubeConfigMapVolume struct {
	// Name of the ConfigMap.
	Name string `json:"name" yaml:"name"`
	// Items selects keys and their file paths (all keys when empty).
	Items []KubeKeyToPath `json:"items,omitempty" yaml:"items,omitempty"`
	// DefaultMode is the files' permission bits, 0 to 0777.
	DefaultMode *int32 `json:"default_mode,omitempty" yaml:"default_mode,omitempty"`
	// Optional lets the pod start when the ConfigMap is missing.
	Optional bool `json:"optional,omitempty" yaml:"optional,omitempty"`
}

// KubeKeyToPath maps a key to a relative file path in the volume.
type KubeKeyToPath struct {
	// Key in the Secret or ConfigMap.
	Key string `json:"key" yaml:"key"`
	// Path of the file, relative, without "..".
	Path string `json:"path" yaml:"path"`
}

// KubeClaimVolume mounts a PersistentVolumeClaim of the job's namespace.
type KubeClaimVolume struct {
	// ClaimName names the claim.
	ClaimName string `json:"claim_name" yaml:"claim_name"`
	// ReadOnly mounts it read-only.
	ReadOnly bool `json:"read_only,omitempty" yaml:"read_only,omitempty"`
}

// KubeEmptyDirVolume is an emptyDir volume.
type KubeEmptyDirVolume struct {
	// Medium is "" (the node's disk) or "Memory" (tmpfs).
	Medium string `json:"medium,omitempty" yaml:"medium,omitempty"`
	// SizeLimit caps it, a quantity such as 1Gi.
	SizeLimit string `json:"size_limit,omitempty" yaml:"size_limit,omitempty"`
}

// KubeVolumeMount mounts a volume into the job container.
type KubeVolumeMount struct {
	// Name of the volume (one of volumes).
	Name string `json:"name" yaml:"name"`
	// MountPath is the absolute path in the container.
	MountPath string `json:"mount_path" yaml:"mount_path"`
	// SubPath mounts one path inside the volume instead of its root.
	SubPath string `json:"sub_path,omitempty" yaml:"sub_path,omitempty"`
	// ReadOnly mounts it read-only.
	ReadOnly bool `json:"read_only,omitempty" yaml:"read_only,omitempty"`
}

// EndMode selects how a job's exit code maps to its end state.
type EndMode string

const (
	// EndByThresholds: exit ≤ warning threshold → normal; ≤ abnormal
	// threshold → warning; greater → abnormal.
	EndByThresholds EndMode = "thresholds"
	// EndAlwaysNormal: any exit code ends normally.
	EndAlwaysNormal EndMode = "always_normal"
)

// EndJudgment maps a job's exit code to its end state. The zero value is
// thresholds 0/0: any non-zero exit is abnormal.
type EndJudgment struct {
	Mode              EndMode `json:"mode,omitempty" yaml:"mode,omitempty"`
	WarningThreshold  int     `json:"warning_threshold,omitempty" yaml:"warning_threshold,omitempty"`
	AbnormalThreshold int     `json:"abnormal_threshold,omitempty" yaml:"abnormal_threshold,omitempty"`
}

// Outcome names a job result that a retry policy can react to.
type Outcome string

const (
	// OutcomeAbnormal: the job ended abnormally by its end judgment.
	OutcomeAbnormal Outcome = "abnormal"
	// OutcomeFailedToStart: the executor could not start it.
	OutcomeFailedToStart Outcome = "failed_to_start"
	// OutcomeUnknown: the executor lost it.
	OutcomeUnknown Outcome = "unknown"
	// OutcomeTimeout: it was killed by its timeout.
	OutcomeTimeout Outcome = "timeout"
)

// Retry re-runs a job after the listed outcomes.
type Retry struct {
	Count    int       `json:"count" yaml:"count"`
	Interval Duration  `json:"interval,omitempty" yaml:"interval,omitempty"`
	On       []Outcome `json:"on,omitempty" yaml:"on,omitempty"` // empty: abnormal and failed_to_start
}

// Timeout kills a job that runs longer than After and ends it as EndAs
// ("abnormal" by default, or "warning" / "normal").
type Timeout struct {
	After Duration `json:"after" yaml:"after"`
	EndAs string   `json:"end_as,omitempty" yaml:"end_as,omitempty"`
}

// Deadline is one delay threshold: an absolute business-day time (At,
// 00:00-47:59), or a duration after the scheduled start (After).
type Deadline struct {
	At    *calendar.ClockTime `json:"at,omitempty" yaml:"at,omitempty"`
	After Duration            `json:"after,omitempty" yaml:"after,omitempty"`
}

// DelayMonitor raises the start-delayed and end-delayed flags. A delay raises
// a flag and an alert; the work continues.
type DelayMonitor struct {
	Start *Deadline `json:"start,omitempty" yaml:"start,omitempty"`
	End   *Deadline `json:"end,omitempty" yaml:"end,omitempty"`
	// MaxDuration raises end delay when a run takes longer than this.
	MaxDuration Duration `json:"max_duration,omitempty" yaml:"max_duration,omitempty"`
}

// JudgmentKind selects what a judgment unit tests.
type JudgmentKind string

const (
	// JudgeExitCode compares the exit code of the judgment's predecessor job.
	JudgeExitCode JudgmentKind = "exit_code"
	// JudgeFileExists tests whether a path exists on the Koyomi host.
	JudgeFileExists JudgmentKind = "file_exists"
	// JudgeVariable compares a generation variable (parameter) with Value.
	JudgeVariable JudgmentKind = "variable"
)

// Judgment is a condition; its unit fires its true or false edges.
type Judgment struct {
	Kind     JudgmentKind `json:"kind" yaml:"kind"`
	Op       string       `json:"op,omitempty" yaml:"op,omitempty"` // eq ne lt le gt ge (exit_code, variable)
	Value    string       `json:"value,omitempty" yaml:"value,omitempty"`
	Path     string       `json:"path,omitempty" yaml:"path,omitempty"`         // file_exists; macros expand
	Variable string       `json:"variable,omitempty" yaml:"variable,omitempty"` // variable
}

// Wait waits for a unit of another root jobnet to end (normally or with
// warning) in the generation of the same business date.
type Wait struct {
	Jobnet string `json:"jobnet" yaml:"jobnet"` // folder/name or name in the same folder
	Unit   string `json:"unit,omitempty" yaml:"unit,omitempty"`
	// Limit ends the wait abnormally when the other unit has not ended in time.
	Limit Duration `json:"limit,omitempty" yaml:"limit,omitempty"`
}

// Overlap says what happens when a generation is due while the previous
// generation of the same jobnet still runs.
type Overlap string

const (
	// OverlapConcurrent runs both.
	OverlapConcurrent Overlap = "concurrent"
	// OverlapWait starts the new one when the previous one has ended.
	OverlapWait Overlap = "wait"
	// OverlapSkip ends the new one as skipped.
	OverlapSkip Overlap = "skip"
)

// CatchUp says what happens to generations missed while Koyomi was down.
type CatchUp string

const (
	// CatchUpAll runs every missed generation within the window.
	CatchUpAll CatchUp = "all"
	// CatchUpLatest runs only the latest missed generation.
	CatchUpLatest CatchUp = "latest"
	// CatchUpSkip runs none of them (they end as skipped).
	CatchUpSkip CatchUp = "skip"
)

// Jobnet is a root jobnet: a net plus its schedule and policies.
type Jobnet struct {
	Name string `json:"name" yaml:"name"`
	// Title is the name people read (any characters, e.g. 給与計算); Name
	// stays the identifier used in paths, URLs and references.
	Title       string `json:"title,omitempty" yaml:"title,omitempty"`
	Folder      string `json:"folder" yaml:"folder"`
	Description string `json:"description,omitempty" yaml:"description,omitempty"`
	// Calendar names the operation calendar; empty means the folder's.
	Calendar string `json:"calendar,omitempty" yaml:"calendar,omitempty"`
	Net      `yaml:",inline"`
	Rules    []Rule  `json:"schedule,omitempty" yaml:"schedule,omitempty"`
	Overlap  Overlap `json:"overlap,omitempty" yaml:"overlap,omitempty"`
	CatchUp  CatchUp `json:"catch_up,omitempty" yaml:"catch_up,omitempty"`
	// CatchUpWindow bounds how far back missed generations are considered.
	CatchUpWindow Duration `json:"catch_up_window,omitempty" yaml:"catch_up_window,omitempty"`
	// MaxConcurrentJobs limits jobs of one generation running at once (0: no limit).
	MaxConcurrentJobs int               `json:"max_concurrent_jobs,omitempty" yaml:"max_concurrent_jobs,omitempty"`
	Params            map[string]string `json:"params,omitempty" yaml:"params,omitempty"`
	Delay             *DelayMonitor     `json:"delay,omitempty" yaml:"delay,omitempty"`
	// Deadline is when every generation must have ended ("30:00" or "+3h");
	// a schedule rule's own deadline wins for the generations it plans.
	Deadline *Due `json:"deadline,omitempty" yaml:"deadline,omitempty"`
}

// Path returns folder/name, the jobnet's unique key.
func (j *Jobnet) Path() string { return j.Folder + "/" + j.Name }

// DisplayName returns the title, or the name when there is none.
func (j *Jobnet) DisplayName() string { return cmp.Or(j.Title, j.Name) }

// DisplayName returns the title, or the name when there is none.
func (u *Unit) DisplayName() string { return cmp.Or(u.Title, u.Name) }

// Duration is a time.Duration written as Go duration text ("90s", "1h30m").
type Duration time.Duration

// D returns the time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

func (d Duration) String() string {
	if d == 0 {
		return "0s"
	}
	// "2h0m0s" reads as "2h", "1h30m0s" as "1h30m".
	s := time.Duration(d).String()
	if strings.HasSuffix(s, "m0s") {
		s = strings.TrimSuffix(s, "0s")
	}
	if strings.HasSuffix(s, "h0m") {
		s = strings.TrimSuffix(s, "0m")
	}
	return s
}

// MarshalText implements encoding.TextMarshaler.
func (d Duration) MarshalText() ([]byte, error) { return []byte(d.String()), nil }

// UnmarshalText implements encoding.TextUnmarshaler.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return fmt.Errorf("invalid duration %q: want e.g. 90s, 15m, 1h30m", string(b))
	}
	if v < 0 {
		return fmt.Errorf("invalid duration %q: must not be negative", string(b))
	}
	*d = Duration(v)
	return nil
}

// IsZero lets encoders omit unset durations.
func (d Duration) IsZero() bool { return d == 0 }
