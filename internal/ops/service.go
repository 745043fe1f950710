package ops

import (
	"log/slog"
	"time"

	"github.com/koyomi-dev/koyomi/internal/dispatch"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// Params configures a Service.
type Params struct {
	Store  *store.Store
	Logger *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
	// Executors read job logs (Logs); nil means logs are unavailable.
	Executors dispatch.Registry
}

// Service is the application layer.
type Service struct {
	store *store.Store
	log   *slog.Logger
	now   func() time.Time
	exec  dispatch.Registry
}

// New returns a Service.
func New(p Params) *Service {
	if p.Now == nil {
		p.Now = time.Now
	}
	if p.Logger == nil {
		p.Logger = slog.New(slog.DiscardHandler)
	}
	return &Service{store: p.Store, log: p.Logger, now: p.Now, exec: p.Executors}
}

// Actor is who performs an operation.
type Actor struct {
	UserID   int64
	Username string
	Role     store.Role
}

// System is the actor for Koyomi's own actions.
var System = Actor{Username: "koyomi", Role: store.RoleAdmin}
