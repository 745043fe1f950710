package ecsfake_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/credentials"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	logtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"
	"github.com/aws/aws-sdk-go-v2/service/ecs"
	"github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/testpeer/ecsfake"
)

func setup(t *testing.T) (*ecsfake.Fake, *ecs.Client, *cloudwatchlogs.Client) {
	t.Helper()
	f := ecsfake.New(ecsfake.Config{})
	t.Cleanup(f.Close)
	f.AddCluster("batch")
	f.RegisterTaskDefinition(ecsfake.TaskDefinition{Family: "etl", Containers: []ecsfake.ContainerDefinition{
		{Name: "app", Image: "app:1", LogDriver: "awslogs", LogOptions: map[string]string{"awslogs-group": "/etl", "awslogs-stream-prefix": "p"}},
	}})
	f.RegisterTaskDefinition(ecsfake.TaskDefinition{Family: "bridge", NetworkMode: "bridge", Containers: []ecsfake.ContainerDefinition{{Name: "app"}}})
	cfg := aws.Config{
		Region:      f.Region(),
		Credentials: credentials.NewStaticCredentialsProvider("AKID", "SECRET", ""),
	}
	ec := ecs.NewFromConfig(cfg, func(o *ecs.Options) { o.BaseEndpoint = aws.String(f.URL); o.RetryMaxAttempts = 1 })
	lc := cloudwatchlogs.NewFromConfig(cfg, func(o *cloudwatchlogs.Options) { o.BaseEndpoint = aws.String(f.URL); o.RetryMaxAttempts = 1 })
	return f, ec, lc
}

var vpc = &types.NetworkConfiguration{AwsvpcConfiguration: &types.AwsVpcConfiguration{Subnets: []string{"subnet-1"}}}

func TestRawProtocol(t *testing.T) {
	f, ec, _ := setup(t)
	ctx := context.Background()
	out, err := ec.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("batch"), TaskDefinition: aws.String("etl"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: vpc})
	require.NoError(t, err)
	arn := aws.ToString(out.Tasks[0].TaskArn)
	require.Regexp(t, `^arn:aws:ecs:ap-northeast-1:123456789012:task/batch/[0-9a-f]{32}$`, arn)

	post := func(target, auth, body string) (*http.Response, map[string]any) {
		rq, err := http.NewRequest(http.MethodPost, f.URL+"/", strings.NewReader(body))
		require.NoError(t, err)
		rq.Header.Set("Content-Type", "application/x-amz-json-1.1")
		rq.Header.Set("X-Amz-Target", target)
		if auth != "" {
			rq.Header.Set("Authorization", auth)
		}
		resp, err := http.DefaultClient.Do(rq)
		require.NoError(t, err)
		defer resp.Body.Close()
		raw, err := io.ReadAll(resp.Body)
		require.NoError(t, err)
		var m map[string]any
		require.NoError(t, json.Unmarshal(raw, &m), string(raw))
		return resp, m
	}
	const sig = "AWS4-HMAC-SHA256 Credential=AKID/20261124/ap-northeast-1/ecs/aws4_request, SignedHeaders=host, Signature=00"
	resp, m := post("AmazonEC2ContainerServiceV20141113.DescribeTasks", sig, `{"cluster":"batch","tasks":["`+arn+`"]}`)
	require.Equal(t, 200, resp.StatusCode)
	require.Equal(t, "application/x-amz-json-1.1", resp.Header.Get("Content-Type"))
	require.NotEmpty(t, resp.Header.Get("X-Amzn-RequestId"))
	task := m["tasks"].([]any)[0].(map[string]any)
	require.IsType(t, float64(0), task["createdAt"], "timestamps are epoch-second numbers")
	require.Equal(t, float64(ecsfake.StartDefault.Unix()), task["createdAt"])
	c := task["containers"].([]any)[0].(map[string]any)
	require.NotContains(t, c, "exitCode", "absent until the container stops, never null")
	require.NotContains(t, task, "stoppedAt")

	resp, m = post("AmazonEC2ContainerServiceV20141113.DescribeTasks", "", `{}`)
	require.Equal(t, 403, resp.StatusCode)
	require.Equal(t, "MissingAuthenticationTokenException", m["__type"])
	resp, m = post("AmazonEC2ContainerServiceV20141113.DescribeTasks", strings.Replace(sig, "/ecs/", "/logs/", 1), `{}`)
	require.Equal(t, 400, resp.StatusCode)
	require.Equal(t, "IncompleteSignatureException", m["__type"])
	resp, m = post("AmazonEC2ContainerServiceV20141113.Nope", sig, `{}`)
	require.Equal(t, 400, resp.StatusCode)
	require.Equal(t, "UnknownOperationException", m["__type"])
}

func TestRunTaskValidation(t *testing.T) {
	_, ec, _ := setup(t)
	ctx := context.Background()
	base := func() *ecs.RunTaskInput {
		return &ecs.RunTaskInput{Cluster: aws.String("batch"), TaskDefinition: aws.String("etl"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: vpc}
	}
	tests := []struct {
		name string
		mod  func(*ecs.RunTaskInput)
		want any
		msg  string
	}{
		{"cluster", func(in *ecs.RunTaskInput) { in.Cluster = aws.String("nope") }, &types.ClusterNotFoundException{}, "Cluster not found."},
		{"task definition", func(in *ecs.RunTaskInput) { in.TaskDefinition = aws.String("etl:9") }, &types.ClientException{}, "Unable to describe task definition."},
		{"fargate network", func(in *ecs.RunTaskInput) { in.NetworkConfiguration = nil }, &types.InvalidParameterException{}, "Network Configuration must be provided"},
		{"fargate bridge", func(in *ecs.RunTaskInput) { in.TaskDefinition = aws.String("bridge"); in.NetworkConfiguration = nil }, &types.ClientException{}, "awsvpc"},
		{"both", func(in *ecs.RunTaskInput) {
			in.CapacityProviderStrategy = []types.CapacityProviderStrategyItem{{CapacityProvider: aws.String("FARGATE")}}
		}, &types.InvalidParameterException{}, "Specifying both a launch type and capacity provider strategy"},
		{"override", func(in *ecs.RunTaskInput) {
			in.Overrides = &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("web")}}}
		}, &types.InvalidParameterException{}, "Override for container named web"},
		{"startedBy", func(in *ecs.RunTaskInput) { in.StartedBy = aws.String(strings.Repeat("x", 37)) }, &types.InvalidParameterException{}, "startedBy"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := base()
			tt.mod(in)
			_, err := ec.RunTask(ctx, in)
			require.Error(t, err)
			switch want := tt.want.(type) {
			case *types.ClusterNotFoundException:
				require.ErrorAs(t, err, &want)
			case *types.ClientException:
				require.ErrorAs(t, err, &want)
			case *types.InvalidParameterException:
				require.ErrorAs(t, err, &want)
			}
			require.Contains(t, err.Error(), tt.msg)
		})
	}
}

func TestLifecycleAndTokens(t *testing.T) {
	f, ec, _ := setup(t)
	ctx := context.Background()
	in := &ecs.RunTaskInput{Cluster: aws.String("batch"), TaskDefinition: aws.String("etl"), LaunchType: types.LaunchTypeFargate,
		NetworkConfiguration: vpc, ClientToken: aws.String("tok-1"), StartedBy: aws.String("sb-1")}
	f.ScriptNext(ecsfake.Script{ExitCode: 3, RunSteps: 1})
	a, err := ec.RunTask(ctx, in)
	require.NoError(t, err)
	b, err := ec.RunTask(ctx, in)
	require.NoError(t, err)
	require.Equal(t, aws.ToString(a.Tasks[0].TaskArn), aws.ToString(b.Tasks[0].TaskArn), "same clientToken, same task")
	require.Len(t, f.Tasks(), 1)
	arn := aws.ToString(a.Tasks[0].TaskArn)

	var seen []string
	for range 5 {
		d, err := ec.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("batch"), Tasks: []string{arn}})
		require.NoError(t, err)
		seen = append(seen, aws.ToString(d.Tasks[0].LastStatus))
		f.Advance()
	}
	require.Equal(t, []string{"PROVISIONING", "PENDING", "RUNNING", "STOPPED", "STOPPED"}, seen)
	d, err := ec.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("batch"), Tasks: []string{arn, "0123"}})
	require.NoError(t, err)
	require.Equal(t, int32(3), aws.ToInt32(d.Tasks[0].Containers[0].ExitCode))
	require.Equal(t, types.TaskStopCodeEssentialContainerExited, d.Tasks[0].StopCode)
	require.Equal(t, ecsfake.StartDefault.Add(3*time.Second), aws.ToTime(d.Tasks[0].StoppedAt).UTC())
	require.Equal(t, "MISSING", aws.ToString(d.Failures[0].Reason))

	l, err := ec.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("batch"), DesiredStatus: types.DesiredStatusStopped})
	require.NoError(t, err)
	require.Equal(t, []string{arn}, l.TaskArns)
	l, err = ec.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("batch"), StartedBy: aws.String("sb-1")})
	require.NoError(t, err)
	require.Empty(t, l.TaskArns, "startedBy lists tasks whose desired status is RUNNING")
	// startedBy must be the only filter, as ECS documents.
	_, err = ec.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("batch"), StartedBy: aws.String("sb-1"), DesiredStatus: types.DesiredStatusStopped})
	var inv *types.InvalidParameterException
	require.ErrorAs(t, err, &inv)

	many := make([]string, 101)
	for i := range many {
		many[i] = fmt.Sprintf("t%d", i)
	}
	_, err = ec.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("batch"), Tasks: many})
	var ipe *types.InvalidParameterException
	require.ErrorAs(t, err, &ipe)

	f.Throttle(1)
	_, err = ec.ListTasks(ctx, &ecs.ListTasksInput{Cluster: aws.String("batch")})
	var thr interface{ ErrorCode() string }
	require.True(t, errors.As(err, &thr))
	require.Equal(t, "ThrottlingException", thr.ErrorCode())
}

func TestGetLogEvents(t *testing.T) {
	f, ec, lc := setup(t)
	ctx := context.Background()
	out, err := ec.RunTask(ctx, &ecs.RunTaskInput{Cluster: aws.String("batch"), TaskDefinition: aws.String("etl"), LaunchType: types.LaunchTypeFargate, NetworkConfiguration: vpc})
	require.NoError(t, err)
	id := aws.ToString(out.Tasks[0].TaskArn)[strings.LastIndex(aws.ToString(out.Tasks[0].TaskArn), "/")+1:]
	in := &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/etl"), LogStreamName: aws.String("p/app/" + id), StartFromHead: aws.Bool(true)}
	_, err = lc.GetLogEvents(ctx, in)
	var rnf *logtypes.ResourceNotFoundException
	require.ErrorAs(t, err, &rnf, "no stream before the container starts")

	require.NoError(t, f.AppendLog(id, "one", "two", "three"))
	in.Limit = aws.Int32(2)
	p1, err := lc.GetLogEvents(ctx, in)
	require.NoError(t, err)
	require.Len(t, p1.Events, 2)
	require.Equal(t, ecsfake.StartDefault.UnixMilli(), aws.ToInt64(p1.Events[0].Timestamp))
	in.NextToken = p1.NextForwardToken
	p2, err := lc.GetLogEvents(ctx, in)
	require.NoError(t, err)
	require.Equal(t, "three", aws.ToString(p2.Events[0].Message))
	in.NextToken = p2.NextForwardToken
	p3, err := lc.GetLogEvents(ctx, in)
	require.NoError(t, err)
	require.Empty(t, p3.Events)
	require.Equal(t, aws.ToString(p2.NextForwardToken), aws.ToString(p3.NextForwardToken), "the same token back when nothing is new")

	pg := cloudwatchlogs.NewGetLogEventsPaginator(lc, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/etl"), LogStreamName: aws.String("p/app/" + id), StartFromHead: aws.Bool(true)},
		func(o *cloudwatchlogs.GetLogEventsPaginatorOptions) { o.StopOnDuplicateToken = true })
	var msgs []string
	for pg.HasMorePages() {
		page, err := pg.NextPage(ctx)
		require.NoError(t, err)
		for _, ev := range page.Events {
			msgs = append(msgs, aws.ToString(ev.Message))
		}
	}
	require.Equal(t, []string{"one", "two", "three"}, msgs)

	_, err = lc.GetLogEvents(ctx, &cloudwatchlogs.GetLogEventsInput{LogGroupName: aws.String("/etl"), LogStreamName: aws.String("x"), NextToken: aws.String("garbage")})
	require.ErrorAs(t, err, &rnf)
}

// TestAsDocumented covers what ECS documents and the fake must not be
// kinder about: a reused clientToken with other parameters, the 8192
// characters of container overrides, Fargate task sizes, secrets that
// need an execution role, and new tasks not yet visible.
func TestAsDocumented(t *testing.T) {
	f, ec, _ := setup(t)
	ctx := context.Background()
	in := func(token string, command ...string) *ecs.RunTaskInput {
		return &ecs.RunTaskInput{Cluster: aws.String("batch"), TaskDefinition: aws.String("etl"), LaunchType: types.LaunchTypeFargate,
			NetworkConfiguration: vpc, ClientToken: aws.String(token),
			Overrides: &types.TaskOverride{ContainerOverrides: []types.ContainerOverride{{Name: aws.String("app"), Command: command}}}}
	}
	first, err := ec.RunTask(ctx, in("tok-1", "a"))
	require.NoError(t, err)
	again, err := ec.RunTask(ctx, in("tok-1", "a"))
	require.NoError(t, err)
	require.Equal(t, aws.ToString(first.Tasks[0].TaskArn), aws.ToString(again.Tasks[0].TaskArn), "same token, same parameters: the same task")
	_, err = ec.RunTask(ctx, in("tok-1", "b"))
	var conflict *types.ConflictException
	require.ErrorAs(t, err, &conflict)
	require.Equal(t, []string{aws.ToString(first.Tasks[0].TaskArn)}, conflict.ResourceIds)

	big := in("tok-2", strings.Repeat("x", 8200))
	_, err = ec.RunTask(ctx, big)
	var invalid *types.InvalidParameterException
	require.ErrorAs(t, err, &invalid)
	require.Contains(t, invalid.ErrorMessage(), "8192")

	sized := in("tok-3")
	sized.Overrides.Cpu, sized.Overrides.Memory = aws.String("1024"), aws.String("1024")
	_, err = ec.RunTask(ctx, sized)
	var client *types.ClientException
	require.ErrorAs(t, err, &client)
	require.Contains(t, client.ErrorMessage(), "No Fargate configuration exists for given values: 1024 CPU, 1024 memory")
	sized.Overrides.Memory = aws.String("2 GB")
	out, err := ec.RunTask(ctx, sized)
	require.NoError(t, err)
	require.Equal(t, "1024", aws.ToString(out.Tasks[0].Cpu))

	reg := &ecs.RegisterTaskDefinitionInput{Family: aws.String("etl-secret"), NetworkMode: types.NetworkModeAwsvpc,
		RequiresCompatibilities: []types.Compatibility{types.CompatibilityFargate}, Cpu: aws.String("256"), Memory: aws.String("512"),
		ContainerDefinitions: []types.ContainerDefinition{{Name: aws.String("app"), Image: aws.String("app:1"),
			Secrets: []types.Secret{{Name: aws.String("DB_PASSWORD"), ValueFrom: aws.String("arn:aws:secretsmanager:ap-northeast-1:123456789012:secret:db-AbC")}}}}}
	_, err = ec.RegisterTaskDefinition(ctx, reg)
	require.ErrorAs(t, err, &client)
	require.Contains(t, client.ErrorMessage(), "execution role")
	reg.ExecutionRoleArn = aws.String("arn:aws:iam::123456789012:role/exec")
	rout, err := ec.RegisterTaskDefinition(ctx, reg)
	require.NoError(t, err)
	d, err := ec.DescribeTaskDefinition(ctx, &ecs.DescribeTaskDefinitionInput{TaskDefinition: rout.TaskDefinition.TaskDefinitionArn})
	require.NoError(t, err)
	require.Equal(t, "DB_PASSWORD", aws.ToString(d.TaskDefinition.ContainerDefinitions[0].Secrets[0].Name))
	require.Equal(t, 1, f.Registered())

	f.HideNext(1)
	hidden, err := ec.RunTask(ctx, in("tok-4", "a"))
	require.NoError(t, err)
	arn := aws.ToString(hidden.Tasks[0].TaskArn)
	desc, err := ec.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("batch"), Tasks: []string{arn}})
	require.NoError(t, err)
	require.Empty(t, desc.Tasks)
	require.Equal(t, "MISSING", aws.ToString(desc.Failures[0].Reason))
	desc, err = ec.DescribeTasks(ctx, &ecs.DescribeTasksInput{Cluster: aws.String("batch"), Tasks: []string{arn}})
	require.NoError(t, err)
	require.Len(t, desc.Tasks, 1, "visible after its first describe")
}
