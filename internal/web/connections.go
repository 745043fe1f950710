package web

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/dispatch/connect"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/views"
	"github.com/koyomi-dev/koyomi/views/pages"
)

// maxConnectionForm bounds the connection form (a CA bundle fits easily).
const maxConnectionForm = 256 << 10

// connectionsPage renders the list with the given form and test result.
func (s *Server) connectionsPage(c echo.Context, status int, form pages.AdminConnectionForm, test *pages.AdminConnectionTest) error {
	list, err := s.p.Ops.Connections(c.Request().Context(), actor(c))
	if err != nil {
		return err
	}
	v := pages.AdminConnectionsView{Form: form, Test: test}
	for _, cv := range list {
		v.Connections = append(v.Connections, pages.AdminConnectionRow{
			Name: cv.Name, Kind: string(cv.Kind), Target: cv.Target(), Description: cv.Description,
			SecretSet: cv.SecretSet, UsedBy: cv.UsedBy, Updated: s.stamp(c, cv.UpdatedAt, calendar.StampFull),
		})
	}
	return s.render(c, status, pages.AdminConnections(v))
}

func (s *Server) adminConnections(c echo.Context) error {
	return s.connectionsPage(c, http.StatusOK, pages.AdminConnectionForm{Kind: string(jobnet.ConnectionAWS), KubeMode: string(jobnet.KubeModeEKS)}, nil)
}

func (s *Server) adminConnectionEdit(c echo.Context) error {
	cv, err := s.p.Ops.Connection(c.Request().Context(), actor(c), c.Param("name"))
	if err != nil {
		return err
	}
	return s.connectionsPage(c, http.StatusOK, connectionForm(cv), nil)
}

// connectionForm fills the form from a stored connection (secrets stay out).
func connectionForm(cv ops.ConnectionView) pages.AdminConnectionForm {
	f := pages.AdminConnectionForm{Editing: cv.Name, Name: cv.Name, Kind: string(cv.Kind), Description: cv.Description, SecretSet: cv.SecretSet, KubeMode: string(jobnet.KubeModeEKS)}
	if a := cv.AWS; a != nil {
		f.AWSRegion, f.AWSRoleARN, f.AWSSessionName, f.AWSProfile = a.Region, a.RoleARN, a.SessionName, a.Profile
		f.AWSEndpointURL, f.AWSLogsEndpointURL, f.AWSSTSEndpointURL = a.EndpointURL, a.LogsEndpointURL, a.STSEndpointURL
	}
	if k := cv.Kubernetes; k != nil {
		if m := k.Mode(); m != "" {
			f.KubeMode = string(m)
		}
		f.KubeKubeconfig, f.KubeContext, f.KubeEKSCluster, f.KubeRegion = k.Kubeconfig, k.Context, k.EKSCluster, k.Region
		f.KubeServer, f.KubeCAData, f.KubeRoleARN, f.KubeNamespace = k.Server, k.CAData, k.RoleARN, k.Namespace
		f.KubeQPS, f.KubeBurst, f.KubeLogQPS = formNumber(k.QPS), formNumber(float64(k.Burst)), formNumber(k.LogQPS)
	}
	return f
}

// formNumber shows a rate limit in the form ("" for the default 0).
func formNumber(v float64) string {
	if v == 0 {
		return ""
	}
	return strconv.FormatFloat(v, 'f', -1, 64)
}

// readConnectionForm decodes the posted form into what to re-render and
// the connection it describes. Only the fields of the chosen type and
// access mode are taken.
func readConnectionForm(c echo.Context) (pages.AdminConnectionForm, jobnet.Connection, bool) {
	v := func(k string) string { return strings.TrimSpace(c.FormValue(k)) }
	f := pages.AdminConnectionForm{
		Name: v("name"), Kind: v("type"), Description: v("description"),
		AWSRegion: v("aws_region"), AWSRoleARN: v("aws_role_arn"), AWSSessionName: v("aws_session_name"), AWSProfile: v("aws_profile"),
		AWSEndpointURL: v("aws_endpoint_url"), AWSLogsEndpointURL: v("aws_logs_endpoint_url"), AWSSTSEndpointURL: v("aws_sts_endpoint_url"),
		KubeMode: v("kube_mode"), KubeKubeconfig: v("kube_kubeconfig"), KubeContext: v("kube_context"), KubeEKSCluster: v("kube_eks_cluster"),
		KubeRegion: v("kube_region"), KubeServer: v("kube_server"), KubeCAData: strings.TrimSpace(strings.ReplaceAll(c.FormValue("kube_ca_data"), "\r\n", "\n")),
		KubeRoleARN: v("kube_role_arn"), KubeNamespace: v("kube_namespace"),
		KubeQPS: v("kube_qps"), KubeBurst: v("kube_burst"), KubeLogQPS: v("kube_log_qps"),
	}
	conn := jobnet.Connection{Name: f.Name, Kind: jobnet.ConnectionKind(f.Kind), Description: f.Description}
	switch conn.Kind {
	case jobnet.ConnectionAWS:
		conn.AWS = &jobnet.AWSConnection{Region: f.AWSRegion, RoleARN: f.AWSRoleARN, ExternalID: v("aws_external_id"), SessionName: f.AWSSessionName,
			Profile: f.AWSProfile, EndpointURL: f.AWSEndpointURL, LogsEndpointURL: f.AWSLogsEndpointURL, STSEndpointURL: f.AWSSTSEndpointURL}
	case jobnet.ConnectionKubernetes:
		k := &jobnet.KubeConnection{Namespace: f.KubeNamespace}
		num := func(field, s string, integer bool) float64 {
			if s == "" {
				return 0
			}
			n, err := strconv.ParseFloat(s, 64)
			if err != nil || (integer && n != float64(int(n))) {
				if f.Errors == nil {
					f.Errors = map[string]string{}
				}
				f.Errors["kubernetes."+field] = fmt.Sprintf("%q is not a number", s)
			}
			return n
		}
		k.QPS, k.Burst, k.LogQPS = num("qps", f.KubeQPS, false), int(num("burst", f.KubeBurst, true)), num("log_qps", f.KubeLogQPS, false)
		switch jobnet.KubeMode(f.KubeMode) {
		case jobnet.KubeModeKubeconfig:
			k.Kubeconfig, k.Context = f.KubeKubeconfig, f.KubeContext
		case jobnet.KubeModeInCluster:
			k.InCluster = true
		case jobnet.KubeModeEKS:
			k.EKSCluster, k.Region, k.Server, k.CAData, k.RoleARN = f.KubeEKSCluster, f.KubeRegion, f.KubeServer, f.KubeCAData, f.KubeRoleARN
		case jobnet.KubeModeToken:
			k.Server, k.CAData, k.Token = f.KubeServer, f.KubeCAData, v("kube_token")
		}
		conn.Kubernetes = k
	}
	return f, conn, c.FormValue("clear_secret") != ""
}

// connectionErrors maps problems under connections[<name>] to form fields.
func connectionErrors(err error) map[string]string {
	m := map[string]string{}
	ps, ok := fault.AsProblems(err)
	if !ok {
		m[""] = err.Error()
		return m
	}
	for _, p := range ps {
		key := p.Path
		if strings.HasPrefix(key, "connections[") {
			if i := strings.Index(key, "]"); i >= 0 {
				key = strings.TrimPrefix(key[i+1:], ".")
			}
		}
		if key == "" {
			key = "name"
			if !strings.Contains(p.Message, "connection") {
				key = ""
			}
		}
		if m[key] != "" {
			m[key] += "; "
		}
		m[key] += p.Message
	}
	return m
}

func (s *Server) adminConnectionSave(c echo.Context, editing string) error {
	c.Request().Body = http.MaxBytesReader(c.Response(), c.Request().Body, maxConnectionForm)
	f, conn, clearSecret := readConnectionForm(c)
	ctx, a := c.Request().Context(), actor(c)
	if len(f.Errors) > 0 {
		f.Editing = editing
		return s.connectionsPage(c, http.StatusUnprocessableEntity, f, nil)
	}
	var err error
	if editing == "" {
		err = s.p.Ops.CreateConnection(ctx, a, conn)
	} else {
		conn.Name, f.Name, f.Editing = editing, editing, editing
		err = s.p.Ops.UpdateConnection(ctx, a, conn, clearSecret)
	}
	if errors.Is(err, fault.ErrInvalid) || errors.Is(err, fault.ErrConflict) {
		f.Errors = connectionErrors(err)
		if errors.Is(err, fault.ErrConflict) {
			f.Errors = map[string]string{"name": err.Error()}
		}
		if editing != "" {
			if cv, cerr := s.p.Ops.Connection(ctx, a, editing); cerr == nil {
				f.SecretSet = cv.SecretSet
			}
		}
		return s.connectionsPage(c, http.StatusUnprocessableEntity, f, nil)
	}
	if err != nil {
		return err
	}
	pc := views.WithPage(ctx, s.pageContext(c))
	if editing == "" {
		flash(c, "success", views.T(pc, "conn.created", conn.Name))
	} else {
		flash(c, "success", views.T(pc, "conn.updated", conn.Name))
	}
	return redirect(c, "/admin/connections")
}

func (s *Server) adminConnectionCreate(c echo.Context) error { return s.adminConnectionSave(c, "") }

func (s *Server) adminConnectionUpdate(c echo.Context) error {
	return s.adminConnectionSave(c, c.Param("name"))
}

func (s *Server) adminConnectionDelete(c echo.Context) error {
	name := c.Param("name")
	ctx := c.Request().Context()
	err := s.p.Ops.DeleteConnection(ctx, actor(c), name)
	var inUse *ops.ConnectionInUseError
	if errors.As(err, &inUse) {
		flash(c, "error", err.Error())
		return redirect(c, "/admin/connections")
	}
	if err != nil {
		return err
	}
	flash(c, "success", views.T(views.WithPage(ctx, s.pageContext(c)), "conn.deleted", name))
	return redirect(c, "/admin/connections")
}

// adminConnectionTest calls the connection once; htmx requests get the
// result fragment, plain posts the whole page with it.
func (s *Server) adminConnectionTest(c echo.Context) error {
	name := c.Param("name")
	res, err := s.p.Ops.TestConnection(c.Request().Context(), actor(c), name, connect.Options{})
	if err != nil {
		return err
	}
	t := &pages.AdminConnectionTest{Name: name, OK: res.OK, Message: res.Message}
	if c.Request().Header.Get("HX-Request") != "" {
		return s.render(c, http.StatusOK, pages.AdminConnectionTestResult(t))
	}
	return s.connectionsPage(c, http.StatusOK, pages.AdminConnectionForm{Kind: string(jobnet.ConnectionAWS), KubeMode: string(jobnet.KubeModeEKS)}, t)
}
