package ecsfake

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Defaults of Config.
const (
	RegionDefault  = "ap-northeast-1"
	AccountDefault = "123456789012"
	// StopExitCodeDefault is the essential container's exit code after
	// StopTask: the process got SIGTERM (128+15).
	StopExitCodeDefault = 143
)

// StartDefault is the fake clock's first instant.
var StartDefault = time.Date(2026, 11, 24, 6, 0, 0, 0, time.UTC)

// Config tunes a Fake. The zero value is usable.
type Config struct {
	Region  string // RegionDefault when empty
	Account string // AccountDefault when empty
	// Start is the fake clock's first instant (StartDefault when zero).
	Start time.Time
	// Step is how far Advance moves the clock (1 s when zero).
	Step time.Duration
	// AdvanceOnDescribe advances every described task by one step after
	// each DescribeTasks call, so a poller sees progress without a test
	// driving Advance.
	AdvanceOnDescribe bool
	// Tick, when set, advances every task one step each Tick in the
	// background (as time passes for a real cluster) until Close.
	Tick time.Duration
	// DefaultScript is the script of a task that gets no other.
	DefaultScript Script
	// ScriptFor, when set, chooses the script of each task RunTask starts
	// from what was asked (scripts queued with ScriptNext come first).
	ScriptFor func(Launch) Script
}

// Launch is what RunTask was asked to start, as ScriptFor sees it: the
// essential container's command and environment after overrides.
type Launch struct {
	Family    string
	Container string
	Command   []string
	Env       map[string]string
	// Secrets are the essential container's secrets from its task
	// definition: name → valueFrom (ECS injects their values as
	// environment variables when the container starts).
	Secrets   map[string]string
	StartedBy string
}

// Script says what a task does once RunTask accepted it.
type Script struct {
	// ExitCode is the essential container's exit code when it ends on its own.
	ExitCode int
	// RunSteps is how many Advance calls the task stays RUNNING before its
	// essential container exits; 0 runs until StopTask.
	RunSteps int
	// FailToStart, when set, stops the task from PENDING with stopCode
	// TaskFailedToStart and this stoppedReason
	// (e.g. "CannotPullContainerError: pull image manifest has been retried 5 time(s)").
	FailToStart string
	// DeprovisionSteps is how many Advance calls the task stays in
	// DEPROVISIONING (container already stopped) before it is STOPPED.
	DeprovisionSteps int
	// Logs are appended to the essential container's stream when the task
	// reaches RUNNING; ExitLogs when its container exits.
	Logs, ExitLogs []string
	// StopExitCode is the exit code after StopTask (StopExitCodeDefault when 0).
	StopExitCode int
	// Gate, when set, keeps the task RUNNING until OpenGate(Gate) is
	// called; it then exits with ExitCode (after RunSteps, if set).
	Gate string
}

// ContainerDefinition is the part of an ECS container definition the fake uses.
type ContainerDefinition struct {
	Name  string
	Image string
	// Essential defaults to true, as in ECS.
	Essential *bool
	Command   []string
	// Environment and Secrets (name → valueFrom, a Secrets Manager or
	// SSM Parameter Store ARN) as in the container definition.
	Environment map[string]string
	Secrets     map[string]string
	// LogDriver is "awslogs" or empty; LogOptions are its options
	// (awslogs-group, awslogs-region, awslogs-stream-prefix).
	LogDriver  string
	LogOptions map[string]string
}

// TaskDefinition is a task definition to register.
type TaskDefinition struct {
	Family string
	// NetworkMode: "awsvpc", "bridge", "host" (awsvpc when empty).
	NetworkMode             string
	RequiresCompatibilities []string // e.g. ["FARGATE"]
	CPU, Memory             string
	TaskRoleARN             string
	ExecutionRoleARN        string
	Containers              []ContainerDefinition
}

// Task is a snapshot of a task, for assertions.
type Task struct {
	ARN, ID, ClusterARN, TaskDefinitionARN string
	StartedBy, ClientToken, Group          string
	LastStatus, DesiredStatus              string
	LaunchType, CapacityProvider           string
	PlatformVersion                        string
	Subnets, SecurityGroups                []string
	AssignPublicIP                         string
	Overrides                              []ContainerOverride
	TaskOverride                           TaskOverride
	Tags                                   map[string]string
	StopCode, StoppedReason                string
	ExitCode                               *int
}

// ContainerOverride is one containerOverrides entry as RunTask received it.
type ContainerOverride struct {
	Name        string
	Command     []string
	Environment map[string]string
	CPU, Memory *int32
}

// TaskOverride is the task-level part of RunTask's overrides.
type TaskOverride struct{ CPU, Memory string }

type taskDef struct {
	arn      string
	revision int
	def      TaskDefinition
	at       time.Time
}

type task struct {
	id, arn, clusterARN     string
	def                     *taskDef
	startedBy, clientToken  string
	launchType, capProvider string
	platformVersion         string
	network                 *wireAwsvpc
	overrides               *wireOverrides
	tags                    []wireTag
	lastStatus, desired     string
	script                  Script
	steps                   int
	createdAt, startedAt    time.Time
	stoppingAt, stoppedAt   time.Time
	stopCode, stoppedReason string
	exitCode                *int
	containerReason         string
	version                 int64
	// params is RunTask's request without its clientToken: a reused
	// token with other parameters is a ConflictException.
	params string
	// hidden is how many more DescribeTasks calls report the task
	// MISSING (ECS's eventual consistency right after RunTask).
	hidden int
}

type logEvent struct {
	ts, ingested int64
	message      string
}

type logStream struct {
	created int64
	events  []logEvent
}

// Fake is an in-process ECS and CloudWatch Logs endpoint.
type Fake struct {
	// URL is the endpoint to give the SDK clients as BaseEndpoint.
	URL string

	srv       *httptest.Server
	cfg       Config
	done      chan struct{}
	closeOnce sync.Once
	ticker    sync.WaitGroup

	mu          sync.Mutex
	now         time.Time
	seq         int
	clusters    map[string]string // name → ARN
	defs        map[string][]*taskDef
	tasks       map[string]*task // by ARN
	order       []*task
	tokens      map[string]*task // clusterARN + "\x00" + clientToken
	scripts     []Script
	hideNext    []int
	runFailures []string
	throttle    map[string]int // op ("" = any) → remaining
	injected    map[string][]injectedErr
	calls       map[string]int
	registered  int
	groups      map[string]map[string]*logStream
	gates       map[string]bool
	holds       map[string]chan struct{} // op → closed on release
	held        map[string]int           // op → requests waiting now
}

type injectedErr struct{ code, message string }

// New starts a Fake on 127.0.0.1. Close it when done.
func New(cfg Config) *Fake {
	if cfg.Region == "" {
		cfg.Region = RegionDefault
	}
	if cfg.Account == "" {
		cfg.Account = AccountDefault
	}
	if cfg.Start.IsZero() {
		cfg.Start = StartDefault
	}
	if cfg.Step <= 0 {
		cfg.Step = time.Second
	}
	f := &Fake{
		cfg:      cfg,
		now:      cfg.Start,
		clusters: map[string]string{},
		defs:     map[string][]*taskDef{},
		tasks:    map[string]*task{},
		tokens:   map[string]*task{},
		throttle: map[string]int{},
		injected: map[string][]injectedErr{},
		calls:    map[string]int{},
		groups:   map[string]map[string]*logStream{},
		gates:    map[string]bool{},
		holds:    map[string]chan struct{}{},
		held:     map[string]int{},
	}
	f.srv = httptest.NewServer(f)
	f.URL = f.srv.URL
	f.done = make(chan struct{})
	if cfg.Tick > 0 {
		f.ticker.Add(1)
		go func() {
			defer f.ticker.Done()
			tk := time.NewTicker(cfg.Tick)
			defer tk.Stop()
			for {
				select {
				case <-f.done:
					return
				case <-tk.C:
					f.Advance()
				}
			}
		}()
	}
	return f
}

// Close stops the background ticker and shuts the server down.
func (f *Fake) Close() {
	f.closeOnce.Do(func() { close(f.done) })
	f.ticker.Wait()
	f.srv.Close()
}

// Region is the region in the fake's ARNs.
func (f *Fake) Region() string { return f.cfg.Region }

// Now is the fake clock.
func (f *Fake) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

// AddCluster creates a cluster and returns its ARN.
func (f *Fake) AddCluster(name string) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	arn := fmt.Sprintf("arn:aws:ecs:%s:%s:cluster/%s", f.cfg.Region, f.cfg.Account, name)
	f.clusters[name] = arn
	return arn
}

// RegisterTaskDefinition registers a new revision of def.Family and returns its ARN.
func (f *Fake) RegisterTaskDefinition(def TaskDefinition) string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.register(def)
}

// register adds a revision. Caller holds f.mu.
func (f *Fake) register(def TaskDefinition) string {
	if def.NetworkMode == "" {
		def.NetworkMode = "awsvpc"
	}
	rev := len(f.defs[def.Family]) + 1
	td := &taskDef{
		arn:      fmt.Sprintf("arn:aws:ecs:%s:%s:task-definition/%s:%d", f.cfg.Region, f.cfg.Account, def.Family, rev),
		revision: rev,
		def:      def,
		at:       f.now,
	}
	f.defs[def.Family] = append(f.defs[def.Family], td)
	return td.arn
}

// ScriptNext sets the script of the next task RunTask starts (queued in order).
func (f *Fake) ScriptNext(s Script) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.scripts = append(f.scripts, s)
}

// HideNext makes the next task RunTask starts invisible for a while, as
// ECS's eventual consistency does right after RunTask: its next n
// DescribeTasks calls report it MISSING and ListTasks leaves it out until
// then. Calls queue up.
func (f *Fake) HideNext(describes int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.hideNext = append(f.hideNext, describes)
}

// SetScript replaces the script of a started task (by ID or ARN).
func (f *Fake) SetScript(task string, s Script) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.lookup(task)
	if err != nil {
		return err
	}
	t.script = s
	return nil
}

// OpenGate lets the tasks waiting on gate exit at their next step.
func (f *Fake) OpenGate(gate string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gates[gate] = true
}

// FailRunTask makes the next RunTask answer with failures[{reason}] and no
// task, e.g. "RESOURCE:MEMORY". Calls queue up.
func (f *Fake) FailRunTask(reason string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.runFailures = append(f.runFailures, reason)
}

// Throttle answers the next n requests (ECS and Logs) with ThrottlingException.
func (f *Fake) Throttle(n int) { f.ThrottleOp("", n) }

// ThrottleOp answers the next n requests of one operation ("RunTask",
// "GetLogEvents" …) with ThrottlingException.
func (f *Fake) ThrottleOp(op string, n int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.throttle[op] += n
}

// Hold makes every request of op ("RunTask", "DescribeTasks" …) wait
// without an answer, as a hung endpoint does, until release is called or
// the client gives up (closes the connection). Close releases every hold.
func (f *Fake) Hold(op string) (release func()) {
	f.mu.Lock()
	defer f.mu.Unlock()
	ch, ok := f.holds[op]
	if !ok {
		ch = make(chan struct{})
		f.holds[op] = ch
	}
	var once sync.Once
	return func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			if f.holds[op] == ch {
				delete(f.holds, op)
			}
			close(ch)
		})
	}
}

// Held is how many requests of op wait in a Hold now.
func (f *Fake) Held(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.held[op]
}

// hold waits while op is held; it reports false when the client gave up.
func (f *Fake) hold(r *http.Request, op string) bool {
	f.mu.Lock()
	ch, ok := f.holds[op]
	if ok {
		f.held[op]++
	}
	f.mu.Unlock()
	if !ok {
		return true
	}
	defer func() {
		f.mu.Lock()
		f.held[op]--
		f.mu.Unlock()
	}()
	select {
	case <-ch:
		return true
	case <-r.Context().Done():
		return false
	case <-f.done:
		return true
	}
}

// FailNext answers the next request of op with the error code (e.g.
// "AccessDeniedException", "ServerException") and message.
func (f *Fake) FailNext(op, code, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.injected[op] = append(f.injected[op], injectedErr{code, message})
}

// Calls is how many requests of op the fake received, throttled ones included.
func (f *Fake) Calls(op string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[op]
}

// Forget drops a task, as ECS does about an hour after it stopped:
// DescribeTasks then reports it MISSING.
func (f *Fake) Forget(task string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.lookup(task)
	if err != nil {
		return err
	}
	delete(f.tasks, t.arn)
	for i, o := range f.order {
		if o == t {
			f.order = append(f.order[:i], f.order[i+1:]...)
			break
		}
	}
	for k, o := range f.tokens {
		if o == t {
			delete(f.tokens, k)
		}
	}
	return nil
}

// Tasks returns every known task in start order.
func (f *Fake) Tasks() []Task {
	f.mu.Lock()
	defer f.mu.Unlock()
	out := make([]Task, 0, len(f.order))
	for _, t := range f.order {
		out = append(out, t.snapshot())
	}
	return out
}

// Task returns one task by ID or ARN.
func (f *Fake) Task(task string) (Task, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.lookup(task)
	if err != nil {
		return Task{}, err
	}
	return t.snapshot(), nil
}

// Advance moves the clock one step and every unstopped task one state on.
func (f *Fake) Advance() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(f.cfg.Step)
	for _, t := range f.order {
		f.step(t)
	}
}

// AdvanceTask moves the clock one step and one task one state on.
func (f *Fake) AdvanceTask(task string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.lookup(task)
	if err != nil {
		return err
	}
	f.now = f.now.Add(f.cfg.Step)
	f.step(t)
	return nil
}

// Settle advances until no task changes any more (tasks that run until
// stopped stay RUNNING) and returns the number of steps taken.
func (f *Fake) Settle() int {
	for n := 0; ; n++ {
		f.mu.Lock()
		before := f.fingerprint()
		f.now = f.now.Add(f.cfg.Step)
		for _, t := range f.order {
			f.step(t)
		}
		changed := f.fingerprint() != before
		f.mu.Unlock()
		if !changed || n > 10000 {
			return n
		}
	}
}

func (f *Fake) fingerprint() string {
	var b strings.Builder
	for _, t := range f.order {
		b.WriteString(t.lastStatus)
		b.WriteString(strconv.Itoa(t.steps))
		b.WriteByte(';')
	}
	return b.String()
}

// AppendLog appends lines to the log stream of the task's essential
// container (creating the stream), each one event at the fake clock.
func (f *Fake) AppendLog(task string, lines ...string) error {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.lookup(task)
	if err != nil {
		return err
	}
	group, stream, ok := t.logTarget()
	if !ok {
		return fmt.Errorf("ecsfake: task %s: essential container has no awslogs configuration", t.id)
	}
	f.appendEvents(group, stream, lines)
	return nil
}

// PutLog appends lines to any log stream, creating group and stream.
func (f *Fake) PutLog(group, stream string, lines ...string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.appendEvents(group, stream, lines)
}

// LogStreamName returns the group and stream the task's essential
// container logs to.
func (f *Fake) LogStreamName(task string) (group, stream string, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t, err := f.lookup(task)
	if err != nil {
		return "", "", err
	}
	group, stream, ok := t.logTarget()
	if !ok {
		return "", "", fmt.Errorf("ecsfake: task %s: essential container has no awslogs configuration", t.id)
	}
	return group, stream, nil
}

func (f *Fake) appendEvents(group, stream string, lines []string) {
	s := f.stream(group, stream)
	ms := f.now.UnixMilli()
	for _, l := range lines {
		s.events = append(s.events, logEvent{ts: ms, ingested: ms, message: l})
	}
}

func (f *Fake) stream(group, stream string) *logStream {
	g := f.groups[group]
	if g == nil {
		g = map[string]*logStream{}
		f.groups[group] = g
	}
	s := g[stream]
	if s == nil {
		s = &logStream{created: f.now.UnixMilli()}
		g[stream] = s
	}
	return s
}

func (f *Fake) lookup(ref string) (*task, error) {
	if t, ok := f.tasks[ref]; ok {
		return t, nil
	}
	for _, t := range f.order {
		if t.id == ref {
			return t, nil
		}
	}
	return nil, fmt.Errorf("ecsfake: no task %q", ref)
}

func (f *Fake) newTaskID() string {
	f.seq++
	sum := sha256.Sum256([]byte("ecsfake-task-" + strconv.Itoa(f.seq)))
	return hex.EncodeToString(sum[:16])
}

// step moves one task one state on. Caller holds f.mu.
func (f *Fake) step(t *task) {
	switch t.lastStatus {
	case "PROVISIONING":
		if t.desired == "STOPPED" {
			f.stop(t, nil)
			return
		}
		t.lastStatus = "PENDING"
	case "PENDING":
		if t.desired == "STOPPED" {
			f.stop(t, nil)
			return
		}
		if t.script.FailToStart != "" {
			t.desired = "STOPPED"
			t.stopCode = "TaskFailedToStart"
			t.stoppedReason = t.script.FailToStart
			t.containerReason = t.script.FailToStart
			f.stop(t, nil)
			return
		}
		t.lastStatus = "RUNNING"
		t.startedAt = f.now
		t.steps = 0
		if group, stream, ok := t.logTarget(); ok {
			f.appendEvents(group, stream, t.script.Logs)
		}
	case "RUNNING":
		if t.desired == "STOPPED" {
			code := t.script.StopExitCode
			if code == 0 {
				code = StopExitCodeDefault
			}
			f.exit(t, code)
			return
		}
		if t.script.Gate != "" && !f.gates[t.script.Gate] {
			return
		}
		t.steps++
		if (t.script.RunSteps > 0 && t.steps >= t.script.RunSteps) || (t.script.RunSteps == 0 && t.script.Gate != "") {
			t.desired = "STOPPED"
			t.stopCode = "EssentialContainerExited"
			t.stoppedReason = "Essential container in task exited"
			f.exit(t, t.script.ExitCode)
		}
	case "DEPROVISIONING":
		t.steps++
		if t.steps >= t.script.DeprovisionSteps {
			t.lastStatus = "STOPPED"
			t.stoppedAt = f.now
		}
	default:
		return
	}
	t.version++
}

func (f *Fake) exit(t *task, code int) {
	c := code
	if group, stream, ok := t.logTarget(); ok {
		f.appendEvents(group, stream, t.script.ExitLogs)
	}
	if t.script.DeprovisionSteps > 0 {
		t.exitCode = &c
		t.lastStatus = "DEPROVISIONING"
		t.steps = 0
		if t.stoppingAt.IsZero() {
			t.stoppingAt = f.now
		}
		t.version++
		return
	}
	f.stop(t, &c)
}

func (f *Fake) stop(t *task, code *int) {
	if code != nil {
		t.exitCode = code
	}
	if t.stopCode == "" {
		t.stopCode = "UserInitiated"
	}
	t.lastStatus = "STOPPED"
	t.desired = "STOPPED"
	if t.stoppingAt.IsZero() {
		t.stoppingAt = f.now
	}
	t.stoppedAt = f.now
	t.version++
}

func (t *task) essential() (ContainerDefinition, bool) {
	for _, c := range t.def.def.Containers {
		if c.Essential == nil || *c.Essential {
			return c, true
		}
	}
	return ContainerDefinition{}, false
}

func (t *task) logTarget() (group, stream string, ok bool) {
	c, ok := t.essential()
	if !ok || c.LogDriver != "awslogs" {
		return "", "", false
	}
	group = c.LogOptions["awslogs-group"]
	prefix := c.LogOptions["awslogs-stream-prefix"]
	if group == "" || prefix == "" {
		return "", "", false
	}
	return group, prefix + "/" + c.Name + "/" + t.id, true
}

func (t *task) snapshot() Task {
	s := Task{
		ARN: t.arn, ID: t.id, ClusterARN: t.clusterARN, TaskDefinitionARN: t.def.arn,
		StartedBy: t.startedBy, ClientToken: t.clientToken, Group: "family:" + t.def.def.Family,
		LastStatus: t.lastStatus, DesiredStatus: t.desired,
		LaunchType: t.launchType, CapacityProvider: t.capProvider, PlatformVersion: t.platformVersion,
		StopCode: t.stopCode, StoppedReason: t.stoppedReason,
		Tags: map[string]string{},
	}
	if t.exitCode != nil {
		c := *t.exitCode
		s.ExitCode = &c
	}
	if t.network != nil {
		s.Subnets = append([]string(nil), t.network.Subnets...)
		s.SecurityGroups = append([]string(nil), t.network.SecurityGroups...)
		s.AssignPublicIP = t.network.AssignPublicIP
	}
	for _, tg := range t.tags {
		s.Tags[tg.Key] = tg.Value
	}
	if t.overrides != nil {
		s.TaskOverride = TaskOverride{CPU: t.overrides.CPU, Memory: t.overrides.Memory}
		for _, o := range t.overrides.ContainerOverrides {
			co := ContainerOverride{Name: o.Name, Command: o.Command, CPU: o.CPU, Memory: o.Memory, Environment: map[string]string{}}
			for _, kv := range o.Environment {
				co.Environment[kv.Name] = kv.Value
			}
			s.Overrides = append(s.Overrides, co)
		}
	}
	return s
}
