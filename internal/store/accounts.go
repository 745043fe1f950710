package store

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// Role is what a user may do.
type Role string

const (
	// RoleAdmin manages users, connections and everything else.
	RoleAdmin Role = "admin"
	// RoleDesigner edits jobnets, calendars and schedules.
	RoleDesigner Role = "designer"
	// RoleOperator runs, holds, kills and reruns.
	RoleOperator Role = "operator"
	// RoleViewer only looks.
	RoleViewer Role = "viewer"
)

// Valid reports whether r is a known role.
func (r Role) Valid() bool {
	switch r {
	case RoleAdmin, RoleDesigner, RoleOperator, RoleViewer:
		return true
	}
	return false
}

// User is an account.
type User struct {
	ID           int64
	Username     string
	PasswordHash string
	Role         Role
	Lang         string
	// TimeZone is the IANA zone the user reads times in ("": each page's
	// calendar zone).
	TimeZone  string
	Disabled  bool
	CreatedAt time.Time
	UpdatedAt time.Time
}

type userRecord struct {
	ID           int64 `gorm:"primaryKey"`
	Username     string
	PasswordHash string
	Role         string
	Lang         string
	TimeZone     string
	Disabled     bool
	CreatedAt    time.Time
	UpdatedAt    time.Time
}

func (userRecord) TableName() string { return "users" }

func (r userRecord) user() User {
	return User{ID: r.ID, Username: r.Username, PasswordHash: r.PasswordHash, Role: Role(r.Role), Lang: r.Lang, TimeZone: r.TimeZone, Disabled: r.Disabled, CreatedAt: r.CreatedAt, UpdatedAt: r.UpdatedAt}
}

// CreateUser adds an account; the username must be unused.
func (s *Store) CreateUser(ctx context.Context, u User) (User, error) {
	now := s.now()
	if u.Lang == "" {
		u.Lang = "en"
	}
	rec := userRecord{Username: u.Username, PasswordHash: u.PasswordHash, Role: string(u.Role), Lang: u.Lang, Disabled: u.Disabled, CreatedAt: now, UpdatedAt: now}
	if err := s.db.WithContext(ctx).Create(&rec).Error; err != nil {
		return User{}, translate(err, fmt.Sprintf("create user %q", u.Username))
	}
	return rec.user(), nil
}

// CountUsers returns how many accounts exist.
func (s *Store) CountUsers(ctx context.Context) (int64, error) {
	var n int64
	err := s.db.WithContext(ctx).Model(&userRecord{}).Count(&n).Error
	return n, translate(err, "count users")
}

// UserByName returns an account.
func (s *Store) UserByName(ctx context.Context, name string) (User, error) {
	var r userRecord
	if err := s.db.WithContext(ctx).Where("username = ?", name).Take(&r).Error; err != nil {
		return User{}, translate(err, fmt.Sprintf("user %q", name))
	}
	return r.user(), nil
}

// UserByID returns an account.
func (s *Store) UserByID(ctx context.Context, id int64) (User, error) {
	var r userRecord
	if err := s.db.WithContext(ctx).Where("id = ?", id).Take(&r).Error; err != nil {
		return User{}, translate(err, fmt.Sprintf("user %d", id))
	}
	return r.user(), nil
}

// Users lists every account.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	var recs []userRecord
	if err := s.db.WithContext(ctx).Order("username").Find(&recs).Error; err != nil {
		return nil, translate(err, "list users")
	}
	out := make([]User, len(recs))
	for i, r := range recs {
		out[i] = r.user()
	}
	return out, nil
}

// UserUpdate lists the fields to change (nil: keep).
type UserUpdate struct {
	PasswordHash *string
	Role         *Role
	Lang         *string
	TimeZone     *string
	Disabled     *bool
}

// UpdateUser changes an account.
func (s *Store) UpdateUser(ctx context.Context, id int64, u UserUpdate) error {
	cols := map[string]any{"updated_at": s.now()}
	if u.PasswordHash != nil {
		cols["password_hash"] = *u.PasswordHash
	}
	if u.Role != nil {
		cols["role"] = string(*u.Role)
	}
	if u.Lang != nil {
		cols["lang"] = *u.Lang
	}
	if u.TimeZone != nil {
		cols["time_zone"] = *u.TimeZone
	}
	if u.Disabled != nil {
		cols["disabled"] = *u.Disabled
	}
	res := s.db.WithContext(ctx).Model(&userRecord{}).Where("id = ?", id).Updates(cols)
	if res.Error != nil {
		return translate(res.Error, fmt.Sprintf("update user %d", id))
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("user %d: %w", id, fault.ErrNotFound)
	}
	return nil
}

type sessionRecord struct {
	Token  string `gorm:"primaryKey"`
	UserID int64
	Data   []byte
	Expiry time.Time
}

func (sessionRecord) TableName() string { return "sessions" }

// SessionFind returns a live session's data (found=false when missing or expired).
func (s *Store) SessionFind(ctx context.Context, token string) ([]byte, bool, error) {
	var r sessionRecord
	err := s.db.WithContext(ctx).Where("token = ? AND expiry > ?", token, s.now()).Take(&r).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, translate(err, "find session")
	}
	return r.Data, true, nil
}

// SessionCommit stores a session of a user (0 before login).
func (s *Store) SessionCommit(ctx context.Context, token string, userID int64, data []byte, expiry time.Time) error {
	rec := sessionRecord{Token: token, UserID: userID, Data: data, Expiry: expiry.UTC()}
	err := s.db.WithContext(ctx).Save(&rec).Error
	return translate(err, "save session")
}

// SessionDelete removes a session.
func (s *Store) SessionDelete(ctx context.Context, token string) error {
	return translate(s.db.WithContext(ctx).Where("token = ?", token).Delete(&sessionRecord{}).Error, "delete session")
}

// SessionsEndForUser removes every session of a user.
func (s *Store) SessionsEndForUser(ctx context.Context, userID int64) error {
	return translate(s.db.WithContext(ctx).Where("user_id = ?", userID).Delete(&sessionRecord{}).Error, fmt.Sprintf("end the sessions of user %d", userID))
}

// SessionsPurge removes expired sessions.
func (s *Store) SessionsPurge(ctx context.Context) error {
	return translate(s.db.WithContext(ctx).Where("expiry <= ?", s.now()).Delete(&sessionRecord{}).Error, "purge sessions")
}

// APIToken is a named token of a user; only its hash is stored.
type APIToken struct {
	ID        int64
	UserID    int64
	Name      string
	CreatedAt time.Time
	LastUsed  *time.Time
}

type apiTokenRecord struct {
	ID        int64 `gorm:"primaryKey"`
	UserID    int64
	Name      string
	Hash      string
	CreatedAt time.Time
	LastUsed  *time.Time
}

func (apiTokenRecord) TableName() string { return "api_tokens" }

// CreateAPIToken stores a token hash.
func (s *Store) CreateAPIToken(ctx context.Context, userID int64, name, hash string) (APIToken, error) {
	rec := apiTokenRecord{UserID: userID, Name: name, Hash: hash, CreatedAt: s.now()}
	if err := s.db.WithContext(ctx).Create(&rec).Error; err != nil {
		return APIToken{}, translate(err, "create API token "+name)
	}
	return APIToken{ID: rec.ID, UserID: userID, Name: name, CreatedAt: rec.CreatedAt}, nil
}

// UserByTokenHash returns the enabled user owning a token and records its use.
func (s *Store) UserByTokenHash(ctx context.Context, hash string) (User, error) {
	var t apiTokenRecord
	if err := s.db.WithContext(ctx).Where("hash = ?", hash).Take(&t).Error; err != nil {
		return User{}, translate(err, "API token")
	}
	now := s.now()
	_ = s.db.WithContext(ctx).Model(&apiTokenRecord{}).Where("id = ?", t.ID).Update("last_used", now).Error
	u, err := s.UserByID(ctx, t.UserID)
	if err != nil {
		return User{}, err
	}
	if u.Disabled {
		return User{}, fmt.Errorf("user %q is disabled: %w", u.Username, fault.ErrUnauthenticated)
	}
	return u, nil
}

// APITokens lists a user's tokens (all users when userID is 0).
func (s *Store) APITokens(ctx context.Context, userID int64) ([]APIToken, error) {
	q := s.db.WithContext(ctx).Order("id")
	if userID != 0 {
		q = q.Where("user_id = ?", userID)
	}
	var recs []apiTokenRecord
	if err := q.Find(&recs).Error; err != nil {
		return nil, translate(err, "list API tokens")
	}
	out := make([]APIToken, len(recs))
	for i, r := range recs {
		out[i] = APIToken{ID: r.ID, UserID: r.UserID, Name: r.Name, CreatedAt: r.CreatedAt, LastUsed: r.LastUsed}
	}
	return out, nil
}

// DeleteAPIToken revokes a token of a user.
func (s *Store) DeleteAPIToken(ctx context.Context, userID, id int64) error {
	res := s.db.WithContext(ctx).Where("id = ? AND user_id = ?", id, userID).Delete(&apiTokenRecord{})
	if res.Error != nil {
		return translate(res.Error, "delete API token")
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("API token %d: %w", id, fault.ErrNotFound)
	}
	return nil
}

// AuditEntry is one audited action.
type AuditEntry struct {
	ID     int64
	At     time.Time
	Actor  string
	Action string
	Target string
	Detail string
}

type auditRecord struct {
	ID     int64 `gorm:"primaryKey"`
	At     time.Time
	Actor  string
	Action string
	Target string
	Detail string
}

func (auditRecord) TableName() string { return "audit_log" }

// Audit appends an entry.
func (s *Store) Audit(ctx context.Context, e AuditEntry) error {
	return audit(s.db.WithContext(context.WithValue(ctx, storeKey{}, s)), s.now(), e)
}

func audit(db *gorm.DB, now time.Time, e AuditEntry) error {
	rec := auditRecord{At: now, Actor: e.Actor, Action: e.Action, Target: e.Target, Detail: e.Detail}
	if err := db.Create(&rec).Error; err != nil {
		return translate(err, "write audit log")
	}
	// An operator's change (kill, release, rerun, run now…) may be work for
	// the runners of every replica.
	return notifyRunners(db, NotifyChanged)
}

// AuditQuery filters the audit log.
type AuditQuery struct {
	Target string // prefix match
	Actor  string
	Limit  int
	Before int64 // entries with a smaller id (paging)
}

// AuditLog returns entries newest first.
func (s *Store) AuditLog(ctx context.Context, q AuditQuery) ([]AuditEntry, error) {
	db := s.db.WithContext(ctx).Order("id DESC")
	if q.Target != "" {
		db = db.Where(`target LIKE ? ESCAPE '\'`, escapeLike(q.Target)+"%")
	}
	if q.Actor != "" {
		db = db.Where("actor = ?", q.Actor)
	}
	if q.Before > 0 {
		db = db.Where("id < ?", q.Before)
	}
	if q.Limit <= 0 || q.Limit > 1000 {
		q.Limit = 200
	}
	var recs []auditRecord
	if err := db.Limit(q.Limit).Find(&recs).Error; err != nil {
		return nil, translate(err, "read audit log")
	}
	out := make([]AuditEntry, len(recs))
	for i, r := range recs {
		out[i] = AuditEntry(r)
	}
	return out, nil
}

func escapeLike(s string) string {
	out := make([]rune, 0, len(s))
	for _, r := range s {
		if r == '%' || r == '_' || r == '\\' {
			out = append(out, '\\')
		}
		out = append(out, r)
	}
	return string(out)
}
