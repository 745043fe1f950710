package ecsfake

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"
)

const (
	contentType = "application/x-amz-json-1.1"
	ecsPrefix   = "AmazonEC2ContainerServiceV20141113."
	logsPrefix  = "Logs_20140328."
)

// apiError is an AWS JSON 1.1 error response.
type apiError struct {
	status  int
	code    string
	message string
	// extra members of the error shape (ConflictException resourceIds).
	extra map[string]any
}

func (e *apiError) Error() string { return e.code + ": " + e.message }

func errf(status int, code, format string, args ...any) *apiError {
	return &apiError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

func invalidParam(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "InvalidParameterException", format, args...)
}

func clientErr(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "ClientException", format, args...)
}

// statusOf gives the HTTP status AWS uses for an error code.
func statusOf(code string) int {
	switch code {
	case "ServerException", "ServiceUnavailableException", "InternalFailure":
		return http.StatusInternalServerError
	case "AccessDeniedException":
		return http.StatusBadRequest
	}
	return http.StatusBadRequest
}

// epochSeconds marshals as epoch seconds with millisecond precision, a JSON number.
type epochSeconds time.Time

func (e epochSeconds) MarshalJSON() ([]byte, error) {
	ms := time.Time(e).UnixMilli()
	return []byte(strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64)), nil
}

func ts(t time.Time) *epochSeconds {
	if t.IsZero() {
		return nil
	}
	e := epochSeconds(t)
	return &e
}

func (f *Fake) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	reqID := uuid.NewString()
	w.Header().Set("X-Amzn-RequestId", reqID)
	w.Header().Set("Content-Type", contentType)
	target := r.Header.Get("X-Amz-Target")
	if _, op, ok := strings.Cut(target, "."); ok && !f.hold(r, op) {
		return // the client gave up waiting
	}
	out, aerr := f.serve(r)
	if aerr != nil {
		w.Header().Set("X-Amzn-ErrorType", aerr.code)
		w.WriteHeader(aerr.status)
		shape := map[string]any{"__type": aerr.code, "message": aerr.message}
		for k, v := range aerr.extra {
			shape[k] = v
		}
		body, _ := json.Marshal(shape)
		_, _ = w.Write(body)
		return
	}
	body, err := json.Marshal(out)
	if err != nil {
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = fmt.Fprintf(w, `{"__type":"InternalFailure","message":%q}`, err.Error())
		return
	}
	_, _ = w.Write(body)
}

func (f *Fake) serve(r *http.Request) (any, *apiError) {
	if r.Method != http.MethodPost || r.URL.Path != "/" {
		return nil, errf(http.StatusNotFound, "UnknownOperationException", "%s %s is not an operation", r.Method, r.URL.Path)
	}
	target := r.Header.Get("X-Amz-Target")
	var op, service string
	switch {
	case strings.HasPrefix(target, ecsPrefix):
		op, service = strings.TrimPrefix(target, ecsPrefix), "ecs"
	case strings.HasPrefix(target, logsPrefix):
		op, service = strings.TrimPrefix(target, logsPrefix), "logs"
	default:
		return nil, errf(http.StatusBadRequest, "UnknownOperationException", "unknown X-Amz-Target %q", target)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, contentType) {
		return nil, errf(http.StatusBadRequest, "SerializationException", "content type %q is not %s", ct, contentType)
	}
	auth := r.Header.Get("Authorization")
	if auth == "" {
		return nil, errf(http.StatusForbidden, "MissingAuthenticationTokenException", "Missing Authentication Token")
	}
	if !strings.HasPrefix(auth, "AWS4-HMAC-SHA256 Credential=") || !strings.Contains(auth, "/"+service+"/aws4_request") {
		return nil, errf(http.StatusBadRequest, "IncompleteSignatureException", "Authorization header is not a SigV4 signature for service %s", service)
	}
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, errf(http.StatusBadRequest, "SerializationException", "read body: %v", err)
	}

	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls[op]++
	if f.throttle[op] > 0 {
		f.throttle[op]--
		return nil, errf(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	}
	if f.throttle[""] > 0 {
		f.throttle[""]--
		return nil, errf(http.StatusBadRequest, "ThrottlingException", "Rate exceeded")
	}
	if q := f.injected[op]; len(q) > 0 {
		f.injected[op] = q[1:]
		return nil, errf(statusOf(q[0].code), q[0].code, "%s", q[0].message)
	}
	h, ok := f.handler(service, op)
	if !ok {
		return nil, errf(http.StatusBadRequest, "UnknownOperationException", "operation %s is not supported by ecsfake", op)
	}
	return h(body)
}

func (f *Fake) handler(service, op string) (func([]byte) (any, *apiError), bool) {
	if service == "ecs" {
		switch op {
		case "RunTask":
			return f.runTask, true
		case "DescribeTasks":
			return f.describeTasks, true
		case "StopTask":
			return f.stopTask, true
		case "ListTasks":
			return f.listTasks, true
		case "DescribeTaskDefinition":
			return f.describeTaskDefinition, true
		case "RegisterTaskDefinition":
			return f.registerTaskDefinition, true
		}
		return nil, false
	}
	switch op {
	case "GetLogEvents":
		return f.getLogEvents, true
	}
	return nil, false
}

func decode(body []byte, v any) *apiError {
	if len(body) == 0 {
		body = []byte("{}")
	}
	if err := json.Unmarshal(body, v); err != nil {
		return errf(http.StatusBadRequest, "SerializationException", "cannot decode request: %v", err)
	}
	return nil
}

// Wire shapes: lowerCamel member names as in the SDK's snapshots; optional
// members absent (omitempty, pointers) rather than null.

type wireTag struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

type wireKV struct {
	Name  string `json:"name"`
	Value string `json:"value"`
}

type wireContainerOverride struct {
	Name              string   `json:"name,omitempty"`
	Command           []string `json:"command,omitempty"`
	Environment       []wireKV `json:"environment,omitempty"`
	CPU               *int32   `json:"cpu,omitempty"`
	Memory            *int32   `json:"memory,omitempty"`
	MemoryReservation *int32   `json:"memoryReservation,omitempty"`
}

type wireOverrides struct {
	ContainerOverrides []wireContainerOverride `json:"containerOverrides,omitempty"`
	CPU                string                  `json:"cpu,omitempty"`
	Memory             string                  `json:"memory,omitempty"`
	TaskRoleArn        string                  `json:"taskRoleArn,omitempty"`
	ExecutionRoleArn   string                  `json:"executionRoleArn,omitempty"`
}

type wireAwsvpc struct {
	Subnets        []string `json:"subnets"`
	SecurityGroups []string `json:"securityGroups,omitempty"`
	AssignPublicIP string   `json:"assignPublicIp,omitempty"`
}

type wireNetwork struct {
	AwsvpcConfiguration *wireAwsvpc `json:"awsvpcConfiguration,omitempty"`
}

type wireCapacityProvider struct {
	CapacityProvider string `json:"capacityProvider"`
	Weight           int32  `json:"weight,omitempty"`
	Base             int32  `json:"base,omitempty"`
}

type wireContainer struct {
	ContainerArn string `json:"containerArn"`
	TaskArn      string `json:"taskArn"`
	Name         string `json:"name"`
	Image        string `json:"image,omitempty"`
	LastStatus   string `json:"lastStatus"`
	ExitCode     *int   `json:"exitCode,omitempty"`
	Reason       string `json:"reason,omitempty"`
	RuntimeID    string `json:"runtimeId,omitempty"`
}

type wireTask struct {
	TaskArn              string           `json:"taskArn"`
	ClusterArn           string           `json:"clusterArn"`
	TaskDefinitionArn    string           `json:"taskDefinitionArn"`
	LastStatus           string           `json:"lastStatus"`
	DesiredStatus        string           `json:"desiredStatus"`
	LaunchType           string           `json:"launchType,omitempty"`
	CapacityProviderName string           `json:"capacityProviderName,omitempty"`
	PlatformVersion      string           `json:"platformVersion,omitempty"`
	StartedBy            string           `json:"startedBy,omitempty"`
	Group                string           `json:"group"`
	CPU                  string           `json:"cpu,omitempty"`
	Memory               string           `json:"memory,omitempty"`
	Containers           []wireContainer  `json:"containers"`
	Overrides            *wireOverrides   `json:"overrides,omitempty"`
	Tags                 []wireTag        `json:"tags,omitempty"`
	CreatedAt            *epochSeconds    `json:"createdAt,omitempty"`
	PullStartedAt        *epochSeconds    `json:"pullStartedAt,omitempty"`
	PullStoppedAt        *epochSeconds    `json:"pullStoppedAt,omitempty"`
	StartedAt            *epochSeconds    `json:"startedAt,omitempty"`
	StoppingAt           *epochSeconds    `json:"stoppingAt,omitempty"`
	StoppedAt            *epochSeconds    `json:"stoppedAt,omitempty"`
	ExecutionStoppedAt   *epochSeconds    `json:"executionStoppedAt,omitempty"`
	StopCode             string           `json:"stopCode,omitempty"`
	StoppedReason        string           `json:"stoppedReason,omitempty"`
	Version              int64            `json:"version"`
	Attachments          []wireAttachment `json:"attachments,omitempty"`
	AvailabilityZone     string           `json:"availabilityZone,omitempty"`
	Connectivity         string           `json:"connectivity,omitempty"`
	ConnectivityAt       *epochSeconds    `json:"connectivityAt,omitempty"`
	EnableExecuteCommand bool             `json:"enableExecuteCommand"`
}

type wireAttachment struct {
	ID      string   `json:"id"`
	Type    string   `json:"type"`
	Status  string   `json:"status"`
	Details []wireKV `json:"details"`
}

type wireFailure struct {
	Arn    string `json:"arn,omitempty"`
	Reason string `json:"reason,omitempty"`
	Detail string `json:"detail,omitempty"`
}

func (f *Fake) wire(t *task, withTags bool) wireTask {
	w := wireTask{
		TaskArn:           t.arn,
		ClusterArn:        t.clusterARN,
		TaskDefinitionArn: t.def.arn,
		LastStatus:        t.lastStatus,
		DesiredStatus:     t.desired,
		LaunchType:        t.launchType,
		PlatformVersion:   t.platformVersion,
		StartedBy:         t.startedBy,
		Group:             "family:" + t.def.def.Family,
		CPU:               t.def.def.CPU,
		Memory:            t.def.def.Memory,
		Overrides:         t.overrides,
		CreatedAt:         ts(t.createdAt),
		StartedAt:         ts(t.startedAt),
		StoppingAt:        ts(t.stoppingAt),
		StoppedAt:         ts(t.stoppedAt),
		StopCode:          t.stopCode,
		StoppedReason:     t.stoppedReason,
		Version:           t.version,
		AvailabilityZone:  f.cfg.Region + "a",
	}
	if t.capProvider != "" {
		w.CapacityProviderName = t.capProvider
	}
	if o := t.overrides; o != nil {
		if o.CPU != "" {
			w.CPU = o.CPU
		}
		if o.Memory != "" {
			w.Memory = o.Memory
		}
	}
	if w.Overrides == nil {
		w.Overrides = &wireOverrides{}
	}
	if t.lastStatus != "PROVISIONING" {
		w.PullStartedAt = ts(t.createdAt)
	}
	if !t.startedAt.IsZero() {
		w.PullStoppedAt = ts(t.startedAt)
		w.Connectivity = "CONNECTED"
		w.ConnectivityAt = ts(t.startedAt)
	}
	if t.lastStatus == "STOPPED" || t.lastStatus == "DEPROVISIONING" {
		w.ExecutionStoppedAt = ts(t.stoppingAt)
	}
	if t.network != nil {
		st := "ATTACHED"
		switch t.lastStatus {
		case "PROVISIONING":
			st = "PRECREATED"
		case "STOPPED":
			st = "DELETED"
		}
		details := []wireKV{{Name: "subnetId", Value: t.network.Subnets[0]}, {Name: "networkInterfaceId", Value: "eni-" + t.id[:17]}}
		w.Attachments = []wireAttachment{{ID: t.id[:8] + "-eni", Type: "ElasticNetworkInterface", Status: st, Details: details}}
	}
	if withTags {
		w.Tags = t.tags
	}
	ess, _ := t.essential()
	for _, c := range t.def.def.Containers {
		wc := wireContainer{
			ContainerArn: fmt.Sprintf("arn:aws:ecs:%s:%s:container/%s/%s/%s", f.cfg.Region, f.cfg.Account, clusterName(t.clusterARN), t.id, c.Name),
			TaskArn:      t.arn,
			Name:         c.Name,
			Image:        c.Image,
			LastStatus:   containerStatus(t.lastStatus),
		}
		if !t.startedAt.IsZero() {
			wc.RuntimeID = t.id + "-" + c.Name
		}
		if c.Name == ess.Name {
			if t.exitCode != nil {
				code := *t.exitCode
				wc.ExitCode = &code
			}
			wc.Reason = t.containerReason
		} else if t.lastStatus == "STOPPED" && !t.startedAt.IsZero() {
			code := 0
			wc.ExitCode = &code
		}
		w.Containers = append(w.Containers, wc)
	}
	return w
}

func containerStatus(task string) string {
	switch task {
	case "PROVISIONING", "PENDING", "ACTIVATING":
		return "PENDING"
	case "DEPROVISIONING", "STOPPED":
		return "STOPPED"
	}
	return "RUNNING"
}

func clusterName(arn string) string {
	if i := strings.LastIndex(arn, "/"); i >= 0 {
		return arn[i+1:]
	}
	return arn
}
