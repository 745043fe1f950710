// Package ecs runs Koyomi jobs as Amazon ECS tasks (aws-sdk-go-v2; this is
// the only package that imports the ECS and CloudWatch Logs SDKs).
//
// # Connections
//
// An Executor holds named Connections (region, optional role to assume
// with an external id, optional shared-config profile, optional endpoint
// URLs for VPC endpoints and tests). Base credentials come from the default
// chain (environment, shared files, SSO, container/instance roles) or
// Config.Credentials; a RoleARN is assumed through STS on top of them and
// the result cached. Clients are created on first use. The external id is
// never printed: Connection.String and LogValue redact it.
//
// # Start and idempotency
//
// Start derives two names from Request.Key: clientToken = key (ECS allows 64
// characters) and startedBy = StartedBy(key) (36 characters: the key, or a
// prefix plus a hash when longer). Before RunTask it lists the cluster's
// tasks with that startedBy (ECS allows it only as the sole filter, which
// lists tasks whose desired status is RUNNING) and, if one exists, returns
// its handle: this is the re-attach after a crash between RunTask and
// recording the handle. A task that already stopped, and concurrent or
// repeated starts that both miss the list, are found by clientToken, for
// which ECS returns the first call's task.
// Residual risk: ECS lists stopped tasks for about an hour and remembers
// client tokens for a limited time, so a start repeated after a very long
// outage could run again; the runner records the key before it calls out,
// which keeps that window to a crash plus such an outage.
//
// RunTask answering ConflictException (the clientToken was used with other
// parameters: the definition changed between a crash and the retry) names
// the tasks already started with it; the oldest is adopted as the attempt's.
//
// RunTask gets the cluster, task definition, launch type or capacity
// provider strategy, platform version, awsvpc configuration, tags
// (koyomi:installation, koyomi:run-id, koyomi:jobnet, koyomi:unit, koyomi:key, koyomi:attempt,
// koyomi:business-date, then the job's own) and one container override for
// the named container or the task definition's first essential one: command,
// the whole Request.Env (sorted) and cpu/memory; the task-level cpu and
// memory (ECSSpec.TaskCPU/TaskMemory, checked against Fargate's sizes). The
// container overrides must fit ECS's 8192 characters of JSON
// (ContainerOverridesMax); larger ones fail the start before RunTask with
// the size and what takes the room. The task definition is described to
// choose that container and find its awslogs options; family references
// are cached for TaskDefinitionTTL, pinned revisions for good.
//
// Secrets (ECSSpec.Secrets, name → Secrets Manager or SSM ARN) cannot go in
// container overrides. A job with secrets runs a task definition derived
// from its own with the secrets added to its container, registered under
// the family SecretsFamily (base family, "-koyomi-", a hash of the base
// revision ARN, the container and the references): looked up by that
// family first (DescribeTaskDefinition), registered only when absent, and
// cached, so each combination is registered once, also across restarts.
//
// The key begins with the installation id (jobrun.DispatchKey), so two
// installations sharing a cluster never list or adopt each other's tasks.
//
// # Retries and errors
//
// Every operation has a deadline (Config.CallTimeout, SDK middleware at the
// initialize step, so it covers the SDK's retries, signing and credential
// refresh): an operation without an answer by then fails with a
// RetryableError naming the operation and the deadline.
//
// Every call goes through the SDK's standard retryer (Config.MaxAttempts,
// Config.MaxBackoff, jittered exponential backoff; the client-side retry
// quota is off). What is left after that is classified:
//
//   - 5xx and passing transport errors (timeouts, resets): *RetryableError
//     (dispatch.IsRetryable is true); the runner tries again later with the
//     same key, so nothing runs twice;
//   - RunTask failures for capacity (RESOURCE:CPU/MEMORY/PORTS/ENI/GPU,
//     AGENT, Fargate "Capacity is unavailable"): *RunTaskFailure; a
//     ClientException about a full quota (PROVISIONING, limit, quota) and
//     throttling left after every SDK attempt: *CapacityError. Both are
//     retryable and report Capacity, so the runner retries them within the
//     job's capacity budget (dispatch.IsCapacity). The retry reuses the key
//     as clientToken; this assumes ECS does not replay a placement failure
//     for a token (the fake behaves so; not yet confirmed against AWS, see
//     the awslive test);
//   - a connection that cannot work: a host that does not exist, nothing
//     listening at the endpoint, a certificate that does not verify, a bad
//     endpoint URL, no credentials: *dispatch.Permanent at once, and the
//     SDK's retryer does not retry them either (noRetryUnusable), so such a
//     job fails to start in seconds;
//   - other RunTask failures (ATTRIBUTE, LOCATION, unknown reasons) and
//     rejected requests (ClientException, InvalidParameterException,
//     ClusterNotFoundException, access denied, bad configuration):
//     *dispatch.Permanent, which the runner records as failed to start with
//     the message as reason; they unwrap to fault.ErrInvalid, ErrNotFound or
//     ErrForbidden.
//
// # Rate limits
//
// Each connection's calls pass token buckets (golang.org/x/time/rate, SDK
// middleware after the retry step, so every attempt counts): Config.Rates,
// by default RunTask 10, DescribeTasks 20, GetLogEvents 10 and the rest 20
// per second, each with a burst of its rate, below the account quotas. A
// wait that would outlast the call's deadline fails as retryable at once.
//
// # State mapping (StatusOf)
//
//	lastStatus PROVISIONING, PENDING, ACTIVATING                pending
//	lastStatus RUNNING, DEACTIVATING, STOPPING, DEPROVISIONING  running
//	STOPPED + stopCode TaskFailedToStart                        failed_to_start
//	STOPPED + stopCode UserInitiated                            cancelled (exit code kept)
//	STOPPED + stopCode SpotInterruption, TerminationNotice      lost: the job did not end on its own
//	STOPPED + exit code of the job's container                  exited
//	STOPPED without exit code, never started                    failed_to_start
//	STOPPED without exit code, had started                      lost
//	DescribeTasks failure MISSING within MissingGrace of createdAt pending
//	DescribeTasks failure MISSING later, cluster gone           lost
//
// ECS is eventually consistent right after RunTask, so a MISSING task is
// pending for Config.MissingGrace after its createdAt (kept in the handle).
// Later, MISSING means ECS forgot the task (about an hour after it
// stopped): lost, with a reason that says its outcome cannot be learned
// and where its CloudWatch log still is (the stream name derives from the
// task id, so Logs keeps working).
//
// A task is terminal only once STOPPED: the container's exit code may be
// known in DEPROVISIONING, but the task still holds its resources. Reason
// is "<stopCode>: <stoppedReason>; container <name>: exit code N, <reason>".
// Statuses describes up to 100 tasks per DescribeTasks call, grouped by
// connection and cluster.
//
// # Cancel
//
// Cancel calls StopTask with Config.StopReason. ECS sends SIGTERM and, after
// the container's stopTimeout (task definition, 30 s default, 120 s max),
// SIGKILL; the grace argument cannot change that per call. Stopping a task
// that already stopped or that ECS forgot is not an error.
//
// # Logs
//
// The handle records the awslogs group and stream
// (<awslogs-stream-prefix>/<container>/<task-id>, region from awslogs-region).
// Logs reads with GetLogEvents from the head; each event is one line. The
// cursor is "cw1:<events consumed>:<bytes of the next event>:<forward
// token>", so a chunk can end anywhere, even inside an event, and resumes
// without loss or duplication. A stream that does not exist yet reads as
// empty with the cursor unchanged; logs stay readable after the task ends
// for as long as the log group keeps them. A short page ends a read
// without a second call (GetLogEvents allows 25 calls a second per account).
package ecs
