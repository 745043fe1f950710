package jobnet

import (
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Capacity retry defaults of an ECS job (ECSSpec.CapacityRetries and
// CapacityRetryInterval).
const (
	CapacityRetriesDefault       = 20
	CapacityRetryIntervalDefault = 30 * time.Second
)

// CapacityBudget is how often, and how far apart, a start that finds no
// capacity is tried again before the job fails to start.
type CapacityBudget struct {
	Retries  int
	Interval time.Duration
}

// Window is the longest a job waits for capacity.
func (b CapacityBudget) Window() time.Duration { return time.Duration(b.Retries) * b.Interval }

// CapacityBudget returns the job's capacity budget, defaults applied.
func (j Job) CapacityBudget() CapacityBudget {
	b := CapacityBudget{Retries: CapacityRetriesDefault, Interval: CapacityRetryIntervalDefault}
	if j.ECS != nil {
		if j.ECS.CapacityRetries > 0 {
			b.Retries = j.ECS.CapacityRetries
		}
		if j.ECS.CapacityRetryInterval > 0 {
			b.Interval = j.ECS.CapacityRetryInterval.D()
		}
	}
	return b
}

// fargateSizes are Fargate's task sizes (Linux): CPU units → the memory
// sizes allowed, MiB.
var fargateSizes = map[int][]int{
	256:   {512, 1024, 2048},
	512:   steps(1024, 4096, 1024),
	1024:  steps(2048, 8192, 1024),
	2048:  steps(4096, 16384, 1024),
	4096:  steps(8192, 30720, 1024),
	8192:  steps(16384, 61440, 4096),
	16384: steps(32768, 122880, 8192),
}

func steps(from, to, by int) []int {
	var out []int
	for v := from; v <= to; v += by {
		out = append(out, v)
	}
	return out
}

var (
	vcpuRE = regexp.MustCompile(`^(?i)([0-9]+(\.[0-9]+)?)\s*vcpu$`)
	gbRE   = regexp.MustCompile(`^(?i)([0-9]+(\.[0-9]+)?)\s*gb$`)
)

// TaskCPUUnits reads a task CPU size: CPU units ("1024") or vCPUs ("1 vCPU").
func TaskCPUUnits(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if m := vcpuRE.FindStringSubmatch(s); m != nil {
		f, err := strconv.ParseFloat(m[1], 64)
		return int(f * 1024), err == nil && f > 0
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// TaskMemoryMiB reads a task memory size: MiB ("2048") or GB ("2 GB").
func TaskMemoryMiB(s string) (int, bool) {
	s = strings.TrimSpace(s)
	if m := gbRE.FindStringSubmatch(s); m != nil {
		f, err := strconv.ParseFloat(m[1], 64)
		return int(f * 1024), err == nil && f > 0
	}
	n, err := strconv.Atoi(s)
	return n, err == nil && n > 0
}

// Fargate reports whether the spec runs on Fargate (launch type or a
// FARGATE / FARGATE_SPOT capacity provider).
func (s *ECSSpec) Fargate() bool {
	if s.LaunchType == "FARGATE" {
		return true
	}
	for _, c := range s.CapacityProviders {
		if c.Provider == "FARGATE" || c.Provider == "FARGATE_SPOT" {
			return true
		}
	}
	return false
}

// CheckTaskSize checks the task-level cpu and memory overrides: sizes ECS
// can read and, on Fargate, one of its task sizes when both are given
// (with one alone, ECS checks it against the task definition's other).
// Paths are relative to the spec (task_cpu, task_memory).
func CheckTaskSize(s *ECSSpec) []fault.Problem {
	var ps []fault.Problem
	cpu, okC := TaskCPUUnits(s.TaskCPU)
	mem, okM := TaskMemoryMiB(s.TaskMemory)
	if s.TaskCPU != "" && !okC {
		ps = append(ps, fault.Problem{Path: "task_cpu", Message: fmt.Sprintf("%q: want CPU units (\"1024\") or vCPUs (\"1 vCPU\")", s.TaskCPU)})
	}
	if s.TaskMemory != "" && !okM {
		ps = append(ps, fault.Problem{Path: "task_memory", Message: fmt.Sprintf("%q: want MiB (\"2048\") or GB (\"2 GB\")", s.TaskMemory)})
	}
	if len(ps) > 0 || !s.Fargate() {
		return ps
	}
	if s.TaskCPU != "" {
		mems, ok := fargateSizes[cpu]
		if !ok {
			return append(ps, fault.Problem{Path: "task_cpu", Message: fmt.Sprintf("%s: Fargate task CPU is 256, 512, 1024, 2048, 4096, 8192 or 16384 units", s.TaskCPU)})
		}
		if s.TaskMemory != "" && !contains(mems, mem) {
			return append(ps, fault.Problem{Path: "task_memory", Message: fmt.Sprintf("%s MiB does not fit Fargate task CPU %d: with it memory is %s MiB", s.TaskMemory, cpu, sizesText(mems))})
		}
	} else if s.TaskMemory != "" {
		fits := false
		for _, mems := range fargateSizes {
			fits = fits || contains(mems, mem)
		}
		if !fits {
			return append(ps, fault.Problem{Path: "task_memory", Message: fmt.Sprintf("%s MiB is no Fargate task memory size", s.TaskMemory)})
		}
	}
	return ps
}

func contains(xs []int, x int) bool {
	for _, v := range xs {
		if v == x {
			return true
		}
	}
	return false
}

func sizesText(mems []int) string {
	if len(mems) <= 3 {
		parts := make([]string, len(mems))
		for i, m := range mems {
			parts[i] = strconv.Itoa(m)
		}
		return strings.Join(parts, ", ")
	}
	return fmt.Sprintf("%d to %d in steps of %d", mems[0], mems[len(mems)-1], mems[1]-mems[0])
}

// secretRefRE matches a Secrets Manager secret ARN (optionally with
// json-key:version-stage:version-id), an SSM parameter ARN, or the name
// of a parameter in the task's region.
var secretRefRE = regexp.MustCompile(`^(arn:aws[a-z-]*:secretsmanager:[a-z0-9-]+:[0-9]{12}:secret:[A-Za-z0-9/_+=.@:-]+|arn:aws[a-z-]*:ssm:[a-z0-9-]+:[0-9]{12}:parameter/[A-Za-z0-9/_.-]+|/?[A-Za-z0-9_.-]+(/[A-Za-z0-9_.-]+)*)$`)

// CheckSecrets checks an ECS job's secrets: environment variable names
// that no plain variable of env also sets, and references ECS can read.
// Paths are relative to the spec (secrets.NAME).
func CheckSecrets(secrets, env map[string]string) []fault.Problem {
	var ps []fault.Problem
	names := make([]string, 0, len(secrets))
	for k := range secrets {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		p := "secrets." + k
		switch {
		case !envNameRE.MatchString(k):
			ps = append(ps, fault.Problem{Path: p, Message: "invalid variable name: want letters, digits and _, not starting with a digit"})
		case strings.HasPrefix(k, "KOYOMI_"):
			ps = append(ps, fault.Problem{Path: p, Message: "KOYOMI_ variables are set by Koyomi"})
		case env[k] != "" || hasKey(env, k):
			ps = append(ps, fault.Problem{Path: p, Message: "is also a plain environment variable (env); a variable is either plain or a secret"})
		}
		if !secretRefRE.MatchString(secrets[k]) {
			ps = append(ps, fault.Problem{Path: p, Message: fmt.Sprintf("%q: want a Secrets Manager secret ARN (arn:aws:secretsmanager:REGION:ACCOUNT:secret:NAME) or an SSM parameter ARN or name; the value itself never goes here", secrets[k])})
		}
	}
	return ps
}

func hasKey(m map[string]string, k string) bool {
	_, ok := m[k]
	return ok
}
