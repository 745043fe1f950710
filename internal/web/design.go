package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"unicode"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/store"
	"github.com/koyomi-dev/koyomi/views"
	"github.com/koyomi-dev/koyomi/views/components"
	"github.com/koyomi-dev/koyomi/views/pages"
)

// maxDefinition bounds a posted jobnet definition (JSON or YAML).
const maxDefinition = 2 << 20

func (s *Server) designTree(c echo.Context) ([]components.DesignFolderNode, error) {
	ctx := c.Request().Context()
	folders, err := s.p.Ops.DesignFolders(ctx)
	if err != nil {
		return nil, err
	}
	jns, err := s.p.Ops.DesignJobnets(ctx, "")
	if err != nil {
		return nil, err
	}
	byFolder := map[string][]string{}
	titles := map[string]map[string]string{}
	for _, j := range jns {
		byFolder[j.Folder] = append(byFolder[j.Folder], j.Name)
		if j.Title != "" {
			if titles[j.Folder] == nil {
				titles[j.Folder] = map[string]string{}
			}
			titles[j.Folder][j.Name] = j.Title
		}
	}
	out := make([]components.DesignFolderNode, len(folders))
	for i, f := range folders {
		out[i] = components.DesignFolderNode{Name: f.Name, Calendar: f.Calendar, Jobnets: byFolder[f.Name], Titles: titles[f.Name]}
	}
	return out, nil
}

func (s *Server) jobnetsView(c echo.Context, folder string) (pages.JobnetsView, error) {
	ctx := c.Request().Context()
	v := pages.JobnetsView{Folder: folder}
	var err error
	if v.Tree, err = s.designTree(c); err != nil {
		return v, err
	}
	if v.Calendars, err = s.p.Ops.CalendarNames(ctx); err != nil {
		return v, err
	}
	items, err := s.p.Ops.DesignJobnets(ctx, folder)
	if err != nil {
		return v, err
	}
	for _, j := range items {
		v.Jobnets = append(v.Jobnets, pages.JobnetRow{Folder: j.Folder, Name: j.Name, Title: j.Title, Version: j.Version, Calendar: j.Calendar,
			CalendarInherited: j.CalendarFromDir, Rules: j.Rules, Units: j.Units, ChangedBy: j.ChangedBy, ChangedAt: s.stamp(c, j.ChangedAt, calendar.StampDateTime)})
	}
	return v, nil
}

func (s *Server) jobnetsPage(c echo.Context) error {
	v, err := s.jobnetsView(c, c.QueryParam("folder"))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.Jobnets(v))
}

// fieldErrors splits problems into form field errors by the last path
// segment, and a general message for the rest.
func fieldErrors(err error, fields ...string) (map[string]string, string) {
	ps, ok := fault.AsProblems(err)
	if !ok {
		return nil, err.Error()
	}
	errs := map[string]string{}
	var rest []string
	for _, p := range ps {
		matched := false
		for _, f := range fields {
			if strings.HasSuffix(p.Path, "."+f) {
				errs[f], matched = p.Message, true
				break
			}
		}
		if !matched {
			rest = append(rest, p.String())
		}
	}
	return errs, strings.Join(rest, "; ")
}

func (s *Server) folderCreate(c echo.Context) error {
	f := jobnet.Folder{Name: strings.TrimSpace(c.FormValue("name")), Description: strings.TrimSpace(c.FormValue("description")), Calendar: c.FormValue("calendar")}
	err := s.p.Ops.CreateFolder(c.Request().Context(), actor(c), f)
	if err == nil {
		flash(c, "success", views.T(s.langCtx(c), "design.folder.created", f.Name))
		return redirect(c, "/jobnets?folder="+f.Name)
	}
	if !errors.Is(err, fault.ErrInvalid) && !errors.Is(err, fault.ErrConflict) {
		return err
	}
	v, verr := s.jobnetsView(c, "")
	if verr != nil {
		return verr
	}
	v.FolderForm = pages.FolderForm{Name: f.Name, Description: f.Description, Calendar: f.Calendar}
	v.FolderForm.Errors, v.FolderForm.Error = fieldErrors(err, "name", "calendar")
	if errors.Is(err, fault.ErrConflict) {
		v.FolderForm.Errors, v.FolderForm.Error = map[string]string{"name": err.Error()}, ""
	}
	return s.render(c, statusOf(err), pages.Jobnets(v))
}

func (s *Server) jobnetCreate(c echo.Context) error {
	folder, name, cal := c.FormValue("folder"), strings.TrimSpace(c.FormValue("name")), c.FormValue("calendar")
	typed, title := name, ""
	if !jobnet.ValidName(name) && strings.ContainsFunc(name, func(r rune) bool { return r > unicode.MaxASCII }) {
		// A name in Japanese (or any script) is the title over a safe identifier.
		title, name = name, jobnet.SafeName(name)
	}
	_, err := s.p.Ops.CreateJobnet(c.Request().Context(), actor(c), folder, name, title, cal)
	if err == nil {
		msg := views.T(s.langCtx(c), "design.jobnet.created", folder+"/"+name)
		if title != "" {
			msg += " " + views.T(s.langCtx(c), "design.jobnet.titled", name)
		}
		flash(c, "success", msg)
		return redirect(c, "/jobnets/"+folder+"/"+name)
	}
	if !errors.Is(err, fault.ErrInvalid) && !errors.Is(err, fault.ErrConflict) {
		return err
	}
	v, verr := s.jobnetsView(c, folder)
	if verr != nil {
		return verr
	}
	v.JobnetForm = pages.JobnetForm{Name: typed, Folder: folder, Calendar: cal}
	v.JobnetForm.Errors, v.JobnetForm.Error = fieldErrors(err, "name", "folder", "calendar")
	if errors.Is(err, fault.ErrConflict) {
		v.JobnetForm.Errors, v.JobnetForm.Error = map[string]string{"name": err.Error()}, ""
	}
	return s.render(c, statusOf(err), pages.Jobnets(v))
}

// langCtx is the request context with the page context, for views.T.
func (s *Server) langCtx(c echo.Context) context.Context {
	return views.WithPage(c.Request().Context(), s.pageContext(c))
}

// editorView loads a jobnet version into the editor's view-model, laying
// out units that have no position.
func (s *Server) editorView(c echo.Context, version int) (pages.EditorView, error) {
	ctx := c.Request().Context()
	folder, name := c.Param("folder"), c.Param("name")
	cur, err := s.p.Ops.JobnetVersion(ctx, folder, name, 0)
	if err != nil {
		return pages.EditorView{}, err
	}
	jv := cur
	if version != 0 && version != cur.Version {
		if jv, err = s.p.Ops.JobnetVersion(ctx, folder, name, version); err != nil {
			return pages.EditorView{}, err
		}
	}
	j := jv.Jobnet
	if j.Units == nil {
		j.Units = []jobnet.Unit{}
	}
	ops.LayoutNet(&j.Net)
	y, err := jobnet.EncodeJobnet(j)
	if err != nil {
		return pages.EditorView{}, err
	}
	tree, err := s.designTree(c)
	if err != nil {
		return pages.EditorView{}, err
	}
	old := jv.Version != cur.Version
	return pages.EditorView{
		Folder: folder, Name: name, Title: j.Title, Version: jv.Version, Current: cur.Version,
		Author: jv.CreatedBy, At: s.stamp(c, jv.CreatedAt, calendar.StampDateTime), Calendar: j.Calendar, Rules: ops.RulesSummary(j.Rules),
		Tree: tree, Editable: !old && views.Can(s.langCtx(c), "designer"), Old: old,
		Jobnet: j, YAML: string(y),
	}, nil
}

func (s *Server) editorPage(c echo.Context) error {
	v, err := s.editorView(c, 0)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.Editor(v))
}

func (s *Server) versionPage(c echo.Context) error {
	n, err := strconv.Atoi(c.Param("version"))
	if err != nil || n < 1 {
		return fmt.Errorf("version %q: want a number from 1: %w", c.Param("version"), fault.ErrInvalid)
	}
	v, err := s.editorView(c, n)
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.Editor(v))
}

// problemsOf pins validation problems to the units they concern.
func problemsOf(j *jobnet.Jobnet, err error) []components.DesignProblem {
	ps, ok := fault.AsProblems(err)
	if !ok {
		return []components.DesignProblem{{Message: err.Error()}}
	}
	var out []components.DesignProblem
	for _, p := range ops.PinProblems(j, ps) {
		units := p.Units
		if len(units) == 0 && p.Unit != "" {
			units = []string{p.Unit}
		}
		out = append(out, components.DesignProblem{Unit: p.Unit, Units: units, Path: p.Path, Message: p.Message})
	}
	return out
}

// readDefinition reads a posted jobnet as JSON: the request body, or the
// form field "definition". Unknown fields are errors; folder and name come
// from the URL.
func readDefinition(c echo.Context) (*jobnet.Jobnet, error) {
	var data []byte
	if strings.HasPrefix(c.Request().Header.Get("Content-Type"), "application/json") {
		b, err := io.ReadAll(io.LimitReader(c.Request().Body, maxDefinition+1))
		if err != nil {
			return nil, fmt.Errorf("read definition: %w", err)
		}
		data = b
	} else {
		data = []byte(c.FormValue("definition"))
	}
	if len(data) > maxDefinition {
		return nil, fault.Problems{{Path: "definition", Message: fmt.Sprintf("larger than %d bytes", maxDefinition)}}
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var j jobnet.Jobnet
	if err := dec.Decode(&j); err != nil {
		return nil, fault.Problems{{Path: "definition", Message: "not a jobnet in JSON: " + err.Error()}}
	}
	j.Folder, j.Name = c.Param("folder"), c.Param("name")
	return &j, nil
}

func (s *Server) editorSave(c echo.Context) error {
	if _, err := s.p.Ops.JobnetVersion(c.Request().Context(), c.Param("folder"), c.Param("name"), 0); err != nil {
		return err
	}
	ctx := s.langCtx(c)
	j, err := readDefinition(c)
	if err == nil {
		var res ops.SaveResult
		res, err = s.p.Ops.SaveJobnet(c.Request().Context(), actor(c), j)
		if err == nil {
			c.Response().Header().Set("X-Koyomi-Version", strconv.Itoa(res.Version))
			return s.render(c, http.StatusOK, components.DesignSaved(res.Version, res.Unchanged))
		}
	}
	if !errors.Is(err, fault.ErrInvalid) {
		return err
	}
	if j == nil {
		j = &jobnet.Jobnet{Folder: c.Param("folder"), Name: c.Param("name")}
	}
	return s.render(c, http.StatusUnprocessableEntity, components.DesignProblems(views.T(ctx, "design.problems"), problemsOf(j, err)))
}

// parseOneJobnet reads YAML holding exactly the editor's jobnet.
func parseOneJobnet(c echo.Context, text string) (*jobnet.Jobnet, error) {
	if len(text) > maxDefinition {
		return nil, fault.Problems{{Path: "yaml", Message: fmt.Sprintf("larger than %d bytes", maxDefinition)}}
	}
	b, err := jobnet.ParseFile("jobnet.yaml", []byte(text))
	if err != nil {
		return nil, err
	}
	folder, name := c.Param("folder"), c.Param("name")
	if len(b.Jobnets) != 1 || b.Len() != 1 {
		return nil, fault.Problems{{Path: "jobnet.yaml", Message: fmt.Sprintf("want exactly one Jobnet document (%s/%s); found %d jobnets and %d other definitions", folder, name, len(b.Jobnets), b.Len()-len(b.Jobnets))}}
	}
	j := &b.Jobnets[0]
	if j.Folder != folder || j.Name != name {
		return nil, fault.Problems{{Path: "jobnet.yaml", Message: fmt.Sprintf("this editor saves %s/%s; the YAML names %s/%s (use koyomi apply to create or rename jobnets)", folder, name, j.Folder, j.Name)}}
	}
	return j, nil
}

func problemLines(err error) []string {
	ps, ok := fault.AsProblems(err)
	if !ok {
		return []string{err.Error()}
	}
	out := make([]string, len(ps))
	for i, p := range ps {
		out[i] = p.String()
	}
	return out
}

func (s *Server) yamlSave(c echo.Context) error {
	text := c.FormValue("yaml")
	j, err := parseOneJobnet(c, text)
	if err == nil {
		var res ops.SaveResult
		res, err = s.p.Ops.SaveJobnet(c.Request().Context(), actor(c), j)
		if err == nil {
			ctx := s.langCtx(c)
			if res.Unchanged {
				flash(c, "info", views.T(ctx, "design.save.unchanged", res.Version))
			} else {
				flash(c, "success", views.T(ctx, "design.save.saved", res.Version))
			}
			return redirect(c, "/jobnets/"+c.Param("folder")+"/"+c.Param("name"))
		}
	}
	if !errors.Is(err, fault.ErrInvalid) {
		return err
	}
	v, verr := s.editorView(c, 0)
	if verr != nil {
		return verr
	}
	v.Tab, v.YAML, v.YAMLError = "yaml", text, problemLines(err)
	return s.render(c, http.StatusUnprocessableEntity, pages.Editor(v))
}

// yamlPreview turns edited YAML into the editor's JSON, laid out.
func (s *Server) yamlPreview(c echo.Context) error {
	j, err := parseOneJobnet(c, c.FormValue("yaml"))
	if err != nil {
		if !errors.Is(err, fault.ErrInvalid) {
			return err
		}
		return s.render(c, http.StatusUnprocessableEntity, components.DesignYAMLErrors(problemLines(err)))
	}
	if j.Units == nil {
		j.Units = []jobnet.Unit{}
	}
	ops.LayoutNet(&j.Net)
	return c.JSON(http.StatusOK, j)
}

// yamlOf renders the editor's working definition as YAML.
func (s *Server) yamlOf(c echo.Context) error {
	j, err := readDefinition(c)
	if err != nil {
		return err
	}
	y, err := jobnet.EncodeJobnet(j)
	if err != nil {
		return err
	}
	return c.Blob(http.StatusOK, "text/yaml; charset=utf-8", y)
}

// unitForm renders the properties panel. With load set it shows the posted
// unit; otherwise it applies the form's fields to it first.
func (s *Server) unitForm(c echo.Context) error {
	var u jobnet.Unit
	if err := json.Unmarshal([]byte(c.FormValue("unit")), &u); err != nil {
		return fmt.Errorf("unit: not a unit in JSON: %v: %w", err, fault.ErrInvalid)
	}
	f := components.DesignUnitForm{Action: "/jobnets/" + c.Param("folder") + "/" + c.Param("name") + "/unit", Path: c.FormValue("path"), Kind: string(u.Kind)}
	form, err := c.FormParams()
	if err != nil {
		return err
	}
	if c.FormValue("load") == "" {
		nu, errs := unitFromForm(u, form)
		if len(errs) > 0 {
			f.Errors = errs
			f.Values = map[string]string{}
			for k := range form {
				f.Values[k] = form.Get(k)
			}
			f.Checked = map[string]bool{"hold=true": form.Get("hold") == "true"}
			for _, o := range form["retry.on"] {
				f.Checked["retry.on="+o] = true
			}
			f.JobType = form.Get("job.type")
		} else {
			u, f.Applied = nu, true
		}
	}
	if f.Values == nil {
		f.Values, f.Checked = unitValues(&u)
		if u.Job != nil {
			f.JobType = string(u.Job.Type)
		}
	}
	b, err := json.Marshal(u)
	if err != nil {
		return err
	}
	f.UnitJSON = string(b)
	return s.renderUnitForm(c, f)
}

// unitView renders the read-only properties of a stored unit.
func (s *Server) unitView(c echo.Context) error {
	version, _ := strconv.Atoi(c.QueryParam("version"))
	jv, err := s.p.Ops.JobnetVersion(c.Request().Context(), c.Param("folder"), c.Param("name"), version)
	if err != nil {
		return err
	}
	path := c.QueryParam("path")
	u, err := jobnet.FindUnit(&jv.Jobnet.Net, path)
	if err != nil {
		return fmt.Errorf("%v: %w", err, fault.ErrNotFound)
	}
	f := components.DesignUnitForm{Path: path, Kind: string(u.Kind), ReadOnly: true}
	f.Values, f.Checked = unitValues(u)
	if u.Job != nil {
		f.JobType = string(u.Job.Type)
	}
	b, _ := json.Marshal(u)
	f.UnitJSON = string(b)
	return s.renderUnitForm(c, f)
}

func (s *Server) renderUnitForm(c echo.Context, f components.DesignUnitForm) error {
	pools, err := s.p.Ops.PoolNames(c.Request().Context())
	if err != nil {
		return err
	}
	f.Pools = pools
	if v := f.Values["pool"]; v != "" && !containsString(pools, v) {
		f.Pools = append(f.Pools, v)
	}
	return s.render(c, http.StatusOK, components.DesignProps(f))
}

func containsString(xs []string, x string) bool {
	for _, s := range xs {
		if s == x {
			return true
		}
	}
	return false
}

func (s *Server) versionsPage(c echo.Context) error {
	ctx := c.Request().Context()
	folder, name := c.Param("folder"), c.Param("name")
	vs, err := s.p.Ops.JobnetHistory(ctx, folder, name)
	if err != nil {
		return err
	}
	v := pages.VersionsView{Folder: folder, Name: name}
	byVersion := map[int]store.JobnetVersion{}
	for _, jv := range vs {
		byVersion[jv.Version] = jv
		v.Versions = append(v.Versions, pages.VersionRow{Version: jv.Version, Author: jv.CreatedBy, At: s.stamp(c, jv.CreatedAt, calendar.StampDateTime), Hash: shortHash(jv.Hash)})
	}
	if len(vs) > 0 {
		v.Current, v.To = vs[0].Version, vs[0].Version
		v.From = v.To
		if len(vs) > 1 {
			v.From = vs[1].Version
		}
	}
	if c.QueryParam("from") != "" || c.QueryParam("to") != "" {
		from, ferr := strconv.Atoi(c.QueryParam("from"))
		to, terr := strconv.Atoi(c.QueryParam("to"))
		a, okA := byVersion[from]
		b, okB := byVersion[to]
		if ferr != nil || terr != nil || !okA || !okB {
			return fmt.Errorf("compare versions %q and %q: pick two existing versions: %w", c.QueryParam("from"), c.QueryParam("to"), fault.ErrInvalid)
		}
		v.From, v.To, v.Compared = from, to, true
		for _, ch := range jobnet.Diff(a.Jobnet, b.Jobnet) {
			v.Diff = append(v.Diff, pages.DiffRow{Op: string(ch.Op), Path: ch.Path, Old: ch.Old, New: ch.New})
		}
	}
	return s.render(c, http.StatusOK, pages.Versions(v))
}

func shortHash(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
