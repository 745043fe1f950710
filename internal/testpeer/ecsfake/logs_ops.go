package ecsfake

import (
	"fmt"
	"net/http"
	"strconv"
	"strings"
)

// maxLogResponseBytes is GetLogEvents' response cap: 1 MB counting each
// event's message plus 26 bytes.
const maxLogResponseBytes = 1 << 20

type getLogEventsInput struct {
	LogGroupName       string `json:"logGroupName"`
	LogGroupIdentifier string `json:"logGroupIdentifier"`
	LogStreamName      string `json:"logStreamName"`
	StartFromHead      *bool  `json:"startFromHead"`
	NextToken          string `json:"nextToken"`
	Limit              *int32 `json:"limit"`
	StartTime          *int64 `json:"startTime"`
	EndTime            *int64 `json:"endTime"`
}

type wireLogEvent struct {
	Timestamp     int64  `json:"timestamp"`
	Message       string `json:"message"`
	IngestionTime int64  `json:"ingestionTime"`
}

func notFound(format string, args ...any) *apiError {
	return errf(http.StatusBadRequest, "ResourceNotFoundException", format, args...)
}

func (f *Fake) getLogEvents(body []byte) (any, *apiError) {
	var in getLogEventsInput
	if e := decode(body, &in); e != nil {
		return nil, e
	}
	group := in.LogGroupName
	switch {
	case in.LogGroupName != "" && in.LogGroupIdentifier != "":
		return nil, invalidParam("LogGroup name and LogGroup ARN are mutually exclusive parameters.")
	case in.LogGroupIdentifier != "":
		group = in.LogGroupIdentifier
		if strings.HasPrefix(group, "arn:") {
			_, name, ok := strings.Cut(group, ":log-group:")
			if !ok {
				return nil, invalidParam("Invalid logGroupIdentifier %q.", group)
			}
			group = strings.TrimSuffix(name, ":*")
		}
	case group == "":
		return nil, invalidParam("Either logGroupName or logGroupIdentifier must be specified.")
	}
	if in.LogStreamName == "" {
		return nil, invalidParam("logStreamName cannot be empty.")
	}
	limit := 10000
	if in.Limit != nil {
		limit = int(*in.Limit)
		if limit < 1 || limit > 10000 {
			return nil, invalidParam("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 10000", limit)
		}
	}
	g, ok := f.groups[group]
	if !ok {
		return nil, notFound("The specified log group does not exist.")
	}
	s, ok := g[in.LogStreamName]
	if !ok {
		return nil, notFound("The specified log stream does not exist.")
	}
	n := len(s.events)
	var start, end int
	forward := true
	switch {
	case in.NextToken != "":
		dir, pos, ok := parseToken(in.NextToken)
		if !ok || pos > n {
			return nil, invalidParam("The specified nextToken is invalid.")
		}
		if dir == 'f' {
			start, end = pos, min(pos+limit, n)
		} else {
			forward = false
			start, end = max(0, pos-limit), pos
		}
	case in.StartFromHead != nil && *in.StartFromHead:
		start, end = 0, min(limit, n)
	default:
		forward = false
		start, end = max(0, n-limit), n
	}
	// Cap the response size, keeping the events nearest to where reading starts.
	size := 0
	if forward {
		for i := start; i < end; i++ {
			size += len(s.events[i].message) + 26
			if size > maxLogResponseBytes && i > start {
				end = i
				break
			}
		}
	} else {
		for i := end - 1; i >= start; i-- {
			size += len(s.events[i].message) + 26
			if size > maxLogResponseBytes && i < end-1 {
				start = i + 1
				break
			}
		}
	}
	events := []wireLogEvent{}
	for _, ev := range s.events[start:end] {
		if in.StartTime != nil && ev.ts < *in.StartTime {
			continue
		}
		if in.EndTime != nil && ev.ts >= *in.EndTime {
			continue
		}
		events = append(events, wireLogEvent{Timestamp: ev.ts, Message: ev.message, IngestionTime: ev.ingested})
	}
	return map[string]any{
		"events":            events,
		"nextForwardToken":  token('f', end),
		"nextBackwardToken": token('b', start),
	}, nil
}

func token(dir byte, pos int) string {
	return fmt.Sprintf("%c/%056d", dir, pos)
}

func parseToken(s string) (dir byte, pos int, ok bool) {
	if len(s) < 3 || (s[0] != 'f' && s[0] != 'b') || s[1] != '/' {
		return 0, 0, false
	}
	n, err := strconv.Atoi(s[2:])
	if err != nil || n < 0 {
		return 0, 0, false
	}
	return s[0], n, true
}
