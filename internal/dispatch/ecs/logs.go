package ecs

import (
	"context"
	"fmt"
	"strconv"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatchlogs/types"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/fault"
)

// pageFull reports whether GetLogEvents may have cut the page short (10,000
// events or about 1 MB), so that more events may follow at once.
func pageFull(events []types.OutputLogEvent) bool {
	if len(events) >= 10000 {
		return true
	}
	size := 0
	for _, ev := range events {
		size += len(aws.ToString(ev.Message)) + 26
	}
	return size > 768<<10
}

// logPagesMax bounds the GetLogEvents calls of one Logs call.
const logPagesMax = 8

// ErrNoLogs means the task's container does not log through awslogs with a
// stream prefix, so Koyomi cannot find its CloudWatch stream.
var ErrNoLogs = fmt.Errorf("ecs: container has no awslogs configuration with awslogs-group and awslogs-stream-prefix: %w", fault.ErrNotFound)

// logCursor is where a log read stands: the forward token of a
// GetLogEvents page ("" = the head of the stream), how many events of that
// page were consumed, and how many bytes of the next event.
type logCursor struct {
	token       string
	skip, bytes int
}

const cursorPrefix = "cw1:"

func (c logCursor) String() string {
	return cursorPrefix + strconv.Itoa(c.skip) + ":" + strconv.Itoa(c.bytes) + ":" + c.token
}

// parseCursor reads a cursor made by logCursor.String; "" is the start.
func parseCursor(s string) (logCursor, error) {
	if s == "" {
		return logCursor{}, nil
	}
	rest, ok := strings.CutPrefix(s, cursorPrefix)
	parts := strings.SplitN(rest, ":", 3)
	if !ok || len(parts) != 3 {
		return logCursor{}, fmt.Errorf("%w: log cursor %q is not an ecs cursor", fault.ErrInvalid, truncate(s, 80))
	}
	skip, err1 := strconv.Atoi(parts[0])
	n, err2 := strconv.Atoi(parts[1])
	if err1 != nil || err2 != nil || skip < 0 || n < 0 || skip > 10000 {
		return logCursor{}, fmt.Errorf("%w: log cursor %q has bad offsets", fault.ErrInvalid, truncate(s, 80))
	}
	return logCursor{token: parts[2], skip: skip, bytes: n}, nil
}

// Logs reads the task's CloudWatch Logs stream from cursor, at most limit
// bytes (LogLimitDefault when 0), one line per log event. A stream that
// does not exist yet (the task is still starting) reads as empty.
func (e *Executor) Logs(ctx context.Context, h dispatch.Handle, cursor string, limit int) (dispatch.LogChunk, error) {
	d, err := e.parseHandle(h)
	if err != nil {
		return dispatch.LogChunk{}, fmt.Errorf("logs of ecs task: %w", err)
	}
	if d.LogGroup == "" || d.LogStream == "" {
		return dispatch.LogChunk{}, fmt.Errorf("logs of ecs task %s, container %q: %w", h.ID, d.Container, ErrNoLogs)
	}
	cur, err := parseCursor(cursor)
	if err != nil {
		return dispatch.LogChunk{}, fmt.Errorf("logs of ecs task %s: %w", h.ID, err)
	}
	if limit <= 0 {
		limit = LogLimitDefault
	}
	c, err := e.clientsFor(ctx, d.Connection)
	if err != nil {
		return dispatch.LogChunk{}, fmt.Errorf("logs of ecs task %s: %w", h.ID, err)
	}
	logs := c.logsClient(d.LogRegion)
	var buf []byte
	for range logPagesMax {
		in := &cloudwatchlogs.GetLogEventsInput{
			LogGroupName:  aws.String(d.LogGroup),
			LogStreamName: aws.String(d.LogStream),
			StartFromHead: aws.Bool(true),
		}
		if cur.token != "" {
			in.NextToken = aws.String(cur.token)
		}
		out, err := logs.GetLogEvents(ctx, in)
		if err != nil {
			if errorCode(err) == "ResourceNotFoundException" {
				// The awslogs driver creates the stream when the container starts.
				return dispatch.LogChunk{Data: buf, Next: cur.String()}, nil
			}
			return dispatch.LogChunk{}, fmt.Errorf("logs of ecs task %s: GetLogEvents %s %s: %w", h.ID, d.LogGroup, d.LogStream, classify(err))
		}
		for i := cur.skip; i < len(out.Events); i++ {
			line := aws.ToString(out.Events[i].Message) + "\n"
			if cur.bytes > len(line) {
				cur.bytes = len(line)
			}
			rest := line[cur.bytes:]
			room := limit - len(buf)
			if len(rest) > room {
				buf = append(buf, rest[:room]...)
				cur.skip, cur.bytes = i, cur.bytes+room
				return dispatch.LogChunk{Data: buf, Next: cur.String(), More: true}, nil
			}
			buf = append(buf, rest...)
			cur.bytes = 0
		}
		next := aws.ToString(out.NextForwardToken)
		fresh := len(out.Events) > cur.skip
		switch {
		case fresh && next != "" && next != cur.token:
			cur = logCursor{token: next}
		case fresh:
			// Read, but the token did not move: remember what was read.
			cur.skip, cur.bytes = len(out.Events), 0
			return dispatch.LogChunk{Data: buf, Next: cur.String()}, nil
		default:
			// Nothing new. A page read to its end moves on to its token.
			if next != "" && next != cur.token && cur.skip >= len(out.Events) && cur.skip > 0 {
				cur = logCursor{token: next}
			}
			return dispatch.LogChunk{Data: buf, Next: cur.String()}, nil
		}
		if len(buf) >= limit {
			return dispatch.LogChunk{Data: buf, Next: cur.String(), More: true}, nil
		}
		if !pageFull(out.Events) {
			// A short page is the end of the stream for now: no second
			// call (GetLogEvents allows 25 calls a second per account).
			return dispatch.LogChunk{Data: buf, Next: cur.String()}, nil
		}
	}
	return dispatch.LogChunk{Data: buf, Next: cur.String(), More: true}, nil
}
