package eks

import (
	"log/slog"

	"k8s.io/klog/v2"
)

// RouteClientLogs sends client-go's log lines (klog: informer and watch
// trouble, throttling notices) to log, so they share the server's format
// instead of going to stderr in klog's own.
func RouteClientLogs(log *slog.Logger) { klog.SetSlogLogger(log.With("source", "client-go")) }
