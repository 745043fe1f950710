package ecsfake

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

var startedByRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,36}$`)

// resolveCluster maps a cluster name or ARN ("" = "default") to its ARN.
func (f *Fake) resolveCluster(ref string) (string, *apiError) {
	if ref == "" {
		ref = "default"
	}
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		name = clusterName(ref)
	}
	arn, ok := f.clusters[name]
	if !ok || (strings.HasPrefix(ref, "arn:") && ref != arn) {
		return "", errf(http.StatusBadRequest, "ClusterNotFoundException", "Cluster not found.")
	}
	return arn, nil
}

// resolveTaskDef maps family, family:revision or an ARN to a registered revision.
func (f *Fake) resolveTaskDef(ref string) (*taskDef, *apiError) {
	name := ref
	if strings.HasPrefix(ref, "arn:") {
		i := strings.Index(ref, ":task-definition/")
		if i < 0 {
			return nil, clientErr("Invalid revision number. Number: %s", ref)
		}
		name = ref[i+len(":task-definition/"):]
	}
	family, revStr, hasRev := strings.Cut(name, ":")
	revs := f.defs[family]
	if len(revs) == 0 {
		return nil, clientErr("Unable to describe task definition.")
	}
	if !hasRev {
		return revs[len(revs)-1], nil
	}
	rev, err := strconv.Atoi(revStr)
	if err != nil || rev < 1 {
		return nil, clientErr("Invalid revision number. Number: %s", revStr)
	}
	if rev > len(revs) {
		return nil, clientErr("Unable to describe task definition.")
	}
	return revs[rev-1], nil
}

type runTaskInput struct {
	Cluster                  string                 `json:"cluster"`
	TaskDefinition           string                 `json:"taskDefinition"`
	Count                    *int32                 `json:"count"`
	LaunchType               string                 `json:"launchType"`
	CapacityProviderStrategy []wireCapacityProvider `json:"capacityProviderStrategy"`
	PlatformVersion          string                 `json:"platformVersion"`
	NetworkConfiguration     *wireNetwork           `json:"networkConfiguration"`
	Overrides                *wireOverrides         `json:"overrides"`
	Tags                     []wireTag              `json:"tags"`
	StartedBy                string                 `json:"startedBy"`
	ClientToken              string                 `json:"clientToken"`
	Group                    string                 `json:"group"`
}

func (f *Fake) runTask(body []byte) (any, *apiError) {
	var in runTaskInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	if in.TaskDefinition == "" {
		return nil, invalidParam("TaskDefinition cannot be empty.")
	}
	clusterARN, e := f.resolveCluster(in.Cluster)
	if e != nil {
		return nil, e
	}
	if in.LaunchType != "" && len(in.CapacityProviderStrategy) > 0 {
		return nil, invalidParam("Specifying both a launch type and capacity provider strategy is not supported. Remove one and try again.")
	}
	switch in.LaunchType {
	case "", "EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES":
	default:
		return nil, invalidParam("launchType %q is not one of EC2, FARGATE, EXTERNAL, MANAGED_INSTANCES", in.LaunchType)
	}
	count := int32(1)
	if in.Count != nil {
		count = *in.Count
	}
	if count < 1 || count > 10 {
		return nil, invalidParam("count must be between 1 and 10.")
	}
	if in.StartedBy != "" && !startedByRE.MatchString(in.StartedBy) {
		return nil, invalidParam("startedBy must be up to 36 letters, numbers, hyphens and underscores.")
	}
	if len(in.ClientToken) > 64 {
		return nil, invalidParam("clientToken must be at most 64 characters.")
	}
	td, e := f.resolveTaskDef(in.TaskDefinition)
	if e != nil {
		return nil, e
	}
	fargate := in.LaunchType == "FARGATE"
	capProvider := ""
	for i, cp := range in.CapacityProviderStrategy {
		if cp.CapacityProvider == "" {
			return nil, invalidParam("capacityProviderStrategy[%d].capacityProvider cannot be empty.", i)
		}
		if cp.CapacityProvider == "FARGATE" || cp.CapacityProvider == "FARGATE_SPOT" {
			fargate = true
		}
		if capProvider == "" {
			capProvider = cp.CapacityProvider
		}
	}
	if fargate && td.def.NetworkMode != "awsvpc" {
		return nil, clientErr("Fargate only supports network mode 'awsvpc'.")
	}
	var vpc *wireAwsvpc
	if in.NetworkConfiguration != nil {
		vpc = in.NetworkConfiguration.AwsvpcConfiguration
	}
	if td.def.NetworkMode == "awsvpc" && vpc == nil {
		return nil, invalidParam("Network Configuration must be provided when networkMode 'awsvpc' is specified.")
	}
	if vpc != nil {
		if td.def.NetworkMode != "awsvpc" {
			return nil, invalidParam("Network Configuration is not valid for the given networkMode of this task definition.")
		}
		if len(vpc.Subnets) == 0 {
			return nil, invalidParam("subnets can not be empty.")
		}
		switch vpc.AssignPublicIP {
		case "", "DISABLED":
		case "ENABLED":
			if !fargate {
				return nil, invalidParam("Assign public IP is not supported for this launch type.")
			}
		default:
			return nil, invalidParam("assignPublicIp must be ENABLED or DISABLED.")
		}
	}
	if in.PlatformVersion != "" && !fargate {
		return nil, invalidParam("Platform version is only supported for tasks using the Fargate launch type.")
	}
	if in.Overrides != nil {
		for _, o := range in.Overrides.ContainerOverrides {
			if !hasContainer(td, o.Name) {
				return nil, invalidParam("Override for container named %s is not a container in the TaskDefinition.", o.Name)
			}
		}
		// "A total of 8192 characters are allowed for overrides. This
		// limit includes the JSON formatting characters of the override
		// structure." (RunTask, overrides)
		if raw, _ := json.Marshal(in.Overrides.ContainerOverrides); len(raw) > containerOverridesMax {
			return nil, invalidParam("Container Overrides length must be at most %d", containerOverridesMax)
		}
		if e := checkTaskSize(fargate, td, in.Overrides.CPU, in.Overrides.Memory); e != nil {
			return nil, e
		}
	}
	if len(in.Tags) > 50 {
		return nil, invalidParam("The number of tags exceeds 50.")
	}
	seen := map[string]bool{}
	for _, tg := range in.Tags {
		switch {
		case tg.Key == "" || len(tg.Key) > 128:
			return nil, invalidParam("Tag keys must be between 1 and 128 characters.")
		case len(tg.Value) > 256:
			return nil, invalidParam("Tag values must be at most 256 characters.")
		case strings.HasPrefix(strings.ToLower(tg.Key), "aws:"):
			return nil, invalidParam("Tag keys may not start with aws:.")
		case seen[tg.Key]:
			return nil, invalidParam("Duplicate tag key %s.", tg.Key)
		}
		seen[tg.Key] = true
	}

	params := in
	params.ClientToken = ""
	rawParams, _ := json.Marshal(params)
	tokenKey := clusterARN + "\x00" + in.ClientToken
	if in.ClientToken != "" {
		if t, ok := f.tokens[tokenKey]; ok {
			if t.params != string(rawParams) {
				// As ECS documents ConflictException: the clientToken is
				// already in use with a different RunTask request;
				// resourceIds are the tasks already associated with it.
				e := errf(http.StatusBadRequest, "ConflictException", "The specified client token has already been used in a different request.")
				e.extra = map[string]any{"resourceIds": []string{t.arn}}
				return nil, e
			}
			return map[string]any{"tasks": []wireTask{f.wire(t, true)}, "failures": []wireFailure{}}, nil
		}
	}
	if len(f.runFailures) > 0 {
		reason := f.runFailures[0]
		f.runFailures = f.runFailures[1:]
		arn := clusterARN
		if strings.HasPrefix(reason, "RESOURCE:") || reason == "AGENT" || reason == "ATTRIBUTE" {
			arn = strings.Replace(clusterARN, ":cluster/", ":container-instance/", 1) + "/" + f.newTaskID()
		}
		return map[string]any{"tasks": []wireTask{}, "failures": []wireFailure{{Arn: arn, Reason: reason}}}, nil
	}
	out := make([]wireTask, 0, count)
	for range count {
		id := f.newTaskID()
		script := f.cfg.DefaultScript
		if f.cfg.ScriptFor != nil {
			script = f.cfg.ScriptFor(launchOf(td, in))
		}
		if len(f.scripts) > 0 {
			script = f.scripts[0]
			f.scripts = f.scripts[1:]
		}
		t := &task{
			id:              id,
			arn:             "arn:aws:ecs:" + f.cfg.Region + ":" + f.cfg.Account + ":task/" + clusterName(clusterARN) + "/" + id,
			clusterARN:      clusterARN,
			def:             td,
			startedBy:       in.StartedBy,
			clientToken:     in.ClientToken,
			launchType:      in.LaunchType,
			capProvider:     capProvider,
			platformVersion: in.PlatformVersion,
			network:         vpc,
			overrides:       in.Overrides,
			tags:            in.Tags,
			lastStatus:      "PROVISIONING",
			desired:         "RUNNING",
			script:          script,
			createdAt:       f.now,
			version:         1,
			params:          string(rawParams),
		}
		if len(f.hideNext) > 0 {
			t.hidden = f.hideNext[0]
			f.hideNext = f.hideNext[1:]
		}
		if fargate && t.platformVersion == "" {
			t.platformVersion = "1.4.0"
		}
		if t.launchType == "" {
			t.launchType = "EC2"
			if fargate {
				t.launchType = "FARGATE"
			}
		}
		f.tasks[t.arn] = t
		f.order = append(f.order, t)
		if in.ClientToken != "" {
			if _, ok := f.tokens[tokenKey]; !ok {
				f.tokens[tokenKey] = t
			}
		}
		out = append(out, f.wire(t, true))
	}
	return map[string]any{"tasks": out, "failures": []wireFailure{}}, nil
}

// launchOf is what the essential container runs: its definition with the
// request's overrides applied.
func launchOf(td *taskDef, in runTaskInput) Launch {
	l := Launch{Family: td.def.Family, StartedBy: in.StartedBy, Env: map[string]string{}}
	for _, c := range td.def.Containers {
		if c.Essential == nil || *c.Essential {
			l.Container = c.Name
			l.Command = c.Command
			for k, v := range c.Environment {
				l.Env[k] = v
			}
			if len(c.Secrets) > 0 {
				l.Secrets = map[string]string{}
				for k, v := range c.Secrets {
					l.Secrets[k] = v
				}
			}
			break
		}
	}
	if in.Overrides != nil {
		for _, o := range in.Overrides.ContainerOverrides {
			if o.Name != l.Container {
				continue
			}
			if len(o.Command) > 0 {
				l.Command = o.Command
			}
			for _, kv := range o.Environment {
				l.Env[kv.Name] = kv.Value
			}
		}
	}
	return l
}

func hasContainer(td *taskDef, name string) bool {
	for _, c := range td.def.Containers {
		if c.Name == name {
			return true
		}
	}
	return false
}

// findTask resolves an ID or ARN within one cluster.
func (f *Fake) findTask(clusterARN, ref string) (*task, bool) {
	if strings.HasPrefix(ref, "arn:") {
		t, ok := f.tasks[ref]
		if !ok || t.clusterARN != clusterARN {
			return nil, false
		}
		return t, true
	}
	t, ok := f.tasks["arn:aws:ecs:"+f.cfg.Region+":"+f.cfg.Account+":task/"+clusterName(clusterARN)+"/"+ref]
	return t, ok
}

type describeTasksInput struct {
	Cluster string   `json:"cluster"`
	Tasks   []string `json:"tasks"`
	Include []string `json:"include"`
}

func (f *Fake) describeTasks(body []byte) (any, *apiError) {
	var in describeTasksInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	clusterARN, e := f.resolveCluster(in.Cluster)
	if e != nil {
		return nil, e
	}
	if len(in.Tasks) == 0 {
		return nil, invalidParam("Tasks cannot be empty.")
	}
	if len(in.Tasks) > 100 {
		return nil, invalidParam("Too many tasks were provided (maximum is 100).")
	}
	withTags := false
	for _, inc := range in.Include {
		if inc != "TAGS" {
			return nil, invalidParam("include must be TAGS.")
		}
		withTags = true
	}
	tasks := []wireTask{}
	failures := []wireFailure{}
	var described []*task
	for _, ref := range in.Tasks {
		t, ok := f.findTask(clusterARN, ref)
		if ok && t.hidden > 0 {
			t.hidden--
			ok = false
		}
		if !ok {
			arn := ref
			if !strings.HasPrefix(ref, "arn:") {
				arn = "arn:aws:ecs:" + f.cfg.Region + ":" + f.cfg.Account + ":task/" + clusterName(clusterARN) + "/" + ref
			}
			failures = append(failures, wireFailure{Arn: arn, Reason: "MISSING"})
			continue
		}
		tasks = append(tasks, f.wire(t, withTags))
		described = append(described, t)
	}
	if f.cfg.AdvanceOnDescribe {
		f.now = f.now.Add(f.cfg.Step)
		for _, t := range described {
			f.step(t)
		}
	}
	return map[string]any{"tasks": tasks, "failures": failures}, nil
}

type stopTaskInput struct {
	Cluster string `json:"cluster"`
	Task    string `json:"task"`
	Reason  string `json:"reason"`
}

func (f *Fake) stopTask(body []byte) (any, *apiError) {
	var in stopTaskInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	clusterARN, e := f.resolveCluster(in.Cluster)
	if e != nil {
		return nil, e
	}
	if len(in.Reason) > 255 {
		return nil, invalidParam("Reason must be at most 255 characters.")
	}
	t, ok := f.findTask(clusterARN, in.Task)
	if !ok {
		return nil, invalidParam("The referenced task was not found.")
	}
	if t.desired != "STOPPED" {
		t.desired = "STOPPED"
		t.stoppingAt = f.now
		t.stopCode = "UserInitiated"
		t.stoppedReason = in.Reason
		if t.stoppedReason == "" {
			t.stoppedReason = "Task stopped by user"
		}
		t.version++
	}
	return map[string]any{"task": f.wire(t, false)}, nil
}

type listTasksInput struct {
	Cluster       string `json:"cluster"`
	StartedBy     string `json:"startedBy"`
	Family        string `json:"family"`
	DesiredStatus string `json:"desiredStatus"`
	LaunchType    string `json:"launchType"`
	MaxResults    *int32 `json:"maxResults"`
	NextToken     string `json:"nextToken"`
}

func (f *Fake) listTasks(body []byte) (any, *apiError) {
	var in listTasksInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	clusterARN, e := f.resolveCluster(in.Cluster)
	if e != nil {
		return nil, e
	}
	if in.StartedBy != "" && (in.DesiredStatus != "" || in.Family != "" || in.LaunchType != "") {
		// As ECS documents it: "When you specify startedBy as the filter,
		// it must be the only filter that you use."
		return nil, invalidParam("startedBy must be the only filter when it is specified.")
	}
	desired := in.DesiredStatus
	switch desired {
	case "":
		desired = "RUNNING"
	case "RUNNING", "STOPPED", "PENDING":
	default:
		return nil, invalidParam("desiredStatus must be RUNNING, PENDING or STOPPED.")
	}
	limit := 100
	if in.MaxResults != nil {
		limit = int(*in.MaxResults)
		if limit < 1 || limit > 100 {
			return nil, invalidParam("maxResults must be between 1 and 100.")
		}
	}
	offset := 0
	if in.NextToken != "" {
		raw, err := base64.StdEncoding.DecodeString(in.NextToken)
		n, err2 := strconv.Atoi(strings.TrimPrefix(string(raw), "ecsfake:"))
		if err != nil || err2 != nil || !strings.HasPrefix(string(raw), "ecsfake:") || n < 0 {
			return nil, invalidParam("Invalid nextToken.")
		}
		offset = n
	}
	arns := []string{}
	for _, t := range f.order {
		if t.clusterARN != clusterARN {
			continue
		}
		if in.StartedBy != "" && t.startedBy != in.StartedBy {
			continue
		}
		if in.Family != "" && t.def.def.Family != in.Family {
			continue
		}
		if in.LaunchType != "" && t.launchType != in.LaunchType {
			continue
		}
		if t.hidden > 0 {
			continue
		}
		switch desired {
		case "STOPPED":
			if t.desired != "STOPPED" {
				continue
			}
		case "PENDING":
			if t.desired != "RUNNING" || (t.lastStatus != "PROVISIONING" && t.lastStatus != "PENDING") {
				continue
			}
		default:
			if t.desired != "RUNNING" {
				continue
			}
		}
		arns = append(arns, t.arn)
	}
	out := map[string]any{}
	if offset > len(arns) {
		offset = len(arns)
	}
	end := min(offset+limit, len(arns))
	out["taskArns"] = arns[offset:end]
	if end < len(arns) {
		out["nextToken"] = base64.StdEncoding.EncodeToString([]byte("ecsfake:" + strconv.Itoa(end)))
	}
	return out, nil
}

type wireLogConfiguration struct {
	LogDriver string            `json:"logDriver"`
	Options   map[string]string `json:"options,omitempty"`
}

type wireContainerDefinition struct {
	Name             string                `json:"name"`
	Image            string                `json:"image,omitempty"`
	Essential        *bool                 `json:"essential,omitempty"`
	Command          []string              `json:"command,omitempty"`
	CPU              int32                 `json:"cpu"`
	Environment      []wireKV              `json:"environment,omitempty"`
	Secrets          []wireSecret          `json:"secrets,omitempty"`
	LogConfiguration *wireLogConfiguration `json:"logConfiguration,omitempty"`
}

type wireTaskDefinition struct {
	TaskDefinitionArn       string                    `json:"taskDefinitionArn"`
	Family                  string                    `json:"family"`
	Revision                int                       `json:"revision"`
	Status                  string                    `json:"status"`
	NetworkMode             string                    `json:"networkMode"`
	RequiresCompatibilities []string                  `json:"requiresCompatibilities,omitempty"`
	Compatibilities         []string                  `json:"compatibilities"`
	CPU                     string                    `json:"cpu,omitempty"`
	Memory                  string                    `json:"memory,omitempty"`
	TaskRoleArn             string                    `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn        string                    `json:"executionRoleArn,omitempty"`
	ContainerDefinitions    []wireContainerDefinition `json:"containerDefinitions"`
	RegisteredAt            *epochSeconds             `json:"registeredAt,omitempty"`
}

func (f *Fake) describeTaskDefinition(body []byte) (any, *apiError) {
	var in struct {
		TaskDefinition string `json:"taskDefinition"`
	}
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	td, e := f.resolveTaskDef(in.TaskDefinition)
	if e != nil {
		return nil, e
	}
	return map[string]any{"taskDefinition": f.wireTaskDef(td), "tags": []wireTag{}}, nil
}

func (f *Fake) wireTaskDef(td *taskDef) wireTaskDefinition {
	w := wireTaskDefinition{
		TaskDefinitionArn:       td.arn,
		Family:                  td.def.Family,
		Revision:                td.revision,
		Status:                  "ACTIVE",
		NetworkMode:             td.def.NetworkMode,
		RequiresCompatibilities: td.def.RequiresCompatibilities,
		Compatibilities:         []string{"EC2"},
		CPU:                     td.def.CPU,
		Memory:                  td.def.Memory,
		TaskRoleArn:             td.def.TaskRoleARN,
		ExecutionRoleArn:        td.def.ExecutionRoleARN,
		RegisteredAt:            ts(td.at),
	}
	if td.def.NetworkMode == "awsvpc" {
		w.Compatibilities = []string{"EC2", "FARGATE"}
	}
	for _, c := range td.def.Containers {
		ess := c.Essential == nil || *c.Essential
		wc := wireContainerDefinition{Name: c.Name, Image: c.Image, Essential: &ess, Command: c.Command}
		for _, k := range sortedKeys(c.Environment) {
			wc.Environment = append(wc.Environment, wireKV{Name: k, Value: c.Environment[k]})
		}
		for _, k := range sortedKeys(c.Secrets) {
			wc.Secrets = append(wc.Secrets, wireSecret{Name: k, ValueFrom: c.Secrets[k]})
		}
		if c.LogDriver != "" {
			wc.LogConfiguration = &wireLogConfiguration{LogDriver: c.LogDriver, Options: c.LogOptions}
		}
		w.ContainerDefinitions = append(w.ContainerDefinitions, wc)
	}
	return w
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
