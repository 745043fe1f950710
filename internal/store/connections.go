package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

// connectionRecord is a row of connections: the connection without its
// secret as JSON in config, the secret (external id, bearer token) apart.
type connectionRecord struct {
	Name      string `gorm:"primaryKey"`
	Kind      string
	Config    string
	Secret    string
	UpdatedAt time.Time
}

func (connectionRecord) TableName() string { return "connections" }

// StoredConnection is a connection as stored, secret included.
type StoredConnection struct {
	jobnet.Connection
	UpdatedAt time.Time
}

func connectionToRecord(c jobnet.Connection, now time.Time) (connectionRecord, error) {
	cfg, err := json.Marshal(c.Redacted())
	if err != nil {
		return connectionRecord{}, fmt.Errorf("encode connection %s: %w", c.Name, err)
	}
	return connectionRecord{Name: c.Name, Kind: string(c.Kind), Config: string(cfg), Secret: c.Secret(), UpdatedAt: now}, nil
}

// connectionSecretColumn is where a connection's sealed secret lives.
const connectionSecretColumn = "connections.secret"

func (s *Store) connection(r connectionRecord) (StoredConnection, error) {
	var c jobnet.Connection
	if err := json.Unmarshal([]byte(r.Config), &c); err != nil {
		return StoredConnection{}, fmt.Errorf("decode connection %s: %w", r.Name, err)
	}
	c.Name, c.Kind = r.Name, jobnet.ConnectionKind(r.Kind)
	secret, err := s.keys.Open(r.Secret, connectionSecretColumn)
	if err != nil {
		return StoredConnection{}, fmt.Errorf("connection %s: %w", r.Name, err)
	}
	if secret != "" {
		c = c.WithSecret(secret)
	}
	return StoredConnection{Connection: c, UpdatedAt: r.UpdatedAt}, nil
}

// Connections lists every connection by name, secrets included: callers
// that show them use Redacted.
func (s *Store) Connections(ctx context.Context) ([]StoredConnection, error) {
	var recs []connectionRecord
	if err := s.db.WithContext(ctx).Order("name").Find(&recs).Error; err != nil {
		return nil, translate(err, "list connections")
	}
	out := make([]StoredConnection, 0, len(recs))
	for _, r := range recs {
		c, err := s.connection(r)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// Connection returns one connection, secret included.
func (s *Store) Connection(ctx context.Context, name string) (StoredConnection, error) {
	var r connectionRecord
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error; err != nil {
		return StoredConnection{}, translate(err, fmt.Sprintf("connection %q", name))
	}
	return s.connection(r)
}

// CreateConnection stores a new connection; an existing name is a conflict.
func (s *Store) CreateConnection(ctx context.Context, c jobnet.Connection) error {
	rec, err := connectionToRecord(c, s.now())
	if err != nil {
		return err
	}
	if rec.Secret, err = s.keys.Seal(rec.Secret, connectionSecretColumn); err != nil {
		return err
	}
	return s.tx(ctx, func(tx *gorm.DB) error {
		var n int64
		if err := tx.Model(&connectionRecord{}).Where("name = ?", c.Name).Count(&n).Error; err != nil {
			return translate(err, "create connection "+c.Name)
		}
		if n > 0 {
			return fmt.Errorf("create connection %q: already exists: %w", c.Name, fault.ErrConflict)
		}
		return translate(tx.Create(&rec).Error, "create connection "+c.Name)
	})
}

// UpdateConnection replaces the settings of an existing connection. When c
// carries no secret the stored one is kept (secrets are write-only),
// unless clearSecret is set or the connection changes type.
func (s *Store) UpdateConnection(ctx context.Context, c jobnet.Connection, clearSecret bool) error {
	now := s.now()
	return s.tx(ctx, func(tx *gorm.DB) error {
		var old connectionRecord
		if err := s.lockForUpdate(tx, false).Where("name = ?", c.Name).Take(&old).Error; err != nil {
			return translate(err, fmt.Sprintf("update connection %q", c.Name))
		}
		rec, err := connectionToRecord(c, now)
		if err != nil {
			return err
		}
		if rec.Secret == "" && !clearSecret && old.Kind == rec.Kind {
			rec.Secret = old.Secret
		} else if rec.Secret, err = s.keys.Seal(rec.Secret, connectionSecretColumn); err != nil {
			return err
		}
		res := tx.Model(&connectionRecord{}).Where("name = ?", c.Name).
			Updates(map[string]any{"kind": rec.Kind, "config": rec.Config, "secret": rec.Secret, "updated_at": now})
		if res.Error != nil {
			return translate(res.Error, "update connection "+c.Name)
		}
		if res.RowsAffected != 1 {
			return fmt.Errorf("update connection %q: changed concurrently: %w", c.Name, fault.ErrConflict)
		}
		return nil
	})
}

// DeleteConnection removes a connection. Checking that no jobnet uses it
// is the caller's business (ops).
func (s *Store) DeleteConnection(ctx context.Context, name string) error {
	res := s.db.WithContext(ctx).Where("name = ?", name).Delete(&connectionRecord{})
	if res.Error != nil {
		return translate(res.Error, "delete connection "+name)
	}
	if res.RowsAffected == 0 {
		return fmt.Errorf("delete connection %q: %w", name, fault.ErrNotFound)
	}
	return nil
}

// applyConnections creates or updates the connections of an apply inside
// its transaction. A connection given without its secret keeps the stored
// one, so that applying an export (which leaves secrets out) changes
// nothing.
func (s *Store) applyConnections(tx *gorm.DB, cs []jobnet.Connection, now time.Time) ([]AppliedObject, error) {
	var out []AppliedObject
	for _, c := range cs {
		rec, err := connectionToRecord(c, now)
		if err != nil {
			return nil, err
		}
		var old connectionRecord
		err = tx.Where("name = ?", c.Name).Take(&old).Error
		switch {
		case errors.Is(err, gorm.ErrRecordNotFound):
			if rec.Secret, err = s.keys.Seal(rec.Secret, connectionSecretColumn); err != nil {
				return nil, err
			}
			if err := tx.Create(&rec).Error; err != nil {
				return nil, translate(err, "create connection "+c.Name)
			}
			out = append(out, AppliedObject{Kind: string(jobnet.KindConnection), Name: c.Name, Change: ChangeCreated})
			continue
		case err != nil:
			return nil, translate(err, "read connection "+c.Name)
		}
		oldSecret, err := s.keys.Open(old.Secret, connectionSecretColumn)
		if err != nil {
			return nil, fmt.Errorf("connection %s: %w", c.Name, err)
		}
		sameSecret := old.Kind == rec.Kind && (rec.Secret == "" || rec.Secret == oldSecret)
		if sameSecret {
			rec.Secret = old.Secret
		} else if rec.Secret, err = s.keys.Seal(rec.Secret, connectionSecretColumn); err != nil {
			return nil, err
		}
		same, err := sameConnectionConfig(old.Config, rec.Config)
		if err != nil {
			return nil, fmt.Errorf("compare connection %s: %w", c.Name, err)
		}
		if same && old.Kind == rec.Kind && sameSecret {
			out = append(out, AppliedObject{Kind: string(jobnet.KindConnection), Name: c.Name, Change: ChangeUnchanged})
			continue
		}
		if err := tx.Model(&connectionRecord{}).Where("name = ?", c.Name).
			Updates(map[string]any{"kind": rec.Kind, "config": rec.Config, "secret": rec.Secret, "updated_at": now}).Error; err != nil {
			return nil, translate(err, "update connection "+c.Name)
		}
		out = append(out, AppliedObject{Kind: string(jobnet.KindConnection), Name: c.Name, Change: ChangeUpdated})
	}
	return out, nil
}

// sameConnectionConfig compares two stored configs by content, so that a
// difference in JSON layout does not count as a change.
func sameConnectionConfig(a, b string) (bool, error) {
	var ca, cb jobnet.Connection
	if err := json.Unmarshal([]byte(a), &ca); err != nil {
		return false, err
	}
	if err := json.Unmarshal([]byte(b), &cb); err != nil {
		return false, err
	}
	x, _ := json.Marshal(ca)
	y, _ := json.Marshal(cb)
	return string(x) == string(y), nil
}
