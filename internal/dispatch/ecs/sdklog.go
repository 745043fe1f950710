package ecs

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/aws/smithy-go/logging"
)

// SDKLogger routes the AWS SDK's own log lines (retries, clock skew,
// checksum warnings) to log, so they share the server's format (a JSON line
// under --log-format json) instead of going to stderr as plain text.
func SDKLogger(log *slog.Logger) logging.Logger { return sdkLogger{log} }

type sdkLogger struct{ log *slog.Logger }

func (l sdkLogger) Logf(c logging.Classification, format string, v ...any) {
	lvl := slog.LevelInfo
	if c == logging.Warn {
		lvl = slog.LevelWarn
	} else if c == logging.Debug {
		lvl = slog.LevelDebug
	}
	l.log.Log(context.Background(), lvl, fmt.Sprintf(format, v...), "source", "aws-sdk")
}
