// Package eks runs Koyomi jobs on Kubernetes (Amazon EKS or any cluster) as
// a pod or, with mode "job", as a batch/v1 Job. It is the only package that
// imports client-go.
//
// # Connections
//
// Config names connections; a job picks one with EKSSpec.Connection (or
// the default). A connection reaches its API server by a kubeconfig file
// and context, by the in-cluster service account, or, for EKS, by cluster
// name, region, endpoint and CA with an IAM bearer token: a presigned STS
// GetCallerIdentity URL that carries the signed x-k8s-aws-id header, encoded
// as "k8s-aws-v1." + base64url (the scheme of aws-iam-authenticator and
// `aws eks get-token`). Tokens are cached for 10 minutes (EKS accepts them
// for 15), or until a minute before the AWS credentials that signed them
// expire when that is sooner (TokenRenewAt). The IAM principal must be mapped to a Kubernetes user by an EKS
// access entry or the aws-auth ConfigMap; docs/eks.md lists the RBAC rules.
//
// # Objects
//
// Start creates one object named "koyomi-<key>" from the request's
// idempotency key (when that exceeds 63 characters, the key is cut and a
// hash of the whole key appended). The pod has one container "job" with the
// spec's image, command, args, resources, service account, node selector
// and tolerations, every Request.Env variable in name order, and
// restartPolicy Never. A Job has backoffLimit 0 and one completion: retries
// are Koyomi's decision, not the Job controller's. Objects carry the labels
// app.kubernetes.io/managed-by=koyomi, koyomi.dev/run-id, koyomi.dev/unit and
// koyomi.dev/key (sanitised to label values) and the same values unabridged
// as annotations, plus the spec's own labels and annotations.
//
// With Config.Installation set, every object (and a Job's pod template) is
// labelled koyomi.dev/installation, the informers select on it as well, and
// Start refuses an existing object of its name that another installation
// labelled: installations sharing a cluster never see or adopt each
// other's pods.
//
// # Deadlines
//
// Start, Status, Logs and Cancel each run under Config.CallTimeout with
// every API call they make; when it runs out (and the caller's context did
// not), the error is retryable and says the API server did not answer.
//
// # Idempotency
//
// A Start whose create answers AlreadyExists reads the existing object and
// returns its handle, so a second Start with the same key, from this or a
// restarted process, never makes a second pod. An existing object whose
// koyomi.dev/key annotation names another key is a conflict. The handle
// records connection, namespace, name, mode, cleanup policy and the
// object's uid; an object of that name with another uid is not ours.
//
// # Watching
//
// Each connection and namespace has one shared informer for pods and, once
// a job-mode job is used there, one for Jobs, both restricted to the
// managed-by label: N running jobs cost one watch per kind, not N polls.
// Status reads the informer cache and falls back to a GET when the cache has
// not synced or does not hold the object yet (right after the create).
// When an object disappears, the informer's delete event records its last
// status for TombstoneTTL, so Status after a cleanup still reports the end.
//
// # Status mapping (PodStatus)
//
//	job container terminated            exited, exit code and reason
//	  reason StartError/ContainerCannotRun  failed_to_start (command missing)
//	Pending, PodScheduled=False/Unschedulable
//	  for longer than UnschedulableLimit    failed_to_start, scheduler message
//	  otherwise                             pending
//	container waiting InvalidImageName/ErrImageNeverPull
//	                                        failed_to_start at once
//	container waiting ErrImagePull/ImagePullBackOff/CreateContainerConfigError/
//	  CreateContainerError for longer than StartErrorLimit (since the
//	  kubelet accepted the pod)             failed_to_start
//	Pending otherwise                       pending
//	Running (Unknown: node silent)          running
//	Succeeded/Failed, no container result   failed_to_start when it never
//	                                        ran (admission, eviction before
//	                                        start), else lost
//	pod gone, last state was an end         that end
//	pod gone otherwise                      lost ("pod deleted")
//	any end after Cancel                    cancelled (exit code kept)
//
// In job mode (JobStatus) the newest pod of the Job decides as above; with
// no pod, Complete/SuccessCriteriaMet means exited 0 and Failed/FailureTarget
// failed_to_start with the Job's reason.
//
// # Logs
//
// While a pod runs, Logs reads pods/log of the job container. The cursor is
// a decimal byte offset into the whole log; a chunk ends after its last
// line break within the limit when it has one, and the next chunk starts
// exactly where it ended, so no byte is read twice or skipped. (A log
// rotated by the kubelet restarts shorter than the cursor; Logs then
// returns nothing until it grows past it.)
//
// Once an execution has ended, its log is kept (Config.LogDir): the first
// status read or sweep that sees the end starts reading the whole log,
// streamed to <LogDir>/<namespace>/<name>/log under the size cap LogMax
// (the first quarter and the last three quarters are kept, the part
// between is a hole in the file, and readers get a line saying what was
// cut), followed by record.json with the end status. From then on Logs and
// LogTail read the file — in the same cursor space — also after the pod is
// gone and after a restart, and Status of a vanished object answers from
// the record. TailLines (dispatch.LineTailer, the alert's tail) reads the
// file's end, or pods/log with tailLines before the log is kept: never the
// log from its start. Kept logs are removed after LogRetention.
//
// Log reads of a connection share a limiter (Connection.LogQPS), and all
// its API calls client-go's token bucket (QPS, Burst).
//
// # Cancel and cleanup
//
// Cancel deletes the pod with the grace period as terminationGracePeriod
// override (SIGTERM, SIGKILL after grace); in job mode it deletes the Job
// and its pods. Cancelling an ended execution does nothing.
//
// Cleanup never depends on anyone reading a log. Every SweepInterval the
// executor looks at the ended objects in its informer caches: it starts
// keeping the logs not kept yet, and deletes an object whose policy
// (annotation koyomi.dev/cleanup, from the spec's cleanup, "delete" by
// default) is delete once its log has been kept for CleanupAfter,
// remembering its status first; with "keep" the object stays for
// inspection. Without LogDir an ended object is deleted CleanupAfter after
// a sweep first saw it ended.
//
// # Unusable connections
//
// A Start that fails because the connection cannot work — the API
// server's host does not resolve, nothing listens, its certificate is not
// trusted, no EKS token can be signed, 401, or 403 other than an exceeded
// quota — is a dispatch.Permanent error with the reason: none of these
// created anything, so the job ends failed to start at once. Timeouts,
// throttling and server errors stay retryable.
package eks
