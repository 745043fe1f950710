package web

import (
	"context"
	"errors"
	"io/fs"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"time"

	"github.com/labstack/echo/v4"
	"github.com/labstack/echo/v4/middleware"

	"github.com/koyomi-dev/koyomi/internal/ops"
	"github.com/koyomi-dev/koyomi/static"
)

// Sessions persists browser sessions (the store implements it).
type Sessions interface {
	SessionFind(ctx context.Context, token string) ([]byte, bool, error)
	SessionCommit(ctx context.Context, token string, userID int64, data []byte, expiry time.Time) error
	SessionDelete(ctx context.Context, token string) error
}

// Pinger reports database health for /readyz.
type Pinger interface {
	Ping(ctx context.Context) error
}

// WriteChecker proves the database takes writes (for /readyz); the store
// implements it.
type WriteChecker interface {
	CheckWritable(ctx context.Context, node string) error
}

// Params configures the server.
type Params struct {
	Ops      *ops.Service
	Sessions Sessions
	DB       Pinger
	Logger   *slog.Logger
	// BaseURL is the external URL (links in alerts and API docs).
	BaseURL string
	// SecureCookies marks cookies Secure.
	SecureCookies bool
	Version       string
	// Metrics serves /metrics (Prometheus text format) when set.
	Metrics http.Handler
	// Node names this replica (its /readyz write probe).
	Node string
	// MetricsToken, when set, is the bearer token /metrics requires.
	MetricsToken string
	// TrustedProxies are the reverse proxies whose X-Forwarded-For header
	// names the client (login throttling, logs). Empty: the peer address is
	// the client and the header is ignored, so a client cannot pick its own
	// address.
	TrustedProxies []netip.Prefix
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Forecast serves predicted ends and deadlines (nil: not shown).
	Forecast Forecaster
}

// SessionTTLDefault is how long an idle session lives.
const SessionTTLDefault = 12 * time.Hour

// Server is the HTTP server.
type Server struct {
	p        Params
	e        *echo.Echo
	throttle *loginThrottle
	ready    func() bool
}

// New builds the server and its route table.
func New(p Params) *Server {
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	if p.Now == nil {
		p.Now = time.Now
	}
	e := echo.New()
	e.HideBanner, e.HidePort = true, true
	s := &Server{p: p, e: e, throttle: newLoginThrottle(p.Now)}
	e.HTTPErrorHandler = s.handleError
	e.IPExtractor = ipExtractor(p.TrustedProxies)
	e.Use(middleware.RecoverWithConfig(middleware.RecoverConfig{LogErrorFunc: func(c echo.Context, err error, stack []byte) error {
		p.Logger.Error("panic in handler", "path", c.Path(), "err", err, "stack", string(stack))
		return err
	}}))
	e.Use(middleware.BodyLimit("16M"))
	e.Use(s.accessLog)
	e.Use(textHygiene)
	e.Use(middleware.SecureWithConfig(middleware.SecureConfig{
		XSSProtection: "0", ContentTypeNosniff: "nosniff", XFrameOptions: "DENY",
		ReferrerPolicy:        "same-origin",
		ContentSecurityPolicy: "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; script-src 'self'; frame-ancestors 'none'",
	}))
	s.routes()
	return s
}

// Handler returns the HTTP handler (for tests and embedding).
func (s *Server) Handler() http.Handler { return s.e }

// Run serves on addr until ctx ends, then shuts down gracefully.
func (s *Server) Run(ctx context.Context, l net.Listener) error {
	srv := &http.Server{Handler: s.e, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 120 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(l) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return err
	}
	if err := <-errc; err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}

func (s *Server) accessLog(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		start := time.Now()
		err := next(c)
		if err != nil {
			c.Error(err)
		}
		path := c.Request().URL.Path
		if path == "/healthz" || path == "/readyz" || len(path) > 8 && path[:8] == "/static/" {
			return nil
		}
		s.p.Logger.Debug("http", "method", c.Request().Method, "path", path, "status", c.Response().Status, "dur", time.Since(start).Round(time.Microsecond))
		return nil
	}
}

// ipExtractor believes X-Forwarded-For only from the trusted proxies.
func ipExtractor(trusted []netip.Prefix) echo.IPExtractor {
	if len(trusted) == 0 {
		return echo.ExtractIPDirect()
	}
	opts := []echo.TrustOption{echo.TrustLoopback(false), echo.TrustLinkLocal(false), echo.TrustPrivateNet(false)}
	for _, p := range trusted {
		p = p.Masked()
		opts = append(opts, echo.TrustIPRange(&net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}))
	}
	return echo.ExtractIPFromXFFHeader(opts...)
}

func staticHandler() echo.HandlerFunc {
	sub, _ := fs.Sub(static.FS, ".")
	h := http.StripPrefix("/static/", http.FileServer(http.FS(sub)))
	return func(c echo.Context) error {
		c.Response().Header().Set("Cache-Control", "public, max-age=300")
		h.ServeHTTP(c.Response(), c.Request())
		return nil
	}
}
