package main

import (
	"bytes"
	"encoding/json"
	"log"
	"log/slog"
	"strings"
	"testing"

	"github.com/aws/smithy-go/logging"
	"github.com/stretchr/testify/require"
	"k8s.io/klog/v2"

	"github.com/koyomi-dev/koyomi/internal/config"
	"github.com/koyomi-dev/koyomi/internal/dispatch/ecs"
)

// With --log-format json every line is JSON: the server's own, the standard
// library's, the AWS SDK's and client-go's.
func TestJSONLogFormatCoversLibraryLogs(t *testing.T) {
	prev := slog.Default()
	t.Cleanup(func() { slog.SetDefault(prev); klog.ClearLogger() })
	var buf bytes.Buffer
	lg := config.Config{LogLevel: "info", LogFormat: "json"}.Logger(&buf)
	routeLibraryLogs(lg)

	lg.Info("server line")
	log.Printf("standard library line")
	ecs.SDKLogger(slog.Default()).Logf(logging.Warn, "aws sdk line %d", 1)
	klog.Warning("client-go line")
	klog.Flush()

	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	require.Len(t, lines, 4, buf.String())
	for _, l := range lines {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &m), "not JSON: %s", l)
	}
	require.Contains(t, buf.String(), "client-go line")
	require.Contains(t, buf.String(), "aws sdk line 1")
}
