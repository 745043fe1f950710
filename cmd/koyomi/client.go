package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/web"
)

// Client mode: with --server URL (KOYOMI_SERVER) and --token (KOYOMI_TOKEN),
// `koyomi run …` and `koyomi apply` talk to a Koyomi server's REST API
// instead of opening the database.

// serverFlags are the client-mode flags.
type serverFlags struct {
	server, token *string
}

func addServerFlags(fs *flag.FlagSet) serverFlags {
	return serverFlags{
		server: fs.String("server", "", "Koyomi server URL: use its REST API instead of the database (env KOYOMI_SERVER)"),
		token:  fs.String("token", "", "API token for --server (env KOYOMI_TOKEN)"),
	}
}

// client returns the API client when a server is configured, else nil.
func (f serverFlags) client(e env) (*apiClient, error) {
	server := first(*f.server, e.getenv("KOYOMI_SERVER"))
	if server == "" {
		return nil, nil
	}
	token := first(*f.token, e.getenv("KOYOMI_TOKEN"))
	if token == "" {
		return nil, fmt.Errorf("--server needs --token (or KOYOMI_TOKEN): %w", errUsage)
	}
	u, err := url.Parse(server)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("--server %q: want http(s)://host[:port]: %w", server, errUsage)
	}
	return &apiClient{base: strings.TrimRight(server, "/"), token: token, hc: &http.Client{Timeout: 60 * time.Second}}, nil
}

// apiClient calls the REST API with a bearer token.
type apiClient struct {
	base, token string
	hc          *http.Client
}

// do sends a request; body is JSON-encoded unless it is []byte (sent with
// ctype). A non-2xx answer becomes an error that unwraps to the fault
// category of its status and carries the server's message and problems.
func (c *apiClient) do(ctx context.Context, method, path string, body any, ctype string, out any) error {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		if err != nil {
			return err
		}
		rd, ctype = bytes.NewReader(data), "application/json"
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+path, rd)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+c.token)
	req.Header.Set("Accept", "application/json")
	if ctype != "" {
		req.Header.Set("Content-Type", ctype)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("%s %s: %w", method, c.base+path, err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return fmt.Errorf("%s %s: read answer: %w", method, path, err)
	}
	if resp.StatusCode >= 300 {
		var ae struct {
			Error    string         `json:"error"`
			Problems fault.Problems `json:"problems"`
		}
		if json.Unmarshal(data, &ae) != nil || ae.Error == "" {
			ae.Error = strings.TrimSpace(string(data))
		}
		if len(ae.Problems) > 0 {
			return fmt.Errorf("%s: %w", ae.Error, ae.Problems)
		}
		return fmt.Errorf("%s: %w", ae.Error, statusFault(resp.StatusCode))
	}
	if out != nil {
		if err := json.Unmarshal(data, out); err != nil {
			return fmt.Errorf("%s %s: decode answer: %w", method, path, err)
		}
	}
	return nil
}

// statusFault maps an HTTP status back to its fault category.
func statusFault(code int) error {
	switch code {
	case http.StatusUnprocessableEntity, http.StatusBadRequest:
		return fault.ErrInvalid
	case http.StatusNotFound:
		return fault.ErrNotFound
	case http.StatusConflict:
		return fault.ErrConflict
	case http.StatusForbidden:
		return fault.ErrForbidden
	case http.StatusUnauthorized:
		return fault.ErrUnauthenticated
	}
	return fmt.Errorf("server answered %d %s", code, http.StatusText(code))
}

// runOptions are the parsed flags of `koyomi run` in client mode.
type runOptions struct {
	day                  *calendar.Date
	params               map[string]string
	unit, mode, unitMode string
	at, as, reason       string
	follow               bool
	attempt              int
	loc                  *time.Location
}

// runViaServer performs `koyomi run SUB` through the API.
func runViaServer(ctx context.Context, e env, c *apiClient, sub string, pos []string, o runOptions) error {
	switch sub {
	case "now":
		folder, name, ok := strings.Cut(pos[0], "/")
		if !ok {
			return fmt.Errorf("run now: jobnet %q: want FOLDER/NAME: %w", pos[0], errUsage)
		}
		body := web.APIRunNow{Params: o.params}
		if o.day != nil {
			body.BusinessDate = o.day.String()
		}
		var g web.APIGeneration
		if err := c.do(ctx, http.MethodPost, "/api/v1/jobnets/"+url.PathEscape(folder)+"/"+url.PathEscape(name)+"/run", body, "", &g); err != nil {
			return err
		}
		fmt.Fprintf(e.stdout, "%s\t%s %s %s (starts now)\n", g.ID, g.Jobnet, g.BusinessDate, g.StartClock)
		return nil
	case "status":
		if len(pos) == 1 && !strings.Contains(pos[0], "/") {
			var g web.APIGeneration
			if err := c.do(ctx, http.MethodGet, "/api/v1/generations/"+url.PathEscape(pos[0]), nil, "", &g); err != nil {
				return err
			}
			return showAPIGeneration(e.stdout, g, o.loc)
		}
		q := url.Values{}
		q.Set("date", "current")
		if o.day != nil {
			q.Set("date", o.day.String())
		}
		if len(pos) == 1 {
			q.Set("jobnet", pos[0])
		}
		var list struct {
			Generations  []web.APIGeneration
			BusinessDate string `json:"business_date"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/v1/generations?"+q.Encode(), nil, "", &list); err != nil {
			return err
		}
		if len(list.Generations) == 0 {
			fmt.Fprintf(e.stdout, "no generations on business date %s\n", list.BusinessDate)
			return nil
		}
		return showGenerations(e.stdout, list.Generations, o.loc)
	case "logs":
		if o.unit == "" {
			return fmt.Errorf("run logs needs --unit PATH: %w", errUsage)
		}
		if o.attempt < 0 {
			return fmt.Errorf("run logs: --attempt %d: want a number from 1: %w", o.attempt, errUsage)
		}
		return logsViaServer(ctx, e.stdout, c, pos[0], o.unit, o.attempt, o.follow)
	}
	// Actions.
	body := web.APIAction{Reason: o.reason, At: o.at, As: o.as}
	switch sub {
	case "rerun":
		body.Mode = o.mode
		if o.unit != "" {
			if o.mode != "" {
				return fmt.Errorf("run rerun: --mode is for a generation; with --unit use --unit-mode: %w", errUsage)
			}
			body.Mode = map[string]string{"": "unit_alone", "alone": "unit_alone", "with_successors": "unit_with_successors",
				"successors_only": "successors_only"}[o.unitMode]
			if body.Mode == "" {
				return fmt.Errorf("run rerun: --unit-mode %q: want alone, with_successors or successors_only: %w", o.unitMode, errUsage)
			}
		}
	case "retime":
		if o.at == "" {
			return fmt.Errorf("run retime needs --at HH:MM: %w", errUsage)
		}
	case "mark":
		if o.unit == "" || o.as == "" {
			return fmt.Errorf("run mark needs --unit PATH and --as bypassed|ended_normal: %w", errUsage)
		}
	}
	path := "/api/v1/generations/" + url.PathEscape(pos[0]) + "/" + sub
	if o.unit != "" {
		path = "/api/v1/generations/" + url.PathEscape(pos[0]) + "/units/" + escapeUnit(o.unit) + "/" + sub
	}
	var res struct {
		Message string `json:"message"`
	}
	if err := c.do(ctx, http.MethodPost, path, body, "", &res); err != nil {
		return err
	}
	fmt.Fprintln(e.stdout, res.Message)
	return nil
}

// escapeUnit escapes each segment of a unit path, keeping the slashes.
func escapeUnit(p string) string {
	parts := strings.Split(p, "/")
	for i, s := range parts {
		parts[i] = url.PathEscape(s)
	}
	return strings.Join(parts, "/")
}

// showGenerations prints generations a line each (`run status` of a day).
// Titles come last: a wide character (給与計算) would shift the columns
// after it.
func showGenerations(w io.Writer, gs []web.APIGeneration, loc *time.Location) error {
	titled := slices.ContainsFunc(gs, func(g web.APIGeneration) bool { return g.Title != "" })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := statusHeader + "\tNOTE"
	if titled {
		head += "\tTITLE"
	}
	fmt.Fprintln(tw, head)
	for _, g := range gs {
		line := strings.Join([]string{g.ID, g.Jobnet, g.BusinessDate, g.StartClock, g.Rule, g.State,
			calendar.Stamp(g.ScheduledAt, loc, calendar.StampFull), generationNote(g)}, "\t")
		if titled {
			line += "\t" + g.Title
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

func showAPIGeneration(w io.Writer, g web.APIGeneration, loc *time.Location) error {
	fmt.Fprintf(w, "run        %s\njobnet     %s (version %d)\n", g.ID, g.Jobnet, g.JobnetVersion)
	if g.Title != "" {
		fmt.Fprintf(w, "title      %s\n", g.Title)
	}
	fmt.Fprintf(w, "date       %s %s (rule %s)\nscheduled  %s\nstate      %s\n",
		g.BusinessDate, g.StartClock, g.Rule, calendar.Stamp(g.ScheduledAt, loc, calendar.StampFull), g.State)
	if n := generationNote(g); n != "" {
		fmt.Fprintf(w, "note       %s\n", n)
	}
	keys := make([]string, 0, len(g.Params))
	for k := range g.Params {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		fmt.Fprintf(w, "param      %s=%s\n", k, g.Params[k])
	}
	if g.Explanation != "" {
		fmt.Fprintf(w, "why        %s\n", g.Explanation)
	}
	if len(g.Units) == 0 {
		fmt.Fprintln(w, "\n(no units yet: the generation has not started)")
		return nil
	}
	fmt.Fprintln(w)
	titled := slices.ContainsFunc(g.Units, func(u web.APIUnit) bool { return u.Title != "" })
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	head := "UNIT\tKIND\tSTATE\tATTEMPT\tEXIT\tSTARTED\tENDED\tNOTE"
	if titled {
		head += "\tTITLE"
	}
	fmt.Fprintln(tw, head)
	for _, u := range g.Units {
		exit := ""
		if u.ExitCode != nil {
			exit = fmt.Sprint(*u.ExitCode)
		}
		n := u.Reason
		if u.KillRequested {
			n = strings.TrimPrefix(n+"; kill requested", "; ")
		}
		line := fmt.Sprintf("%s\t%s\t%s\t%d\t%s\t%s\t%s\t%s", u.Path, u.Kind, u.State, u.Attempt, exit, stamp(u.StartedAt, loc), stamp(u.EndedAt, loc), n)
		if titled {
			line += "\t" + u.Title
		}
		fmt.Fprintln(tw, line)
	}
	return tw.Flush()
}

func logsViaServer(ctx context.Context, w io.Writer, c *apiClient, id, unit string, attempt int, follow bool) error {
	cursor := ""
	base := "/api/v1/generations/" + url.PathEscape(id) + "/units/" + escapeUnit(unit) + "/logs?"
	if attempt > 0 {
		base += "attempt=" + strconv.Itoa(attempt) + "&"
		follow = false
	}
	base += "cursor="
	for {
		var ch web.APILogChunk
		if err := c.do(ctx, http.MethodGet, base+url.QueryEscape(cursor), nil, "", &ch); err != nil {
			return err
		}
		if _, err := io.WriteString(w, ch.Data); err != nil {
			return err
		}
		if ch.Next != "" {
			cursor = ch.Next
		}
		if ch.More {
			continue
		}
		ended := ch.State != "waiting" && ch.State != "held" && ch.State != "queued" && ch.State != "starting" && ch.State != "running"
		if !follow || ended {
			if follow {
				// One more read picks up what was written before the end.
				if err := c.do(ctx, http.MethodGet, base+url.QueryEscape(cursor), nil, "", &ch); err == nil {
					_, err = io.WriteString(w, ch.Data)
					return err
				}
			}
			return nil
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(time.Second):
		}
	}
}

// applyViaServer sends a bundle to the server's apply endpoint.
func applyViaServer(ctx context.Context, e env, c *apiClient, b *jobnet.Bundle, dry bool) error {
	data, err := json.Marshal(b)
	if err != nil {
		return fmt.Errorf("encode definitions: %w", err)
	}
	path := "/api/v1/definitions/apply"
	if dry {
		path += "?dry_run=true"
	}
	var res struct {
		DryRun  bool             `json:"dry_run"`
		Objects []web.APIApplied `json:"objects"`
	}
	if err := c.do(ctx, http.MethodPost, path, data, "application/json", &res); err != nil {
		return err
	}
	return printApplied(e.stdout, res.DryRun, b.Len(), res.Objects)
}

// generationNote summarises a generation's flags for `run status`.
func generationNote(g web.APIGeneration) string {
	var parts []string
	if g.Held {
		parts = append(parts, "held")
	}
	if g.Retimed {
		parts = append(parts, "re-timed")
	}
	if g.StartDelayed {
		parts = append(parts, "start delayed")
	}
	if g.EndDelayed {
		parts = append(parts, "end delayed")
	}
	if g.Reason != "" {
		parts = append(parts, g.Reason)
	}
	return strings.Join(parts, "; ")
}
