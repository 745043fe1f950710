package ecsfake

import (
	"regexp"
	"strconv"
	"strings"
)

// containerOverridesMax is RunTask's limit on the JSON of the container
// overrides.
const containerOverridesMax = 8192

// fargateSizes are Fargate's task sizes (Linux): CPU units → memory MiB
// from, to, in steps of.
var fargateSizes = map[int][3]int{
	256:   {512, 2048, 0}, // 512, 1024, 2048
	512:   {1024, 4096, 1024},
	1024:  {2048, 8192, 1024},
	2048:  {4096, 16384, 1024},
	4096:  {8192, 30720, 1024},
	8192:  {16384, 61440, 4096},
	16384: {32768, 122880, 8192},
}

func fargateFits(cpu, mem int) bool {
	r, ok := fargateSizes[cpu]
	if !ok {
		return false
	}
	if cpu == 256 {
		return mem == 512 || mem == 1024 || mem == 2048
	}
	return mem >= r[0] && mem <= r[1] && (mem-r[0])%r[2] == 0
}

// cpuUnits reads "1024" or "1 vCPU"; memMiB reads "2048" or "2 GB".
func cpuUnits(s string) (int, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if v, ok := strings.CutSuffix(s, "vcpu"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return int(f * 1024), err == nil
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

func memMiB(s string) (int, bool) {
	s = strings.TrimSpace(strings.ToLower(s))
	if v, ok := strings.CutSuffix(s, "gb"); ok {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		return int(f * 1024), err == nil
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// checkTaskSize checks RunTask's task-level cpu and memory overrides: on
// Fargate the pair (with the task definition's value for the one not
// overridden) must be one of Fargate's sizes.
func checkTaskSize(fargate bool, td *taskDef, cpu, mem string) *apiError {
	if cpu == "" && mem == "" {
		return nil
	}
	if cpu == "" {
		cpu = td.def.CPU
	}
	if mem == "" {
		mem = td.def.Memory
	}
	c, okC := cpuUnits(cpu)
	m, okM := memMiB(mem)
	if !okC || !okM {
		return invalidParam("Invalid 'cpu' or 'memory' override: %q, %q.", cpu, mem)
	}
	if fargate && !fargateFits(c, m) {
		return clientErr("No Fargate configuration exists for given values: %d CPU, %d memory. See the Amazon ECS documentation for the valid values.", c, m)
	}
	return nil
}

var familyRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,255}$`)

type wireSecret struct {
	Name      string `json:"name"`
	ValueFrom string `json:"valueFrom"`
}

type registerInput struct {
	Family                  string                    `json:"family"`
	NetworkMode             string                    `json:"networkMode"`
	RequiresCompatibilities []string                  `json:"requiresCompatibilities"`
	CPU                     string                    `json:"cpu"`
	Memory                  string                    `json:"memory"`
	TaskRoleArn             string                    `json:"taskRoleArn"`
	ExecutionRoleArn        string                    `json:"executionRoleArn"`
	ContainerDefinitions    []wireContainerDefinition `json:"containerDefinitions"`
	Tags                    []wireTag                 `json:"tags"`
}

// secretRef matches what ECS accepts as a secret's valueFrom: a Secrets
// Manager or SSM Parameter Store ARN, or a parameter name.
var secretRef = regexp.MustCompile(`^(arn:aws[a-z-]*:(secretsmanager|ssm):[a-z0-9-]+:[0-9]{12}:.+|[A-Za-z0-9_./-]+)$`)

// registerTaskDefinition validates as ECS does the parts the fake models
// and registers the next revision of the family.
func (f *Fake) registerTaskDefinition(body []byte) (any, *apiError) {
	var in registerInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if !familyRE.MatchString(in.Family) {
		return nil, clientErr("Family contains invalid characters or is longer than 255 characters.")
	}
	if len(in.ContainerDefinitions) == 0 {
		return nil, clientErr("Container list cannot be empty.")
	}
	fargate := false
	for _, c := range in.RequiresCompatibilities {
		fargate = fargate || c == "FARGATE"
	}
	if fargate {
		if in.NetworkMode != "awsvpc" {
			return nil, clientErr("Fargate only supports network mode 'awsvpc'.")
		}
		c, okC := cpuUnits(in.CPU)
		m, okM := memMiB(in.Memory)
		if !okC || !okM || !fargateFits(c, m) {
			return nil, clientErr("No Fargate configuration exists for given values: %s CPU, %s memory. See the Amazon ECS documentation for the valid values.", in.CPU, in.Memory)
		}
	}
	def := TaskDefinition{Family: in.Family, NetworkMode: in.NetworkMode, RequiresCompatibilities: in.RequiresCompatibilities,
		CPU: in.CPU, Memory: in.Memory, TaskRoleARN: in.TaskRoleArn, ExecutionRoleARN: in.ExecutionRoleArn}
	names := map[string]bool{}
	for _, wc := range in.ContainerDefinitions {
		if wc.Name == "" || names[wc.Name] {
			return nil, clientErr("Container names must be unique and not empty.")
		}
		names[wc.Name] = true
		if wc.Image == "" {
			return nil, clientErr("Container.image should not be null or empty.")
		}
		ess := wc.Essential == nil || *wc.Essential
		c := ContainerDefinition{Name: wc.Name, Image: wc.Image, Essential: &ess, Command: wc.Command}
		if len(wc.Environment) > 0 {
			c.Environment = map[string]string{}
			for _, kv := range wc.Environment {
				c.Environment[kv.Name] = kv.Value
			}
		}
		if len(wc.Secrets) > 0 {
			if in.ExecutionRoleArn == "" {
				return nil, clientErr("When you specify secrets in a container definition, the task definition needs a task execution role.")
			}
			c.Secrets = map[string]string{}
			for _, sc := range wc.Secrets {
				if sc.Name == "" || !secretRef.MatchString(sc.ValueFrom) {
					return nil, clientErr("Invalid secret %q: valueFrom %q is not a Secrets Manager or SSM Parameter Store reference.", sc.Name, sc.ValueFrom)
				}
				if _, dup := c.Environment[sc.Name]; dup {
					return nil, clientErr("Container %s: the name %s is both an environment variable and a secret.", wc.Name, sc.Name)
				}
				c.Secrets[sc.Name] = sc.ValueFrom
			}
		}
		if lc := wc.LogConfiguration; lc != nil {
			c.LogDriver, c.LogOptions = lc.LogDriver, lc.Options
		}
		def.Containers = append(def.Containers, c)
	}
	td, _ := f.resolveTaskDef(f.register(def))
	f.registered++
	return map[string]any{"taskDefinition": f.wireTaskDef(td), "tags": in.Tags}, nil
}

// Registered is how many task definitions RegisterTaskDefinition created.
func (f *Fake) Registered() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.registered
}

// TaskDefinition returns a registered task definition by ARN,
// family:revision or family (the latest).
func (f *Fake) TaskDefinition(ref string) (TaskDefinition, string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	td, e := f.resolveTaskDef(ref)
	if e != nil {
		return TaskDefinition{}, "", e
	}
	return td.def, td.arn, nil
}
