package ecs

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"unicode"

	"github.com/aws/aws-sdk-go-v2/aws"
	awsecs "github.com/aws/aws-sdk-go-v2/service/ecs"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// startedByMax is ECS's limit on RunTask startedBy.
const startedByMax = 36

// StartedBy derives RunTask's startedBy from an idempotency key: the key
// itself when it fits ECS's 36 characters, otherwise its first 23
// characters, a hyphen and 12 hex digits of its SHA-256, so that distinct
// keys stay distinct and the same key always maps to the same value.
func StartedBy(key string) string {
	if len(key) <= startedByMax && validName(key) {
		return key
	}
	sum := sha256.Sum256([]byte(key))
	prefix := strings.Map(func(r rune) rune {
		if r < 0x80 && validName(string(r)) {
			return r
		}
		return '_'
	}, key)
	if len(prefix) > 23 {
		prefix = prefix[:23]
	}
	return prefix + "-" + hex.EncodeToString(sum[:6])
}

// Start runs the job's task, or returns the task already started with
// req.Key (found by startedBy, or returned by RunTask for the same
// clientToken).
func (e *Executor) Start(ctx context.Context, req dispatch.Request) (dispatch.Handle, error) {
	h, err := e.start(ctx, req)
	if err != nil {
		return dispatch.Handle{}, fmt.Errorf("start job %q on ecs: %w", req.Unit, err)
	}
	return h, nil
}

func (e *Executor) start(ctx context.Context, req dispatch.Request) (dispatch.Handle, error) {
	spec, err := checkRequest(req)
	if err != nil {
		return dispatch.Handle{}, &dispatch.Permanent{Err: err}
	}
	c, err := e.clientsFor(ctx, spec.Connection)
	if err != nil {
		return dispatch.Handle{}, &dispatch.Permanent{Err: err}
	}
	startedBy := StartedBy(req.Key)
	if h, ok, err := e.existing(ctx, c, spec, startedBy); err != nil || ok {
		return h, err
	}
	td, err := e.taskDefinition(ctx, c, spec.TaskDefinition)
	if err != nil {
		return dispatch.Handle{}, err
	}
	container, err := pickContainer(td, spec.Container)
	if err != nil {
		return dispatch.Handle{}, &dispatch.Permanent{Err: err}
	}
	in := runTaskInput(req, spec, container.name, startedBy)
	if err := checkOverrides(in.Overrides); err != nil {
		return dispatch.Handle{}, &dispatch.Permanent{Err: err}
	}
	if len(spec.Secrets) > 0 {
		withSecrets, err := e.secretsDefinition(ctx, c, td, container.name, spec.Secrets)
		if err != nil {
			return dispatch.Handle{}, err
		}
		in.TaskDefinition = withSecrets.TaskDefinitionArn
	}
	in.Tags = runTags(req, spec, e.cfg.Installation)
	out, err := c.ecs.RunTask(ctx, in)
	if err != nil {
		var conflict *ecstypes.ConflictException
		if errors.As(err, &conflict) && len(conflict.ResourceIds) > 0 {
			// The key's clientToken already started a task with other
			// parameters (the definition changed between a crash and the
			// retry): that task is this attempt's.
			e.cfg.Logger.Warn("ecs RunTask clientToken already used; adopting its task", "key", req.Key, "tasks", conflict.ResourceIds)
			return e.adopt(ctx, c, spec, conflict.ResourceIds, aws.ToString(in.TaskDefinition))
		}
		return dispatch.Handle{}, fmt.Errorf("RunTask on cluster %q: %w", spec.Cluster, classify(err))
	}
	if len(out.Tasks) == 0 {
		f := &RunTaskFailure{Reason: "no task and no failure reported"}
		if len(out.Failures) > 0 {
			f = &RunTaskFailure{Reason: aws.ToString(out.Failures[0].Reason), Detail: aws.ToString(out.Failures[0].Detail), ARN: aws.ToString(out.Failures[0].Arn)}
		}
		e.cfg.Logger.Info("ecs RunTask placed no task", "key", req.Key, "cluster", spec.Cluster, "reason", f.Reason, "retryable", f.Capacity())
		if f.Capacity() {
			return dispatch.Handle{}, fmt.Errorf("RunTask on cluster %q: %w", spec.Cluster, f)
		}
		return dispatch.Handle{}, &dispatch.Permanent{Err: fmt.Errorf("RunTask on cluster %q: %w", spec.Cluster, f)}
	}
	return e.handleFor(ctx, c, spec, out.Tasks[0])
}

func checkRequest(req dispatch.Request) (*jobnet.ECSSpec, error) {
	var ps fault.Problems
	spec := req.Job.ECS
	if req.Job.Type != jobnet.JobECS {
		ps.Add("type", "is %q, not ecs", req.Job.Type)
	}
	if spec == nil {
		ps.Add("ecs", "is required for an ecs job")
		return nil, ps.Err()
	}
	if req.Key == "" || len(req.Key) > 64 {
		ps.Add("key", "must be 1 to 64 characters (ECS clientToken), have %d", len(req.Key))
	}
	if spec.Cluster == "" {
		ps.Add("ecs.cluster", "is required")
	}
	if spec.TaskDefinition == "" {
		ps.Add("ecs.task_definition", "is required")
	}
	if spec.LaunchType != "" && len(spec.CapacityProviders) > 0 {
		ps.Add("ecs.launch_type", "cannot be combined with capacity_providers")
	}
	switch spec.LaunchType {
	case "", "FARGATE", "EC2", "EXTERNAL":
	default:
		ps.Add("ecs.launch_type", "%q is not FARGATE, EC2 or EXTERNAL", spec.LaunchType)
	}
	for i, cp := range spec.CapacityProviders {
		if cp.Provider == "" {
			ps.Add(fmt.Sprintf("ecs.capacity_providers[%d].provider", i), "is required")
		}
	}
	if spec.CPU < 0 {
		ps.Add("ecs.cpu", "must not be negative")
	}
	if spec.Memory < 0 {
		ps.Add("ecs.memory", "must not be negative")
	}
	for _, p := range jobnet.CheckTaskSize(spec) {
		ps.Add("ecs."+p.Path, "%s", p.Message)
	}
	for _, p := range jobnet.CheckSecrets(spec.Secrets, req.Env) {
		ps.Add("ecs."+p.Path, "%s", p.Message)
	}
	for k := range spec.Tags {
		if strings.HasPrefix(strings.ToLower(k), "aws:") || strings.HasPrefix(k, "koyomi:") {
			ps.Add("ecs.tags."+k, "the aws: and koyomi: prefixes are reserved")
		}
	}
	if len(spec.Tags) > 40 {
		ps.Add("ecs.tags", "at most 40 tags (ECS allows 50, Koyomi adds its own)")
	}
	return spec, ps.Err()
}

// existing finds a task already started for startedBy: the crash-safe
// re-attach. ECS allows startedBy only as the sole filter of ListTasks, which
// then lists the tasks whose desired status is RUNNING; a task that has
// already stopped is found by RunTask instead, which returns the task of the
// same clientToken.
func (e *Executor) existing(ctx context.Context, c *clients, spec *jobnet.ECSSpec, startedBy string) (dispatch.Handle, bool, error) {
	list, err := c.ecs.ListTasks(ctx, &awsecs.ListTasksInput{
		Cluster:   aws.String(spec.Cluster),
		StartedBy: aws.String(startedBy),
	})
	if err != nil {
		return dispatch.Handle{}, false, fmt.Errorf("ListTasks on cluster %q: %w", spec.Cluster, classify(err))
	}
	arns := list.TaskArns
	if len(arns) == 0 {
		return dispatch.Handle{}, false, nil
	}
	if len(arns) > 100 {
		arns = arns[:100]
	}
	out, err := c.ecs.DescribeTasks(ctx, &awsecs.DescribeTasksInput{Cluster: aws.String(spec.Cluster), Tasks: arns})
	if err != nil {
		return dispatch.Handle{}, false, fmt.Errorf("DescribeTasks on cluster %q: %w", spec.Cluster, classify(err))
	}
	if len(out.Tasks) == 0 {
		return dispatch.Handle{}, false, nil
	}
	// One key starts one task; should there ever be more, the oldest is
	// the one every caller agrees on.
	h, err := e.handleFor(ctx, c, spec, oldestTask(out.Tasks))
	return h, err == nil, err
}

// adopt returns the handle of the oldest of the tasks ECS named as
// already started with the key's clientToken. A task ECS does not describe
// yet (eventual consistency) gets a handle from its ARN and the task
// definition asked for.
func (e *Executor) adopt(ctx context.Context, c *clients, spec *jobnet.ECSSpec, arns []string, taskDef string) (dispatch.Handle, error) {
	if len(arns) > describeBatch {
		arns = arns[:describeBatch]
	}
	out, err := c.ecs.DescribeTasks(ctx, &awsecs.DescribeTasksInput{Cluster: aws.String(spec.Cluster), Tasks: arns})
	if err != nil {
		return dispatch.Handle{}, fmt.Errorf("DescribeTasks on cluster %q: %w", spec.Cluster, classify(err))
	}
	if len(out.Tasks) == 0 {
		now := e.cfg.Now()
		return e.handleFor(ctx, c, spec, ecstypes.Task{TaskArn: aws.String(arns[0]), TaskDefinitionArn: aws.String(taskDef), CreatedAt: &now})
	}
	return e.handleFor(ctx, c, spec, oldestTask(out.Tasks))
}

// oldestTask is the task every caller agrees on when one key has several.
func oldestTask(ts []ecstypes.Task) ecstypes.Task {
	oldest := ts[0]
	for _, t := range ts[1:] {
		if aws.ToTime(t.CreatedAt).Before(aws.ToTime(oldest.CreatedAt)) ||
			aws.ToTime(t.CreatedAt).Equal(aws.ToTime(oldest.CreatedAt)) && aws.ToString(t.TaskArn) < aws.ToString(oldest.TaskArn) {
			oldest = t
		}
	}
	return oldest
}

// ContainerOverridesMax is RunTask's limit on its container overrides:
// 8192 characters of JSON, formatting included.
const ContainerOverridesMax = 8192

// checkOverrides refuses container overrides ECS would refuse for their
// size, saying what takes the room.
func checkOverrides(o *ecstypes.TaskOverride) error {
	if o == nil {
		return nil
	}
	raw, err := json.Marshal(containerOverridesJSON(o.ContainerOverrides))
	if err != nil {
		return err
	}
	if len(raw) <= ContainerOverridesMax {
		return nil
	}
	env, cmd := 0, 0
	for _, co := range o.ContainerOverrides {
		for _, kv := range co.Environment {
			env += len(aws.ToString(kv.Name)) + len(aws.ToString(kv.Value)) + 23
		}
		for _, a := range co.Command {
			cmd += len(a) + 3
		}
	}
	return fmt.Errorf("%w: ecs: the container overrides are %d bytes of JSON (environment about %d, command about %d); "+
		"RunTask allows %d: move large values into the task definition, or pass them by reference (ecs.secrets)",
		fault.ErrInvalid, len(raw), env, cmd, ContainerOverridesMax)
}

// containerOverridesJSON is the containerOverrides member as the SDK
// sends it (lowerCamel names, absent members left out).
func containerOverridesJSON(cos []ecstypes.ContainerOverride) []map[string]any {
	out := make([]map[string]any, 0, len(cos))
	for _, co := range cos {
		m := map[string]any{"name": aws.ToString(co.Name)}
		if len(co.Command) > 0 {
			m["command"] = co.Command
		}
		if len(co.Environment) > 0 {
			env := make([]map[string]string, 0, len(co.Environment))
			for _, kv := range co.Environment {
				env = append(env, map[string]string{"name": aws.ToString(kv.Name), "value": aws.ToString(kv.Value)})
			}
			m["environment"] = env
		}
		if co.Cpu != nil {
			m["cpu"] = *co.Cpu
		}
		if co.Memory != nil {
			m["memory"] = *co.Memory
		}
		out = append(out, m)
	}
	return out
}

// handleFor builds the handle of a task from its pinned task definition, so
// RunTask and re-attach produce equal handles.
func (e *Executor) handleFor(ctx context.Context, c *clients, spec *jobnet.ECSSpec, t ecstypes.Task) (dispatch.Handle, error) {
	arn := aws.ToString(t.TaskArn)
	td, err := e.taskDefinition(ctx, c, aws.ToString(t.TaskDefinitionArn))
	if err != nil {
		return dispatch.Handle{}, err
	}
	ct, err := pickContainer(td, spec.Container)
	if err != nil {
		return dispatch.Handle{}, &dispatch.Permanent{Err: err}
	}
	d := handleData{Connection: c.conn.Name, Cluster: aws.ToString(t.ClusterArn), Container: ct.name, CreatedAt: aws.ToTime(t.CreatedAt).UTC()}
	if d.Cluster == "" {
		d.Cluster = spec.Cluster
	}
	if ct.logGroup != "" && ct.logPrefix != "" {
		d.LogGroup = ct.logGroup
		d.LogStream = ct.logPrefix + "/" + ct.name + "/" + arn[strings.LastIndex(arn, "/")+1:]
		if ct.logRegion != c.aws.Region {
			d.LogRegion = ct.logRegion
		}
	}
	raw, err := json.Marshal(d)
	if err != nil {
		return dispatch.Handle{}, err
	}
	return dispatch.Handle{Executor: ExecutorType, ID: arn, Data: raw}, nil
}

// taskDefinition describes a task definition, cached: pinned revisions for
// good, family-only references for TaskDefinitionTTL.
func (e *Executor) taskDefinition(ctx context.Context, c *clients, ref string) (*ecstypes.TaskDefinition, error) {
	key := c.conn.Name + "\x00" + ref
	pinned := strings.Contains(ref, ":")
	now := e.cfg.Now()
	e.mu.Lock()
	cached, ok := e.defs[key]
	e.mu.Unlock()
	if ok && (pinned || now.Sub(cached.at) < e.cfg.TaskDefinitionTTL) {
		return cached.def, nil
	}
	out, err := c.ecs.DescribeTaskDefinition(ctx, &awsecs.DescribeTaskDefinitionInput{TaskDefinition: aws.String(ref)})
	if err != nil {
		return nil, fmt.Errorf("DescribeTaskDefinition %q: %w", ref, classify(err))
	}
	if out.TaskDefinition == nil {
		return nil, &RetryableError{Err: fmt.Errorf("DescribeTaskDefinition %q: empty answer", ref)}
	}
	e.mu.Lock()
	e.defs[key] = cachedDef{def: out.TaskDefinition, at: now}
	e.mu.Unlock()
	return out.TaskDefinition, nil
}

type containerInfo struct {
	name                           string
	logGroup, logPrefix, logRegion string
}

// pickContainer returns the named container, or the first essential one.
func pickContainer(td *ecstypes.TaskDefinition, name string) (containerInfo, error) {
	var chosen *ecstypes.ContainerDefinition
	for i := range td.ContainerDefinitions {
		cd := &td.ContainerDefinitions[i]
		if name != "" && aws.ToString(cd.Name) == name {
			chosen = cd
			break
		}
		if name == "" && (cd.Essential == nil || *cd.Essential) {
			chosen = cd
			break
		}
	}
	if chosen == nil {
		ref := aws.ToString(td.TaskDefinitionArn)
		if name != "" {
			return containerInfo{}, fmt.Errorf("%w: task definition %s has no container %q", fault.ErrInvalid, ref, name)
		}
		return containerInfo{}, fmt.Errorf("%w: task definition %s has no essential container", fault.ErrInvalid, ref)
	}
	ci := containerInfo{name: aws.ToString(chosen.Name)}
	if lc := chosen.LogConfiguration; lc != nil && lc.LogDriver == ecstypes.LogDriverAwslogs {
		ci.logGroup = lc.Options["awslogs-group"]
		ci.logPrefix = lc.Options["awslogs-stream-prefix"]
		ci.logRegion = lc.Options["awslogs-region"]
	}
	return ci, nil
}

func runTaskInput(req dispatch.Request, spec *jobnet.ECSSpec, container, startedBy string) *awsecs.RunTaskInput {
	in := &awsecs.RunTaskInput{
		Cluster:        aws.String(spec.Cluster),
		TaskDefinition: aws.String(spec.TaskDefinition),
		Count:          aws.Int32(1),
		StartedBy:      aws.String(startedBy),
		ClientToken:    aws.String(req.Key),
	}
	if spec.LaunchType != "" {
		in.LaunchType = ecstypes.LaunchType(spec.LaunchType)
	}
	for _, cp := range spec.CapacityProviders {
		in.CapacityProviderStrategy = append(in.CapacityProviderStrategy, ecstypes.CapacityProviderStrategyItem{
			CapacityProvider: aws.String(cp.Provider),
			Weight:           int32(cp.Weight),
			Base:             int32(cp.Base),
		})
	}
	if spec.PlatformVersion != "" {
		in.PlatformVersion = aws.String(spec.PlatformVersion)
	}
	if len(spec.Subnets) > 0 {
		assign := ecstypes.AssignPublicIpDisabled
		if spec.AssignPublicIP {
			assign = ecstypes.AssignPublicIpEnabled
		}
		in.NetworkConfiguration = &ecstypes.NetworkConfiguration{AwsvpcConfiguration: &ecstypes.AwsVpcConfiguration{
			Subnets:        spec.Subnets,
			SecurityGroups: spec.SecurityGroups,
			AssignPublicIp: assign,
		}}
	}
	co := ecstypes.ContainerOverride{Name: aws.String(container)}
	if len(spec.Command) > 0 {
		co.Command = spec.Command
	}
	names := make([]string, 0, len(req.Env))
	for k := range req.Env {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		co.Environment = append(co.Environment, ecstypes.KeyValuePair{Name: aws.String(k), Value: aws.String(req.Env[k])})
	}
	if spec.CPU > 0 {
		co.Cpu = aws.Int32(int32(spec.CPU))
	}
	if spec.Memory > 0 {
		co.Memory = aws.Int32(int32(spec.Memory))
	}
	in.Overrides = &ecstypes.TaskOverride{ContainerOverrides: []ecstypes.ContainerOverride{co}}
	if spec.TaskCPU != "" {
		in.Overrides.Cpu = aws.String(spec.TaskCPU)
	}
	if spec.TaskMemory != "" {
		in.Overrides.Memory = aws.String(spec.TaskMemory)
	}
	return in
}

// runTags are the koyomi: tags followed by the job's own, sorted by key.
func runTags(req dispatch.Request, spec *jobnet.ECSSpec, installation string) []ecstypes.Tag {
	own := map[string]string{
		"koyomi:installation":  installation,
		"koyomi:run-id":        req.RunID,
		"koyomi:jobnet":        req.Jobnet,
		"koyomi:unit":          req.Unit,
		"koyomi:key":           req.Key,
		"koyomi:business-date": req.BusinessDate,
	}
	if req.Attempt > 0 {
		own["koyomi:attempt"] = strconv.Itoa(req.Attempt)
	}
	var tags []ecstypes.Tag
	add := func(m map[string]string) {
		keys := make([]string, 0, len(m))
		for k, v := range m {
			if v != "" || !strings.HasPrefix(k, "koyomi:") {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		for _, k := range keys {
			tags = append(tags, ecstypes.Tag{Key: aws.String(k), Value: aws.String(tagValue(m[k]))})
		}
	}
	add(own)
	add(spec.Tags)
	return tags
}

// tagValue keeps the characters ECS allows in tag values (letters, digits,
// spaces and + - = . _ : / @), replaces the others with '_' and cuts at 256.
func tagValue(s string) string {
	out := []rune{}
	for _, r := range s {
		if len(out) == 256 {
			break
		}
		if unicode.IsLetter(r) || unicode.IsDigit(r) || r == ' ' || strings.ContainsRune("+-=._:/@", r) {
			out = append(out, r)
		} else {
			out = append(out, '_')
		}
	}
	return string(out)
}
