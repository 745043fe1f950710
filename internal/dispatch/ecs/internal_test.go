package ecs

import (
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"
	"github.com/stretchr/testify/require"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
)

func FuzzParseCursor(f *testing.F) {
	f.Add("")
	f.Add("cw1:0:0:")
	f.Add("cw1:3:17:f/00000000000000000000000000000000000000000000000000000012")
	f.Add("cw1:1:2:tok:with:colons")
	f.Add("cw1:-1:0:x")
	f.Add("f/123")
	f.Fuzz(func(t *testing.T, s string) {
		c, err := parseCursor(s)
		if err != nil {
			return
		}
		if s == "" {
			require.Equal(t, logCursor{}, c)
			return
		}
		back, err := parseCursor(c.String())
		require.NoError(t, err)
		require.Equal(t, c, back)
	})
}

func TestStatusOf(t *testing.T) {
	start := time.Date(2026, 4, 1, 2, 0, 0, 0, time.UTC)
	end := time.Date(2026, 4, 1, 2, 5, 30, 0, time.UTC)
	app := func(code *int32, reason string) []ecstypes.Container {
		c := ecstypes.Container{Name: aws.String("app"), ExitCode: code}
		if reason != "" {
			c.Reason = aws.String(reason)
		}
		return []ecstypes.Container{{Name: aws.String("sidecar"), ExitCode: aws.Int32(0)}, c}
	}
	tests := []struct {
		name   string
		task   ecstypes.Task
		state  dispatch.State
		exit   *int
		reason string
	}{
		{"provisioning", ecstypes.Task{LastStatus: aws.String("PROVISIONING")}, dispatch.StatePending, nil, ""},
		{"activating", ecstypes.Task{LastStatus: aws.String("ACTIVATING")}, dispatch.StatePending, nil, ""},
		{"running", ecstypes.Task{LastStatus: aws.String("RUNNING"), StartedAt: &start}, dispatch.StateRunning, nil, ""},
		{"deprovisioning", ecstypes.Task{LastStatus: aws.String("DEPROVISIONING"), DesiredStatus: aws.String("STOPPED"), StopCode: ecstypes.TaskStopCodeEssentialContainerExited, Containers: app(aws.Int32(0), "")}, dispatch.StateRunning, nil, "EssentialContainerExited"},
		{"exit 3", ecstypes.Task{LastStatus: aws.String("STOPPED"), StartedAt: &start, StoppedAt: &end, StopCode: ecstypes.TaskStopCodeEssentialContainerExited, StoppedReason: aws.String("Essential container in task exited"), Containers: app(aws.Int32(3), "")}, dispatch.StateExited, ptr(3), "EssentialContainerExited: Essential container in task exited; container app: exit code 3"},
		{"oom", ecstypes.Task{LastStatus: aws.String("STOPPED"), StartedAt: &start, StoppedAt: &end, StopCode: ecstypes.TaskStopCodeEssentialContainerExited, Containers: app(aws.Int32(137), "OutOfMemoryError: Container killed due to memory usage")}, dispatch.StateExited, ptr(137), "container app: exit code 137, OutOfMemoryError"},
		{"failed to start", ecstypes.Task{LastStatus: aws.String("STOPPED"), StoppedAt: &end, StopCode: ecstypes.TaskStopCodeTaskFailedToStart, StoppedReason: aws.String("ResourceInitializationError: unable to pull secrets"), Containers: app(nil, "")}, dispatch.StateFailedToStart, nil, "TaskFailedToStart: ResourceInitializationError"},
		{"user stop", ecstypes.Task{LastStatus: aws.String("STOPPED"), StartedAt: &start, StoppedAt: &end, StopCode: ecstypes.TaskStopCodeUserInitiated, StoppedReason: aws.String("Stopped by Koyomi"), Containers: app(aws.Int32(143), "")}, dispatch.StateCancelled, ptr(143), "UserInitiated: Stopped by Koyomi"},
		{"spot", ecstypes.Task{LastStatus: aws.String("STOPPED"), StartedAt: &start, StoppedAt: &end, StopCode: ecstypes.TaskStopCodeSpotInterruption, Containers: app(aws.Int32(143), "")}, dispatch.StateLost, ptr(143), "SpotInterruption"},
		{"never started, no code", ecstypes.Task{LastStatus: aws.String("STOPPED"), StoppedAt: &end, StopCode: ecstypes.TaskStopCodeEssentialContainerExited, Containers: app(nil, "CannotStartContainerError: exec format error")}, dispatch.StateFailedToStart, nil, "CannotStartContainerError"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := StatusOf(tt.task, "app")
			require.Equal(t, tt.state, st.State)
			require.Equal(t, tt.exit, st.ExitCode)
			require.Contains(t, st.Reason, tt.reason)
		})
	}
}

func ptr(i int) *int { return &i }
