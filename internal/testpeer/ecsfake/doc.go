// Package ecsfake is an in-process double of Amazon ECS and CloudWatch Logs
// that speaks the AWS JSON 1.1 wire protocol, so tests drive the real
// aws-sdk-go-v2 clients (serializers, error mapping, retryer) against it
// through BaseEndpoint and static credentials.
//
// Protocol: POST / with X-Amz-Target AmazonEC2ContainerServiceV20141113.<Op>
// or Logs_20140328.<Op> and Content-Type application/x-amz-json-1.1; the
// Authorization header must be a SigV4 header for the right service (the
// signature itself is not checked). Answers carry X-Amzn-RequestId; errors
// are {"__type": code, "message": …} with 4xx/5xx status; timestamps are
// epoch seconds as JSON numbers (log timestamps epoch milliseconds); optional
// members are absent, never null.
//
// Operations: RunTask (validation as in the API reference: cluster, task
// definition, launch type vs capacity provider strategy, awsvpc network
// configuration for FARGATE and awsvpc task definitions, override container
// names, the 8192-character limit of container overrides, task-level
// cpu/memory against Fargate's sizes, startedBy, tags; clientToken
// idempotency, and ConflictException with resourceIds when a token comes
// back with other parameters; failures on demand), DescribeTasks (at most
// 100, unknown ARNs as failures MISSING, include TAGS), StopTask, ListTasks
// (cluster, startedBy, family, desiredStatus, pagination),
// DescribeTaskDefinition, RegisterTaskDefinition (family name, Fargate
// sizes, image, secrets valueFrom references that need an execution role),
// and GetLogEvents (forward and
// backward tokens "f/N", "b/N"; the same forward token comes back when there
// is nothing new; ResourceNotFoundException for a stream the container has
// not created yet; 10,000 events or 1 MB per page).
//
// Life cycle: PROVISIONING → PENDING → RUNNING → (DEPROVISIONING) → STOPPED,
// one state per Advance (or per Tick in the background, or per DescribeTasks
// with AdvanceOnDescribe). What a task does is its Script: exit code and
// run length, a gate to wait on, lines to log when it starts and when it
// exits, or a start failure. Test hooks: ScriptNext, Config.ScriptFor,
// FailRunTask, Throttle/ThrottleOp, FailNext, AppendLog, OpenGate, Forget
// (ECS forgetting a stopped task), HideNext (a new task MISSING from
// DescribeTasks and ListTasks for its first describes, as ECS's eventual
// consistency has it), Registered, TaskDefinition, Calls (per-operation counter) and Tasks
// (what RunTask received). The fake clock starts at StartDefault and moves
// one Step per Advance.
package ecsfake
