package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/views"
	"github.com/koyomi-dev/koyomi/views/pages"
)

// Copy, rename, move and delete of jobnets and folders: one page per
// jobnet (/jobnets/F/N/organize) and per folder (/folders/F/organize)
// that lists what names it, and the same operations under /api/v1.

// organizeView fills the page for the jobnet folder/name (name "" for the folder).
func (s *Server) organizeView(c echo.Context, folder, name string) (pages.OrganizeView, error) {
	ctx := c.Request().Context()
	v := pages.OrganizeView{Folder: folder, Name: name, CopyFolder: folder, MoveFolder: folder, MoveName: name}
	folders, err := s.p.Ops.DesignFolders(ctx)
	if err != nil {
		return v, err
	}
	for _, f := range folders {
		v.Folders = append(v.Folders, f.Name)
	}
	var deps []ops.Dependent
	if name != "" {
		if _, err := s.p.Ops.JobnetVersion(ctx, folder, name, 0); err != nil {
			return v, err
		}
		v.CopyName = name + "-copy"
		deps, err = s.p.Ops.JobnetDependents(ctx, folder+"/"+name)
	} else {
		found := false
		for _, f := range folders {
			found = found || f.Name == folder
		}
		if !found {
			return v, fmt.Errorf("folder %q: %w", folder, fault.ErrNotFound)
		}
		v.CopyName, v.MoveName = folder+"-copy", folder
		js, jerr := s.p.Ops.DesignJobnets(ctx, folder)
		if jerr != nil {
			return v, jerr
		}
		for _, j := range js {
			v.Jobnets = append(v.Jobnets, j.Name)
		}
		deps, err = s.p.Ops.FolderDependents(ctx, folder)
	}
	if err != nil {
		return v, err
	}
	v.Dependents = organizeDependents(deps)
	return v, nil
}

func organizeDependents(deps []ops.Dependent) []pages.OrganizeDependent {
	out := make([]pages.OrganizeDependent, len(deps))
	for i, d := range deps {
		out[i] = pages.OrganizeDependent{Text: d.String()}
		if d.Kind == "alert_rule" {
			out[i].Href = "/alerts/rules/" + strconv.FormatInt(d.RuleID, 10)
		} else {
			out[i].Href = "/jobnets/" + d.Name
		}
	}
	return out
}

func (s *Server) jobnetOrganize(c echo.Context) error {
	v, err := s.organizeView(c, c.Param("folder"), c.Param("name"))
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.Organize(v))
}

func (s *Server) folderOrganize(c echo.Context) error {
	v, err := s.organizeView(c, c.Param("folder"), "")
	if err != nil {
		return err
	}
	return s.render(c, http.StatusOK, pages.Organize(v))
}

// organizeFailed shows the page again with the error and what was typed;
// errors other than refusals go to the error handler.
func (s *Server) organizeFailed(c echo.Context, folder, name string, err error, fill func(*pages.OrganizeView)) error {
	if !errors.Is(err, fault.ErrInvalid) && !errors.Is(err, fault.ErrConflict) && !errors.Is(err, fault.ErrNotFound) {
		return err
	}
	v, verr := s.organizeView(c, folder, name)
	if verr != nil {
		return verr
	}
	v.Error = err.Error()
	var de *ops.DependentsError
	if errors.As(err, &de) {
		v.Dependents = organizeDependents(de.Dependents)
	}
	if fill != nil {
		fill(&v)
	}
	return s.render(c, statusOf(err), pages.Organize(v))
}

func (s *Server) jobnetCopyForm(c echo.Context) error {
	folder, name := c.Param("folder"), c.Param("name")
	tf, tn := c.FormValue("folder"), strings.TrimSpace(c.FormValue("name"))
	if _, err := s.p.Ops.CopyJobnet(c.Request().Context(), actor(c), folder+"/"+name, tf+"/"+tn); err != nil {
		return s.organizeFailed(c, folder, name, err, func(v *pages.OrganizeView) { v.CopyFolder, v.CopyName = tf, tn })
	}
	flash(c, "success", views.T(s.langCtx(c), "org.copied", tf+"/"+tn))
	return redirect(c, "/jobnets/"+tf+"/"+tn)
}

func (s *Server) jobnetMoveForm(c echo.Context) error {
	folder, name := c.Param("folder"), c.Param("name")
	tf, tn := c.FormValue("folder"), strings.TrimSpace(c.FormValue("name"))
	if _, err := s.p.Ops.MoveJobnet(c.Request().Context(), actor(c), folder+"/"+name, tf+"/"+tn); err != nil {
		return s.organizeFailed(c, folder, name, err, func(v *pages.OrganizeView) { v.MoveFolder, v.MoveName = tf, tn })
	}
	flash(c, "success", views.T(s.langCtx(c), "org.moved", tf+"/"+tn))
	return redirect(c, "/jobnets/"+tf+"/"+tn)
}

func (s *Server) jobnetDeleteForm(c echo.Context) error {
	folder, name := c.Param("folder"), c.Param("name")
	if c.FormValue("confirm") != "yes" {
		return s.organizeFailed(c, folder, name, fmt.Errorf("%s: %w", views.T(s.langCtx(c), "org.confirm.needed"), fault.ErrInvalid), nil)
	}
	if _, err := s.p.Ops.DeleteJobnet(c.Request().Context(), actor(c), folder+"/"+name); err != nil {
		return s.organizeFailed(c, folder, name, err, nil)
	}
	flash(c, "success", views.T(s.langCtx(c), "org.deleted.jobnet", folder+"/"+name))
	return redirect(c, "/jobnets?folder="+folder)
}

func (s *Server) folderCopyForm(c echo.Context) error {
	folder, to := c.Param("folder"), strings.TrimSpace(c.FormValue("name"))
	if _, err := s.p.Ops.CopyFolder(c.Request().Context(), actor(c), folder, to); err != nil {
		return s.organizeFailed(c, folder, "", err, func(v *pages.OrganizeView) { v.CopyName = to })
	}
	flash(c, "success", views.T(s.langCtx(c), "org.copied", to))
	return redirect(c, "/jobnets?folder="+to)
}

func (s *Server) folderMoveForm(c echo.Context) error {
	folder, to := c.Param("folder"), strings.TrimSpace(c.FormValue("name"))
	if _, err := s.p.Ops.RenameFolder(c.Request().Context(), actor(c), folder, to); err != nil {
		return s.organizeFailed(c, folder, "", err, func(v *pages.OrganizeView) { v.MoveName = to })
	}
	flash(c, "success", views.T(s.langCtx(c), "org.moved", to))
	return redirect(c, "/jobnets?folder="+to)
}

func (s *Server) folderDeleteForm(c echo.Context) error {
	folder := c.Param("folder")
	if c.FormValue("confirm") != "yes" {
		return s.organizeFailed(c, folder, "", fmt.Errorf("%s: %w", views.T(s.langCtx(c), "org.confirm.needed"), fault.ErrInvalid), nil)
	}
	if err := s.p.Ops.DeleteFolder(c.Request().Context(), actor(c), folder); err != nil {
		return s.organizeFailed(c, folder, "", err, nil)
	}
	flash(c, "success", views.T(s.langCtx(c), "org.deleted.folder", folder))
	return redirect(c, "/jobnets")
}

// APIRelocate is the body of a copy, move or rename: the new path
// ("folder/name" for a jobnet, the folder name for a folder).
type APIRelocate struct {
	To string `json:"to"`
}

// APIRelocated answers a copy, move or rename.
type APIRelocated struct {
	// Jobnet or Folder is the new path.
	Jobnet string `json:"jobnet,omitempty"`
	Folder string `json:"folder,omitempty"`
	// Version is the jobnet's version now (1 for a copy).
	Version int `json:"version,omitempty"`
	// Jobnets counts the jobnets a folder copy or rename carried.
	Jobnets int `json:"jobnets,omitempty"`
}

// APIDeleted answers a delete.
type APIDeleted struct {
	Deleted string `json:"deleted"`
	// NotExecuted are the ids of the deleted jobnet's generations that had
	// not started and now will not run.
	NotExecuted []string `json:"not_executed,omitempty"`
}

// APIDependents lists what names a jobnet or folder.
type APIDependents struct {
	Dependents []ops.Dependent `json:"dependents"`
}

func (s *Server) apiJobnetDependents(c echo.Context) error {
	deps, err := s.p.Ops.JobnetDependents(c.Request().Context(), c.Param("folder")+"/"+c.Param("name"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, APIDependents{Dependents: nonNil(deps)})
}

func (s *Server) apiFolderDependents(c echo.Context) error {
	deps, err := s.p.Ops.FolderDependents(c.Request().Context(), c.Param("folder"))
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, APIDependents{Dependents: nonNil(deps)})
}

func nonNil(d []ops.Dependent) []ops.Dependent {
	if d == nil {
		return []ops.Dependent{}
	}
	return d
}

func (s *Server) apiJobnetRelocate(copy bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		var body APIRelocate
		if err := bindJSON(c, &body); err != nil {
			return err
		}
		from := c.Param("folder") + "/" + c.Param("name")
		if copy {
			v, err := s.p.Ops.CopyJobnet(c.Request().Context(), actor(c), from, body.To)
			if err != nil {
				return err
			}
			return c.JSON(http.StatusCreated, APIRelocated{Jobnet: body.To, Version: v})
		}
		v, err := s.p.Ops.MoveJobnet(c.Request().Context(), actor(c), from, body.To)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, APIRelocated{Jobnet: body.To, Version: v})
	}
}

func (s *Server) apiJobnetDelete(c echo.Context) error {
	path := c.Param("folder") + "/" + c.Param("name")
	ids, err := s.p.Ops.DeleteJobnet(c.Request().Context(), actor(c), path)
	if err != nil {
		return err
	}
	return c.JSON(http.StatusOK, APIDeleted{Deleted: path, NotExecuted: ids})
}

func (s *Server) apiFolderRelocate(copy bool) echo.HandlerFunc {
	return func(c echo.Context) error {
		var body APIRelocate
		if err := bindJSON(c, &body); err != nil {
			return err
		}
		from := c.Param("folder")
		if copy {
			n, err := s.p.Ops.CopyFolder(c.Request().Context(), actor(c), from, body.To)
			if err != nil {
				return err
			}
			return c.JSON(http.StatusCreated, APIRelocated{Folder: body.To, Jobnets: n})
		}
		n, err := s.p.Ops.RenameFolder(c.Request().Context(), actor(c), from, body.To)
		if err != nil {
			return err
		}
		return c.JSON(http.StatusOK, APIRelocated{Folder: body.To, Jobnets: n})
	}
}

func (s *Server) apiFolderDelete(c echo.Context) error {
	folder := c.Param("folder")
	if err := s.p.Ops.DeleteFolder(c.Request().Context(), actor(c), folder); err != nil {
		return err
	}
	return c.JSON(http.StatusOK, APIDeleted{Deleted: folder})
}
