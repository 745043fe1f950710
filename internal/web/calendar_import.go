package web

import (
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/internal/plan"
	"github.com/koyomi-dev/koyomi/views/pages"
)

// MaxImportBytes bounds an uploaded calendar file.
const MaxImportBytes = 2 << 20

func (s *Server) importView(c echo.Context) pages.CalendarImportView {
	return pages.CalendarImportView{Name: c.Param("name"), SkipBad: c.FormValue("skip_bad") != "",
		From: c.FormValue("from"), To: c.FormValue("to"), NameColumn: strings.TrimSpace(c.FormValue("name_column"))}
}

func (s *Server) calendarImportPage(c echo.Context) error {
	if _, _, err := s.p.Ops.CalendarDef(c.Request().Context(), c.Param("name")); err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.CalendarImport(s.importView(c)))
}

// importRange reads the optional from/to dates of the import form.
func (s *Server) importRange(c echo.Context) (calendar.Date, calendar.Date, error) {
	var out [2]calendar.Date
	for i, f := range []string{"from", "to"} {
		if v := strings.TrimSpace(c.FormValue(f)); v != "" {
			d, err := calendar.ParseDate(v)
			if err != nil {
				return 0, 0, fmt.Errorf("%s: %s", f, s.calT(c, "cal.bad.date", v))
			}
			out[i] = d
		}
	}
	return out[0], out[1], nil
}

func (s *Server) calendarImportUpload(c echo.Context) error {
	name := c.Param("name")
	if _, _, err := s.p.Ops.CalendarDef(c.Request().Context(), name); err != nil {
		return err
	}
	v := s.importView(c)
	fh, err := c.FormFile("file")
	if err != nil {
		v.Error = s.calT(c, "cal.import.nofile")
		return s.render(c, http.StatusUnprocessableEntity, pages.CalendarImport(v))
	}
	if fh.Size > MaxImportBytes {
		v.Error = s.calT(c, "cal.import.toobig", fh.Size, MaxImportBytes)
		return s.render(c, http.StatusRequestEntityTooLarge, pages.CalendarImport(v))
	}
	f, err := fh.Open()
	if err != nil {
		return fmt.Errorf("open upload: %w", err)
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, MaxImportBytes+1))
	if err != nil {
		return fmt.Errorf("read upload: %w", err)
	}
	if len(data) > MaxImportBytes {
		v.Error = s.calT(c, "cal.import.toobig", len(data), MaxImportBytes)
		return s.render(c, http.StatusRequestEntityTooLarge, pages.CalendarImport(v))
	}
	// Post/redirect/get: the preview is a page of its own, so reloading it
	// posts nothing; the file waits for the confirmation in the database.
	id, err := s.p.Ops.StageCalendarUpload(c.Request().Context(), actor(c), name, fh.Filename, data)
	if err != nil {
		return err
	}
	q := url.Values{}
	for _, f := range []string{"from", "to", "name_column"} {
		if x := strings.TrimSpace(c.FormValue(f)); x != "" {
			q.Set(f, x)
		}
	}
	if v.SkipBad {
		q.Set("skip_bad", "1")
	}
	to := "/calendars/" + url.PathEscape(name) + "/import/preview/" + url.PathEscape(id)
	if len(q) > 0 {
		to += "?" + q.Encode()
	}
	return redirect(c, to)
}

// calendarImportStaged shows the preview of an uploaded file.
func (s *Server) calendarImportStaged(c echo.Context) error {
	name := c.Param("name")
	up, err := s.p.Ops.CalendarUpload(c.Request().Context(), actor(c), c.Param("upload"), name)
	if errors.Is(err, fault.ErrNotFound) {
		v := s.importView(c)
		v.Error = s.calT(c, "cal.import.expired")
		return s.render(c, http.StatusNotFound, pages.CalendarImport(v))
	}
	if err != nil {
		return err
	}
	v := s.importView(c)
	v.Upload = up.ID
	return s.importPreview(c, v, up.FileName, up.Content)
}

func (s *Server) importPreview(c echo.Context, v pages.CalendarImportView, file string, data []byte) error {
	from, to, err := s.importRange(c)
	if err != nil {
		v.Error = err.Error()
		return s.render(c, http.StatusUnprocessableEntity, pages.CalendarImport(v))
	}
	prev, err := s.p.Ops.ImportCalendar(c.Request().Context(), actor(c), ops.ImportRequest{
		Calendar: v.Name, FileName: file, Data: data, SkipBad: v.SkipBad, DryRun: true, From: from, To: to,
		NameColumn: v.NameColumn, Today: calendar.DateOf(s.p.Now())})
	if err != nil {
		if !errors.Is(err, fault.ErrInvalid) {
			return err
		}
		v.Error = err.Error()
		if ps, ok := fault.AsProblems(err); ok {
			v.Error = ps.Error()
		}
		return s.render(c, http.StatusUnprocessableEntity, pages.CalendarImport(v))
	}
	sum := sha256.Sum256(data)
	v.Previewed, v.FileName, v.Size, v.Imported = true, file, len(data), prev.Imported
	v.Content, v.Digest = base64.StdEncoding.EncodeToString(data), hex.EncodeToString(sum[:])
	if prev.Imported > 0 {
		v.Span = s.calT(c, "cal.import.span", prev.From.String(), prev.To.String())
	}
	switch {
	case prev.DefaultRange:
		v.Range = s.calT(c, "cal.import.range.default", prev.RangeFrom.String(), prev.RangeTo.String(), calendar.ICSExpandYearsDefault)
	case prev.RangeFrom != 0 && prev.RangeTo != 0:
		v.Range = s.calT(c, "cal.import.range", prev.RangeFrom.String(), prev.RangeTo.String())
	}
	for _, d := range prev.Days {
		if d.ReasonOnly {
			v.ReasonOnly++
			continue
		}
		v.Days = append(v.Days, pages.ImportDayRow{Date: d.Date.String(), Was: d.WasReason, Now: d.NowReason})
	}
	for _, m := range prev.Moves {
		row := pages.ImportMoveRow{Kind: string(m.Kind), Jobnet: m.Before.Jobnet}
		if m.Kind != plan.MoveAdded {
			row.Before = calRunLabel(m.Before)
		}
		if m.Kind != plan.MoveRemoved {
			row.After, row.Jobnet = calRunLabel(m.After), m.After.Jobnet
		}
		v.Moves = append(v.Moves, row)
	}
	for _, p := range prev.Skipped {
		v.Skipped = append(v.Skipped, pages.ImportProblemRow{Where: p.Path, Message: p.Message})
	}
	for _, cf := range prev.Conflicts {
		v.Conflicts = append(v.Conflicts, cf.String())
	}
	return s.render(c, http.StatusOK, pages.CalendarImport(v))
}

func calRunLabel(r plan.Run) string {
	return r.BusinessDate.String() + " " + r.StartClock.String()
}

func (s *Server) calendarImportConfirm(c echo.Context) error {
	name := c.Param("name")
	v := s.importView(c)
	data, err := base64.StdEncoding.DecodeString(c.FormValue("content"))
	sum := sha256.Sum256(data)
	want, _ := hex.DecodeString(c.FormValue("sha256"))
	if err != nil || len(data) > MaxImportBytes || subtle.ConstantTimeCompare(sum[:], want) != 1 {
		v.Error = s.calT(c, "cal.import.tampered")
		return s.render(c, http.StatusUnprocessableEntity, pages.CalendarImport(v))
	}
	from, to, err := s.importRange(c)
	if err != nil {
		v.Error = err.Error()
		return s.render(c, http.StatusUnprocessableEntity, pages.CalendarImport(v))
	}
	file := c.FormValue("file_name")
	prev, err := s.p.Ops.ImportCalendar(c.Request().Context(), actor(c), ops.ImportRequest{
		Calendar: name, FileName: file, Data: data, SkipBad: v.SkipBad, From: from, To: to,
		NameColumn: v.NameColumn, Today: calendar.DateOf(s.p.Now())})
	if err != nil {
		if !errors.Is(err, fault.ErrInvalid) {
			return err
		}
		// The content is read again on confirm; show why it no longer imports.
		return s.importPreview(c, v, file, data)
	}
	if id := c.FormValue("upload"); id != "" {
		if err := s.p.Ops.DropCalendarUpload(c.Request().Context(), actor(c), id); err != nil && !errors.Is(err, fault.ErrNotFound) {
			s.p.Logger.Warn("remove calendar upload", "upload", id, "err", err)
		}
	}
	flash(c, "success", s.calT(c, "cal.import.done", prev.Imported, prev.Version))
	to2 := "/calendars/" + url.PathEscape(name)
	if prev.Imported > 0 {
		to2 += fmt.Sprintf("?year=%d", prev.From.Year())
	}
	return redirect(c, to2)
}
