package jobnet

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

func localJob(name, command string) Unit {
	return Unit{Name: name, Kind: UnitJob, Job: &Job{Type: JobLocal, Local: &LocalSpec{Command: command}}}
}

// validBundle is a small bundle that passes Validate; each case breaks it.
func validBundle() *Bundle {
	return &Bundle{
		Calendars: []calendar.Definition{{Name: "cal", TimeZone: "Asia/Tokyo", BaseTime: 5 * 60,
			ClosedWeekdays: []calendar.Weekday{0, 6}, HolidaySets: []string{"jp"}}},
		Pools:   []Pool{{Name: "p1", Slots: 2}},
		Folders: []Folder{{Name: "f", Calendar: "cal"}},
		Jobnets: []Jobnet{{
			Name: "net", Folder: "f",
			Net: Net{
				Units: []Unit{localJob("a", "echo a"), localJob("b", "echo b")},
				Edges: []Edge{{From: "a", To: "b"}},
			},
			Rules: []Rule{{Kind: RuleDaily, Start: []calendar.ClockTime{90}}},
		}},
	}
}

func clock(s string) *calendar.ClockTime {
	c, err := calendar.ParseClockTime(s)
	if err != nil {
		panic(err)
	}
	return &c
}

func TestValidate(t *testing.T) {
	const jn = "jobnets[f/net]"
	p := func(path, msg string) fault.Problem { return fault.Problem{Path: path, Message: msg} }
	tests := []struct {
		name   string
		mutate func(b *Bundle)
		known  Known
		want   fault.Problems
	}{
		{"valid", func(b *Bundle) {}, Known{}, nil},
		{"cycle", func(b *Bundle) {
			j := &b.Jobnets[0]
			j.Units = append(j.Units, localJob("c", "echo c"))
			j.Edges = append(j.Edges, Edge{From: "b", To: "c"}, Edge{From: "c", To: "a"})
		}, Known{}, fault.Problems{p(jn+".edges", "cycle: a → b → c → a")}},
		{"edge to unknown unit", func(b *Bundle) {
			b.Jobnets[0].Edges = append(b.Jobnets[0].Edges, Edge{From: "b", To: "lodd"})
		}, Known{}, fault.Problems{p(jn+".edges[1].to", `unknown unit "lodd"`)}},
		{"edge from unknown unit and to itself", func(b *Bundle) {
			b.Jobnets[0].Edges = []Edge{{From: "x", To: "a"}, {From: "a", To: "a"}}
		}, Known{}, fault.Problems{
			p(jn+".edges", "cycle: a → a"),
			p(jn+".edges[0].from", `unknown unit "x"`),
			p(jn+".edges[1]", `edge from "a" to itself`),
		}},
		{"duplicate edge", func(b *Bundle) {
			b.Jobnets[0].Edges = append(b.Jobnets[0].Edges, Edge{From: "a", To: "b", Kind: EdgeRecovery})
		}, Known{}, fault.Problems{p(jn+".edges[1]", "duplicate edge a → b (also edges[0])")}},
		{"duplicate names", func(b *Bundle) {
			b.Jobnets[0].Units = append(b.Jobnets[0].Units, localJob("a", "echo again"))
			b.Jobnets = append(b.Jobnets, b.Jobnets[0])
			b.Folders = append(b.Folders, b.Folders[0])
			b.Calendars = append(b.Calendars, b.Calendars[0])
			b.Pools = append(b.Pools, b.Pools[0])
		}, Known{}, fault.Problems{
			p("calendars[cal]", `duplicate calendar "cal"`),
			p("folders[f]", `duplicate folder "f"`),
			p(jn, `duplicate jobnet "f/net" (also jobnets[0])`),
			p(jn+".units[a]", `duplicate unit "a"`),
			p(jn+".units[a]", `duplicate unit "a"`),
			p("pools[p1]", `duplicate pool "p1"`),
		}},
		{"true edge out of a job", func(b *Bundle) {
			b.Jobnets[0].Edges[0].Kind = EdgeTrue
		}, Known{}, fault.Problems{p(jn+".edges[0].kind", `true edge must leave a judgment unit; "a" is a job unit`)}},
		{"judgment edges", func(b *Bundle) {
			j := &b.Jobnets[0]
			j.Units = append(j.Units, Unit{Name: "ok", Kind: UnitJudgment, Judgment: &Judgment{Kind: JudgeExitCode, Op: "eq", Value: "0"}},
				localJob("c", "echo c"), localJob("d", "echo d"))
			j.Edges = append(j.Edges, Edge{From: "b", To: "ok"}, Edge{From: "ok", To: "c", Kind: EdgeTrue},
				Edge{From: "ok", To: "d"}, Edge{From: "c", To: "d", Kind: "sometimes"})
		}, Known{}, fault.Problems{
			p(jn+".edges[3].kind", `normal edge out of judgment "ok": judgment edges are true or false`),
			p(jn+".edges[4].kind", `"sometimes": must be normal, recovery, true or false`),
		}},
		{"exit_code judgment needs one job predecessor", func(b *Bundle) {
			j := &b.Jobnets[0]
			j.Units = append(j.Units, Unit{Name: "ok", Kind: UnitJudgment, Judgment: &Judgment{Kind: JudgeExitCode, Op: "gt", Value: "x"}})
			j.Edges = append(j.Edges, Edge{From: "a", To: "ok"}, Edge{From: "b", To: "ok"})
		}, Known{}, fault.Problems{
			p(jn+".units[ok].judgment", "exit_code judgment needs exactly one incoming edge, from a job unit"),
			p(jn+".units[ok].judgment.value", `"x": exit_code compares with an integer`),
		}},
		{"other judgments", func(b *Bundle) {
			j := &b.Jobnets[0]
			j.Units = append(j.Units,
				Unit{Name: "f1", Kind: UnitJudgment, Judgment: &Judgment{Kind: JudgeFileExists, Op: "eq"}},
				Unit{Name: "v1", Kind: UnitJudgment, Judgment: &Judgment{Kind: JudgeVariable, Op: "lt", Value: "ten"}},
				Unit{Name: "k1", Kind: UnitJudgment, Judgment: &Judgment{Kind: "weather"}})
		}, Known{}, fault.Problems{
			p(jn+".units[f1].judgment.op", "not used by file_exists"),
			p(jn+".units[f1].judgment.path", "required for file_exists"),
			p(jn+".units[k1].judgment.kind", `"weather": must be exit_code, file_exists or variable`),
			p(jn+".units[v1].judgment.value", `"ten": lt compares integers`),
			p(jn+".units[v1].judgment.variable", "required for variable"),
		}},
		{"kind vs payload", func(b *Bundle) {
			u := &b.Jobnets[0].Units[0]
			u.Job = nil
			u.Net = &Net{Units: []Unit{localJob("x", "echo")}}
			b.Jobnets[0].Units[1].Kind = "task"
			b.Jobnets[0].Units = append(b.Jobnets[0].Units, Unit{Name: "w", Kind: UnitWait}, Unit{Name: "n"})
		}, Known{}, fault.Problems{
			p(jn+".units[a].job", "required for a job unit"),
			p(jn+".units[a].net", "not allowed on a job unit"),
			p(jn+".units[b].kind", `"task": must be job, jobnet, judgment or wait`),
			p(jn+".units[n].kind", "required: job, jobnet, judgment or wait"),
			p(jn+".units[w].wait", "required for a wait unit"),
		}},
		{"nested nets recursively", func(b *Bundle) {
			b.Jobnets[0].Units = append(b.Jobnets[0].Units, Unit{Name: "sub", Kind: UnitJobnet, Net: &Net{
				Units: []Unit{localJob("x", " "), {Name: "inner", Kind: UnitJobnet, Net: &Net{}}},
				Edges: []Edge{{From: "x", To: "y"}},
			}})
		}, Known{}, fault.Problems{
			p(jn+".units[sub].net.edges[0].to", `unknown unit "y"`),
			p(jn+".units[sub].net.units[inner].net.units", "a net needs at least one unit"),
			p(jn+".units[sub].net.units[x].job.local.command", "required"),
		}},
		{"unit names", func(b *Bundle) {
			b.Jobnets[0].Units = append(b.Jobnets[0].Units, localJob("sub/x", "echo"), localJob("", "echo"),
				localJob("this-name-is-far-too-long-for-a-unit-name-because-it-has-65-chars", "echo"))
		}, Known{}, fault.Problems{
			p(jn+".units[3].name", "required"),
			p(jn+".units[sub/x].name", `invalid unit name "sub/x": names are 1-64 characters of A-Z a-z 0-9 _ . -`),
			p(jn+".units[this-name-is-far-too-long-for-a-unit-name-because-it-has-65-chars].name",
				`invalid unit name "this-name-is-far-too-long-for-a-unit-name-because-it-has-65-chars": names are 1-64 characters of A-Z a-z 0-9 _ . -`),
		}},
		{"unknown calendar on jobnet", func(b *Bundle) {
			b.Jobnets[0].Calendar = "nope"
		}, Known{}, fault.Problems{p(jn+".calendar", `unknown calendar "nope"`)}},
		{"jobnet calendar known outside the bundle", func(b *Bundle) {
			b.Jobnets[0].Calendar = "db-cal"
		}, Known{Calendars: []string{"db-cal"}}, nil},
		{"no calendar on jobnet or folder", func(b *Bundle) {
			b.Folders[0].Calendar = ""
		}, Known{}, fault.Problems{p(jn+".calendar", `no calendar: set one here or on folder "f"`)}},
		{"jobnet calendar without folder calendar", func(b *Bundle) {
			b.Folders[0].Calendar = ""
			b.Jobnets[0].Calendar = "cal"
		}, Known{}, nil},
		{"unknown folder calendar and unknown folder", func(b *Bundle) {
			b.Folders[0].Calendar = "gone"
			b.Jobnets = append(b.Jobnets, b.Jobnets[0])
			b.Jobnets[1].Folder = "g"
		}, Known{}, fault.Problems{
			p("folders[f].calendar", `unknown calendar "gone"`),
			p("jobnets[g/net].folder", `unknown folder "g"`),
		}},
		{"folder known outside the bundle falls back to its calendar", func(b *Bundle) {
			b.Folders = nil
		}, Known{Folders: map[string]string{"f": "cal"}}, nil},
		{"unknown pool", func(b *Bundle) {
			b.Jobnets[0].Units[0].Job.Pool = "p2"
			b.Pools[0].Slots = 0
		}, Known{}, fault.Problems{
			p(jn+".units[a].job.pool", `unknown pool "p2"`),
			p("pools[p1].slots", "0: a pool needs at least 1 slot"),
		}},
		{"pool known outside the bundle", func(b *Bundle) {
			b.Jobnets[0].Units[0].Job.Pool = "p2"
		}, Known{Pools: []string{"p2"}}, nil},
		{"thresholds out of order", func(b *Bundle) {
			b.Jobnets[0].Units[0].Job.End = EndJudgment{WarningThreshold: 8, AbnormalThreshold: 4}
			b.Jobnets[0].Units[1].Job.End = EndJudgment{Mode: EndAlwaysNormal, AbnormalThreshold: 4}
		}, Known{}, fault.Problems{
			p(jn+".units[a].job.end", "warning threshold 8 is above abnormal threshold 4"),
			p(jn+".units[b].job.end", "thresholds apply only to mode thresholds"),
		}},
		{"job type and spec", func(b *Bundle) {
			b.Jobnets[0].Units[0].Job = &Job{Type: JobECS, Local: &LocalSpec{Command: "x"}}
			b.Jobnets[0].Units[1].Job = &Job{Type: "lambda"}
		}, Known{}, fault.Problems{
			p(jn+".units[a].job.ecs", "required for a ecs job"),
			p(jn+".units[a].job.local", "not allowed on a ecs job"),
			p(jn+".units[b].job.type", `"lambda": must be local, ecs, eks or noop`),
		}},
		{"ecs spec", func(b *Bundle) {
			b.Jobnets[0].Units[0].Job = &Job{Type: JobECS, ECS: &ECSSpec{}}
			b.Jobnets[0].Units[1].Job = &Job{Type: JobECS, ECS: &ECSSpec{Cluster: "c", TaskDefinition: "etl:0",
				LaunchType: "FARGATE", CapacityProviders: []CapacityProvider{{Provider: "FARGATE_SPOT", Weight: 2000}}}}
		}, Known{}, fault.Problems{
			p(jn+".units[a].job.ecs.cluster", "required"),
			p(jn+".units[a].job.ecs.task_definition", "required"),
			p(jn+".units[b].job.ecs", "launch_type and capacity_providers are exclusive"),
			p(jn+".units[b].job.ecs.capacity_providers[0].weight", "2000: must be 0-1000"),
			p(jn+".units[b].job.ecs.task_definition", `invalid task definition "etl:0": want family or family:revision`),
		}},
		{"ecs task definition forms", func(b *Bundle) {
			b.Jobnets[0].Units[0].Job = &Job{Type: JobECS, ECS: &ECSSpec{Cluster: "c", TaskDefinition: "etl:12", LaunchType: "EC3"}}
			b.Jobnets[0].Units[1].Job = &Job{Type: JobECS, ECS: &ECSSpec{Cluster: "c",
				TaskDefinition: "arn:aws:ecs:ap-northeast-1:123456789012:task-definition/etl:3", Connection: "prod"}}
		}, Known{CheckConnections: true, Connections: []string{"stg"}}, fault.Problems{
			p(jn+".units[a].job.ecs.launch_type", `"EC3": must be FARGATE, EC2 or EXTERNAL`),
			p(jn+".units[b].job.ecs.connection", `unknown connection "prod"`),
		}},
		{"ecs task size, secrets and capacity budget", func(b *Bundle) {
			b.Jobnets[0].Units[0].Job = &Job{Type: JobECS, Env: map[string]string{"DB_PASSWORD": "x"}, ECS: &ECSSpec{Cluster: "c", TaskDefinition: "etl",
				LaunchType: "FARGATE", TaskCPU: "1 vCPU", TaskMemory: "1024", CapacityRetries: -1, CapacityRetryInterval: Duration(time.Millisecond),
				Secrets: map[string]string{"DB_PASSWORD": "arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:db-AbC", "API_KEY": "s3cr3t value", "KOYOMI_X": "p"}}}
			b.Jobnets[0].Units[1].Job = &Job{Type: JobECS, ECS: &ECSSpec{Cluster: "c", TaskDefinition: "etl",
				CapacityProviders: []CapacityProvider{{Provider: "FARGATE_SPOT"}}, TaskCPU: "3000", TaskMemory: "lots",
				Secrets: map[string]string{"TOKEN": "arn:aws:ssm:ap-northeast-1:123456789012:parameter/prod/token"}}}
		}, Known{}, fault.Problems{
			p(jn+".units[a].job.ecs.capacity_retries", "-1: must be 0-1000"),
			p(jn+".units[a].job.ecs.capacity_retry_interval", "1ms: must be at least 1s"),
			p(jn+".units[a].job.ecs.secrets.API_KEY", `"s3cr3t value": want a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) or an SSM parameter ARN or name; the value itself never goes here`),
			p(jn+".units[a].job.ecs.secrets.DB_PASSWORD", "is also a plain environment variable (env); a variable is either plain or a secret"),
			p(jn+".units[a].job.ecs.secrets.KOYOMI_X", "KOYOMI_ variables are set by Koyomi"),
			p(jn+".units[a].job.ecs.task_memory", "1024 MiB does not fit Fargate task CPU 1024: with it memory is 2048 to 8192 in steps of 1024 MiB"),
			p(jn+".units[b].job.ecs.task_memory", `"lots": want MiB ("2048") or GB ("2 GB")`),
		}},
		{"ecs fargate task cpu", func(b *Bundle) {
			b.Jobnets[0].Units[0].Job = &Job{Type: JobECS, ECS: &ECSSpec{Cluster: "c", TaskDefinition: "etl", LaunchType: "FARGATE", TaskCPU: "3000"}}
			b.Jobnets[0].Units[1].Job = &Job{Type: JobECS, ECS: &ECSSpec{Cluster: "c", TaskDefinition: "etl", LaunchType: "EC2", TaskCPU: "3000", TaskMemory: "1000"}}
		}, Known{}, fault.Problems{
			p(jn+".units[a].job.ecs.task_cpu", "3000: Fargate task CPU is 256, 512, 1024, 2048, 4096, 8192 or 16384 units"),
		}},
		{"eks spec", func(b *Bundle) {
			b.Jobnets[0].Units[0].Job = &Job{Type: JobEKS, EKS: &EKSSpec{Mode: "deployment", Cleanup: "never", Namespace: "Batch",
				Tolerations: []Toleration{{Operator: "In", Effect: "NoSchedule"}}}}
		}, Known{}, fault.Problems{
			p(jn+".units[a].job.eks.cleanup", `"never": must be delete or keep`),
			p(jn+".units[a].job.eks.image", "required"),
			p(jn+".units[a].job.eks.mode", `"deployment": must be pod or job`),
			p(jn+".units[a].job.eks.namespace", `invalid namespace "Batch": want a DNS label (a-z 0-9 -)`),
			p(jn+".units[a].job.eks.tolerations[0].operator", `"In": must be Equal or Exists`),
		}},
		{"eks references to secrets, config maps and volumes", func(b *Bundle) {
			mode := int32(0o1000)
			b.Jobnets[0].Units[0].Job = &Job{Type: JobEKS, Env: map[string]string{"REGION": "jp"}, EKS: &EKSSpec{Image: "i", ServiceAccount: "Sales_SA",
				Env: []KubeEnvVar{
					{Name: "DB_PASSWORD", SecretKeyRef: &KubeKeyRef{Name: "sales-db", Key: "password"}},
					{Name: "REGION", ConfigMapKeyRef: &KubeKeyRef{Name: "cfg", Key: "region"}},
					{Name: "PLAIN"},
					{Name: "BOTH", SecretKeyRef: &KubeKeyRef{Name: "s", Key: "k"}, ConfigMapKeyRef: &KubeKeyRef{Name: "c", Key: "k"}},
					{Name: "DB_PASSWORD", SecretKeyRef: &KubeKeyRef{Name: "Bad_Name", Key: "pass word"}},
				},
				EnvFrom: []KubeEnvFrom{{Prefix: "1X", SecretRef: &KubeObjectRef{Name: "api"}}, {}},
				Volumes: []KubeVolume{
					{Name: "tls", Secret: &KubeSecretVolume{SecretName: "sales-tls", DefaultMode: &mode, Items: []KubeKeyToPath{{Key: "tls.crt", Path: "../etc/passwd"}}}},
					{Name: "tls", EmptyDir: &KubeEmptyDirVolume{Medium: "Disk", SizeLimit: "lots"}},
					{Name: "data", PersistentVolumeClaim: &KubeClaimVolume{ClaimName: "sales-data"}, ConfigMap: &KubeConfigMapVolume{Name: "cfg"}},
				},
				VolumeMounts:     []KubeVolumeMount{{Name: "tls", MountPath: "etc/tls"}, {Name: "nope", MountPath: "/data", SubPath: "/abs"}, {Name: "data", MountPath: "/data/"}},
				ImagePullSecrets: []string{"ecr-pull", "ecr-pull"},
			}}
		}, Known{}, fault.Problems{
			p(jn+".units[a].job.eks.env[1].name", `"REGION" is also set by the job's env`),
			p(jn+".units[a].job.eks.env[2]", "set secret_key_ref or config_map_key_ref (a plain value belongs in the job's env)"),
			p(jn+".units[a].job.eks.env[3]", "set one of secret_key_ref and config_map_key_ref, not both"),
			p(jn+".units[a].job.eks.env[4].name", `"DB_PASSWORD" is also set by `+jn+".units[a].job.eks.env[0]"),
			p(jn+".units[a].job.eks.env[4].secret_key_ref.key", `invalid key "pass word": want letters, digits, -, _ and .`),
			p(jn+".units[a].job.eks.env[4].secret_key_ref.name", `invalid Secret name "Bad_Name": want lower-case letters, digits, - and .`),
			p(jn+".units[a].job.eks.env_from[0].prefix", `invalid prefix "1X": want letters, digits and _, not starting with a digit`),
			p(jn+".units[a].job.eks.env_from[1]", "set secret_ref or config_map_ref"),
			p(jn+".units[a].job.eks.image_pull_secrets[1]", `duplicate Secret "ecr-pull"`),
			p(jn+".units[a].job.eks.service_account", `invalid service account name "Sales_SA": want lower-case letters, digits, - and .`),
			p(jn+".units[a].job.eks.volume_mounts[0].mount_path", `"etc/tls": want an absolute path without ':'`),
			p(jn+".units[a].job.eks.volume_mounts[1].name", `unknown volume "nope"`),
			p(jn+".units[a].job.eks.volume_mounts[1].sub_path", `"/abs": want a relative path without ..`),
			p(jn+".units[a].job.eks.volume_mounts[2].mount_path", `"/data/" is mounted twice`),
			p(jn+".units[a].job.eks.volumes[0].secret.default_mode", "512: must be 0 to 511 (0777)"),
			p(jn+".units[a].job.eks.volumes[0].secret.items[0].path", `"../etc/passwd": want a relative path without ..`),
			p(jn+".units[a].job.eks.volumes[1].empty_dir.medium", `"Disk": must be empty (the node's disk) or Memory`),
			p(jn+".units[a].job.eks.volumes[1].empty_dir.size_limit", `"lots" is not a quantity such as 1Gi`),
			p(jn+".units[a].job.eks.volumes[1].name", `duplicate volume "tls"`),
			p(jn+".units[a].job.eks.volumes[2]", "set exactly one of secret, config_map, persistent_volume_claim and empty_dir (found 2)"),
		}},
		{"retry and timeout", func(b *Bundle) {
			j := b.Jobnets[0].Units[0].Job
			j.Retry = &Retry{Count: 101, On: []Outcome{OutcomeAbnormal, "explode", OutcomeAbnormal}}
			j.Timeout = &Timeout{EndAs: "maybe"}
			j.End.Mode = "exit"
			j.Env = map[string]string{"KOYOMI_JOB": "x", "1BAD": "y", "OK_NAME": "z"}
		}, Known{}, fault.Problems{
			p(jn+".units[a].job.end.mode", `"exit": must be thresholds or always_normal`),
			p(jn+".units[a].job.env.1BAD", "invalid variable name: want letters, digits and _, not starting with a digit"),
			p(jn+".units[a].job.env.KOYOMI_JOB", "KOYOMI_ variables are set by Koyomi"),
			p(jn+".units[a].job.retry.count", "101: must be 0-100"),
			p(jn+".units[a].job.retry.on[1]", `"explode": must be abnormal, failed_to_start, unknown or timeout`),
			p(jn+".units[a].job.retry.on[2]", `duplicate outcome "abnormal"`),
			p(jn+".units[a].job.timeout.after", "required: a duration such as 30m"),
			p(jn+".units[a].job.timeout.end_as", `"maybe": must be abnormal, warning or normal`),
		}},
		{"delay deadlines", func(b *Bundle) {
			b.Jobnets[0].Delay = &DelayMonitor{Start: &Deadline{At: clock("10:00"), After: Duration(1)}, End: &Deadline{}}
			b.Jobnets[0].Units[0].Delay = &DelayMonitor{Start: &Deadline{At: clock("27:00")}, End: &Deadline{At: clock("26:00")}}
			b.Jobnets[0].Units = append(b.Jobnets[0].Units, Unit{Name: "w", Kind: UnitWait, Wait: &Wait{Jobnet: "net"},
				Delay: &DelayMonitor{MaxDuration: Duration(1)}})
		}, Known{}, fault.Problems{
			p(jn+".delay.end", "set at (a business-day time, 00:00-47:59) or after (a duration after the scheduled start)"),
			p(jn+".delay.start", "set either at (a business-day time) or after (a duration), not both"),
			p(jn+".units[a].delay.end", "end deadline is earlier than the start deadline"),
			p(jn+".units[w].delay", "delay monitoring applies to job and jobnet units"),
			p(jn+".units[w].wait.jobnet", "waits for its own jobnet; use an edge instead"),
		}},
		{"wait units", func(b *Bundle) {
			other := Jobnet{Name: "other", Folder: "f", Net: Net{Units: []Unit{{Name: "sub", Kind: UnitJobnet,
				Net: &Net{Units: []Unit{localJob("x", "echo")}}}}}}
			b.Jobnets = append(b.Jobnets, other)
			b.Jobnets[0].Units = append(b.Jobnets[0].Units,
				Unit{Name: "w1", Kind: UnitWait, Wait: &Wait{Jobnet: "other", Unit: "sub/x"}},
				Unit{Name: "w2", Kind: UnitWait, Wait: &Wait{Jobnet: "f/other", Unit: "sub/y"}},
				Unit{Name: "w3", Kind: UnitWait, Wait: &Wait{Jobnet: "missing"}},
				Unit{Name: "w4", Kind: UnitWait, Wait: &Wait{Jobnet: "g/in-db", Unit: "anything"}},
				Unit{Name: "w5", Kind: UnitWait, Wait: &Wait{}})
		}, Known{Jobnets: []string{"g/in-db"}}, fault.Problems{
			p(jn+".units[w2].wait.unit", `jobnet "f/other" has no unit "sub/y"`),
			p(jn+".units[w3].wait.jobnet", `unknown jobnet "missing"`),
			p(jn+".units[w5].wait.jobnet", "required"),
		}},
		{"schedule rules", func(b *Bundle) {
			b.Jobnets[0].Rules = []Rule{{Kind: RuleDay, Day: 40}, {Kind: RuleDaily, ExclusiveWith: []string{"f/net", "nowhere"}}}
		}, Known{}, fault.Problems{
			p(jn+".schedule[0].day", "40: must be 1-31"),
			p(jn+".schedule[1].exclusive_with[1]", `unknown jobnet "nowhere"`),
		}},
		{"jobnet fields", func(b *Bundle) {
			j := &b.Jobnets[0]
			j.Overlap = "queue"
			j.CatchUp = "some"
			j.MaxConcurrentJobs = -1
			j.Params = map[string]string{"region-name": "x", "REGION": "y"}
		}, Known{}, fault.Problems{
			p(jn+".catch_up", `"some": must be all, latest or skip`),
			p(jn+".max_concurrent_jobs", "-1: must not be negative (0: no limit)"),
			p(jn+".overlap", `"queue": must be concurrent, wait or skip`),
			p(jn+".params.region-name", "invalid parameter name: want letters, digits and _, not starting with a digit"),
		}},
		{"nameless jobnet and bad names", func(b *Bundle) {
			b.Jobnets[0].Name = ""
			b.Folders = append(b.Folders, Folder{Name: "a b"})
		}, Known{}, fault.Problems{
			p("folders[a b].name", `invalid folder name "a b": names are 1-64 characters of A-Z a-z 0-9 _ . -`),
			p("jobnets[0].name", "required"),
		}},
		{"calendar definitions", func(b *Bundle) {
			c := &b.Calendars[0]
			c.TimeZone = "Asia/Nowhere"
			c.BaseTime = 24 * 60
			c.BaseDay = 29
			c.MonthNaming = "middle"
			c.ClosedWeekdays = []calendar.Weekday{6, 0, 6}
			c.HolidaySets = []string{"jp", "mars"}
			c.Overrides = []calendar.OverrideDef{{Date: calendar.MustParseDate("2026-12-31")}, {Date: calendar.MustParseDate("2026-12-31"), Open: true}}
			c.Parent = "base"
			b.Calendars = append(b.Calendars, calendar.Definition{Name: "base", Parent: "cal"}, calendar.Definition{Name: "x", Parent: "y"})
		}, Known{}, fault.Problems{
			p("calendars[base].parent", "parent cycle: base → cal → base"),
			p("calendars[cal].base_day", "29: must be 1-28"),
			p("calendars[cal].base_time", "24:00: must be within 00:00-23:59"),
			p("calendars[cal].closed_weekdays[2]", "duplicate weekday sat"),
			p("calendars[cal].holiday_sets[1]", `unknown holiday set "mars"`),
			p("calendars[cal].month_naming", `"middle": must be start or end`),
			p("calendars[cal].overrides[1]", "duplicate override for 2026-12-31 (also overrides[0])"),
			p("calendars[cal].parent", "parent cycle: cal → base → cal"),
			p("calendars[cal].time_zone", `unknown time zone "Asia/Nowhere": want an IANA name such as Asia/Tokyo`),
			p("calendars[x].parent", `unknown calendar "y"`),
		}},
		{"holiday set known outside the built-ins", func(b *Bundle) {
			b.Calendars[0].HolidaySets = []string{"company"}
		}, Known{HolidaySets: []string{"company"}}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := validBundle()
			tt.mutate(b)
			got := Validate(b, tt.known)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestValidateReportsEverythingSorted(t *testing.T) {
	b := validBundle()
	b.Jobnets[0].Units[1].Job.Local.Command = ""
	b.Jobnets[0].Units[0].Job.Pool = "none"
	b.Jobnets[0].Calendar = "none"
	ps := Validate(b, Known{})
	require.Equal(t, fault.Problems{
		{Path: "jobnets[f/net].calendar", Message: `unknown calendar "none"`},
		{Path: "jobnets[f/net].units[a].job.pool", Message: `unknown pool "none"`},
		{Path: "jobnets[f/net].units[b].job.local.command", Message: "required"},
	}, ps)
	require.ErrorIs(t, ps.Err(), fault.ErrInvalid)
	require.Equal(t, ps, Validate(b, Known{}), "stable")
}
