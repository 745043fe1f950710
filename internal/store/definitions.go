package store

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/koyomi-dev/koyomi/internal/calendar"
	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/jobnet"
)

type folderRecord struct {
	Name        string `gorm:"primaryKey"`
	Description string
	Calendar    string
	CreatedAt   time.Time
	UpdatedAt   time.Time
	// DeletedAt is set on a deleted folder; creating the folder again clears it.
	DeletedAt *time.Time
}

func (folderRecord) TableName() string { return "folders" }

type calendarRecord struct {
	Name       string `gorm:"primaryKey"`
	Version    int
	Definition string
	Hash       string
	CreatedAt  time.Time
	UpdatedAt  time.Time
}

func (calendarRecord) TableName() string { return "calendars" }

type poolRecord struct {
	Name        string `gorm:"primaryKey"`
	Slots       int
	Description string
	UpdatedAt   time.Time
}

func (poolRecord) TableName() string { return "pools" }

type jobnetRecord struct {
	ID             int64 `gorm:"primaryKey"`
	Folder         string
	Name           string
	CurrentVersion int
	CreatedAt      time.Time
	UpdatedAt      time.Time
	// Title is the current version's display name.
	Title string
	// DeletedAt is set on a deleted jobnet, whose name then ends in ~ID.
	DeletedAt *time.Time
}

func (jobnetRecord) TableName() string { return "jobnets" }

type jobnetVersionRecord struct {
	ID         int64 `gorm:"primaryKey"`
	JobnetID   int64
	Version    int
	Hash       string
	Definition string
	CreatedBy  string
	CreatedAt  time.Time
}

func (jobnetVersionRecord) TableName() string { return "jobnet_versions" }

// Definitions is a set of definitions to apply in one transaction.
type Definitions struct {
	Folders   []jobnet.Folder
	Calendars []calendar.Definition
	Pools     []jobnet.Pool
	Jobnets   []*jobnet.Jobnet
	// Connections are applied with their secret when given, else keep the stored one.
	Connections []jobnet.Connection
}

// Change says what an apply did to one object.
type Change string

const (
	// ChangeCreated: the object did not exist.
	ChangeCreated Change = "created"
	// ChangeUpdated: it existed and differed (jobnets and calendars get a new version).
	ChangeUpdated Change = "updated"
	// ChangeUnchanged: it existed and was identical.
	ChangeUnchanged Change = "unchanged"
)

// AppliedObject is one line of an apply result.
type AppliedObject struct {
	Kind    string // Folder, Calendar, Pool, Jobnet
	Name    string
	Change  Change
	Version int // jobnets and calendars
}

// ApplyDefinitions creates or updates the definitions in one transaction:
// either everything is applied or nothing is. A jobnet whose content is
// unchanged gets no new version.
func (s *Store) ApplyDefinitions(ctx context.Context, defs Definitions, actor string) ([]AppliedObject, error) {
	var out []AppliedObject
	now := s.now()
	err := s.tx(ctx, func(tx *gorm.DB) error {
		out = out[:0]
		for _, f := range defs.Folders {
			var rec folderRecord
			err := tx.Where("name = ?", f.Name).Take(&rec).Error
			switch {
			case errors.Is(err, gorm.ErrRecordNotFound):
				rec = folderRecord{Name: f.Name, Description: f.Description, Calendar: f.Calendar, CreatedAt: now, UpdatedAt: now}
				if err := tx.Create(&rec).Error; err != nil {
					return translate(err, "create folder "+f.Name)
				}
				out = append(out, AppliedObject{Kind: "Folder", Name: f.Name, Change: ChangeCreated})
			case err != nil:
				return translate(err, "read folder "+f.Name)
			case rec.DeletedAt != nil:
				if err := tx.Model(&folderRecord{}).Where("name = ?", f.Name).
					Updates(map[string]any{"description": f.Description, "calendar": f.Calendar, "deleted_at": nil, "created_at": now, "updated_at": now}).Error; err != nil {
					return translate(err, "create folder "+f.Name)
				}
				out = append(out, AppliedObject{Kind: "Folder", Name: f.Name, Change: ChangeCreated})
			case rec.Description == f.Description && rec.Calendar == f.Calendar:
				out = append(out, AppliedObject{Kind: "Folder", Name: f.Name, Change: ChangeUnchanged})
			default:
				if err := tx.Model(&folderRecord{}).Where("name = ?", f.Name).
					Updates(map[string]any{"description": f.Description, "calendar": f.Calendar, "updated_at": now}).Error; err != nil {
					return translate(err, "update folder "+f.Name)
				}
				out = append(out, AppliedObject{Kind: "Folder", Name: f.Name, Change: ChangeUpdated})
			}
		}
		for _, c := range defs.Calendars {
			obj, err := applyCalendar(tx, c, now)
			if err != nil {
				return err
			}
			out = append(out, obj)
		}
		for _, p := range defs.Pools {
			var rec poolRecord
			err := tx.Where("name = ?", p.Name).Take(&rec).Error
			switch {
			case errors.Is(err, gorm.ErrRecordNotFound):
				if err := tx.Create(&poolRecord{Name: p.Name, Slots: p.Slots, Description: p.Description, UpdatedAt: now}).Error; err != nil {
					return translate(err, "create pool "+p.Name)
				}
				out = append(out, AppliedObject{Kind: "Pool", Name: p.Name, Change: ChangeCreated})
			case err != nil:
				return translate(err, "read pool "+p.Name)
			case rec.Slots == p.Slots && rec.Description == p.Description:
				out = append(out, AppliedObject{Kind: "Pool", Name: p.Name, Change: ChangeUnchanged})
			default:
				if err := tx.Model(&poolRecord{}).Where("name = ?", p.Name).
					Updates(map[string]any{"slots": p.Slots, "description": p.Description, "updated_at": now}).Error; err != nil {
					return translate(err, "update pool "+p.Name)
				}
				out = append(out, AppliedObject{Kind: "Pool", Name: p.Name, Change: ChangeUpdated})
			}
		}
		objs, err := s.applyConnections(tx, defs.Connections, now)
		if err != nil {
			return err
		}
		out = append(out, objs...)
		for _, j := range defs.Jobnets {
			obj, err := applyJobnet(tx, j, actor, now)
			if err != nil {
				return err
			}
			out = append(out, obj)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return out, nil
}

func applyCalendar(tx *gorm.DB, c calendar.Definition, now time.Time) (AppliedObject, error) {
	body, hash, err := encodeHashed(c)
	if err != nil {
		return AppliedObject{}, err
	}
	var rec calendarRecord
	err = tx.Where("name = ?", c.Name).Take(&rec).Error
	switch {
	case errors.Is(err, gorm.ErrRecordNotFound):
		if err := tx.Create(&calendarRecord{Name: c.Name, Version: 1, Definition: body, Hash: hash, CreatedAt: now, UpdatedAt: now}).Error; err != nil {
			return AppliedObject{}, translate(err, "create calendar "+c.Name)
		}
		return AppliedObject{Kind: "Calendar", Name: c.Name, Change: ChangeCreated, Version: 1}, nil
	case err != nil:
		return AppliedObject{}, translate(err, "read calendar "+c.Name)
	case rec.Hash == hash:
		return AppliedObject{Kind: "Calendar", Name: c.Name, Change: ChangeUnchanged, Version: rec.Version}, nil
	}
	res := tx.Model(&calendarRecord{}).Where("name = ? AND version = ?", c.Name, rec.Version).
		Updates(map[string]any{"definition": body, "hash": hash, "version": rec.Version + 1, "updated_at": now})
	if res.Error != nil {
		return AppliedObject{}, translate(res.Error, "update calendar "+c.Name)
	}
	if res.RowsAffected != 1 {
		return AppliedObject{}, fmt.Errorf("update calendar %s: changed by someone else meanwhile: %w", c.Name, fault.ErrConflict)
	}
	return AppliedObject{Kind: "Calendar", Name: c.Name, Change: ChangeUpdated, Version: rec.Version + 1}, nil
}

func applyJobnet(tx *gorm.DB, j *jobnet.Jobnet, actor string, now time.Time) (AppliedObject, error) {
	body, hash, err := encodeHashed(j)
	if err != nil {
		return AppliedObject{}, err
	}
	path := j.Path()
	var rec jobnetRecord
	err = tx.Where("folder = ? AND name = ?", j.Folder, j.Name).Take(&rec).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		rec = jobnetRecord{Folder: j.Folder, Name: j.Name, Title: j.Title, CurrentVersion: 1, CreatedAt: now, UpdatedAt: now}
		if err := tx.Create(&rec).Error; err != nil {
			return AppliedObject{}, translate(err, "create jobnet "+path)
		}
		if err := tx.Create(&jobnetVersionRecord{JobnetID: rec.ID, Version: 1, Hash: hash, Definition: body, CreatedBy: actor, CreatedAt: now}).Error; err != nil {
			return AppliedObject{}, translate(err, "create jobnet version "+path)
		}
		return AppliedObject{Kind: "Jobnet", Name: path, Change: ChangeCreated, Version: 1}, nil
	}
	if err != nil {
		return AppliedObject{}, translate(err, "read jobnet "+path)
	}
	var cur jobnetVersionRecord
	if err := tx.Where("jobnet_id = ? AND version = ?", rec.ID, rec.CurrentVersion).Take(&cur).Error; err != nil {
		return AppliedObject{}, translate(err, "read jobnet version "+path)
	}
	if cur.Hash == hash {
		return AppliedObject{Kind: "Jobnet", Name: path, Change: ChangeUnchanged, Version: rec.CurrentVersion}, nil
	}
	next := rec.CurrentVersion + 1
	res := tx.Model(&jobnetRecord{}).Where("id = ? AND current_version = ?", rec.ID, rec.CurrentVersion).
		Updates(map[string]any{"current_version": next, "title": j.Title, "updated_at": now})
	if res.Error != nil {
		return AppliedObject{}, translate(res.Error, "update jobnet "+path)
	}
	if res.RowsAffected != 1 {
		return AppliedObject{}, fmt.Errorf("update jobnet %s: changed by someone else meanwhile: %w", path, fault.ErrConflict)
	}
	if err := tx.Create(&jobnetVersionRecord{JobnetID: rec.ID, Version: next, Hash: hash, Definition: body, CreatedBy: actor, CreatedAt: now}).Error; err != nil {
		return AppliedObject{}, translate(err, "create jobnet version "+path)
	}
	return AppliedObject{Kind: "Jobnet", Name: path, Change: ChangeUpdated, Version: next}, nil
}

func encodeHashed(v any) (string, string, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", "", fmt.Errorf("encode definition: %w", err)
	}
	sum := sha256.Sum256(b)
	return string(b), hex.EncodeToString(sum[:]), nil
}

// Folders lists every folder by name.
func (s *Store) Folders(ctx context.Context) ([]jobnet.Folder, error) {
	var recs []folderRecord
	if err := s.db.WithContext(ctx).Where("deleted_at IS NULL").Order("name").Find(&recs).Error; err != nil {
		return nil, translate(err, "list folders")
	}
	out := make([]jobnet.Folder, len(recs))
	for i, r := range recs {
		out[i] = jobnet.Folder{Name: r.Name, Description: r.Description, Calendar: r.Calendar}
	}
	return out, nil
}

// Folder returns one folder.
func (s *Store) Folder(ctx context.Context, name string) (jobnet.Folder, error) {
	var r folderRecord
	if err := s.db.WithContext(ctx).Where("name = ? AND deleted_at IS NULL", name).Take(&r).Error; err != nil {
		return jobnet.Folder{}, translate(err, fmt.Sprintf("folder %q", name))
	}
	return jobnet.Folder{Name: r.Name, Description: r.Description, Calendar: r.Calendar}, nil
}

// Calendars lists every calendar definition by name.
func (s *Store) Calendars(ctx context.Context) ([]calendar.Definition, error) {
	var recs []calendarRecord
	if err := s.db.WithContext(ctx).Order("name").Find(&recs).Error; err != nil {
		return nil, translate(err, "list calendars")
	}
	out := make([]calendar.Definition, len(recs))
	for i, r := range recs {
		if err := json.Unmarshal([]byte(r.Definition), &out[i]); err != nil {
			return nil, fmt.Errorf("decode calendar %s: %w", r.Name, err)
		}
	}
	return out, nil
}

// CalendarDef returns one calendar definition and its version.
func (s *Store) CalendarDef(ctx context.Context, name string) (calendar.Definition, int, error) {
	var r calendarRecord
	if err := s.db.WithContext(ctx).Where("name = ?", name).Take(&r).Error; err != nil {
		return calendar.Definition{}, 0, translate(err, fmt.Sprintf("calendar %q", name))
	}
	var d calendar.Definition
	if err := json.Unmarshal([]byte(r.Definition), &d); err != nil {
		return d, 0, fmt.Errorf("decode calendar %s: %w", r.Name, err)
	}
	return d, r.Version, nil
}

// Pools lists every resource pool.
func (s *Store) Pools(ctx context.Context) ([]jobnet.Pool, error) {
	var recs []poolRecord
	if err := s.db.WithContext(ctx).Order("name").Find(&recs).Error; err != nil {
		return nil, translate(err, "list pools")
	}
	out := make([]jobnet.Pool, len(recs))
	for i, r := range recs {
		out[i] = jobnet.Pool{Name: r.Name, Slots: r.Slots, Description: r.Description}
	}
	return out, nil
}

// JobnetInfo describes a stored jobnet without its definition.
type JobnetInfo struct {
	ID             int64
	Folder         string
	Name           string
	CurrentVersion int
	UpdatedAt      time.Time
}

// Path returns folder/name.
func (j JobnetInfo) Path() string { return j.Folder + "/" + j.Name }

// JobnetVersion is one stored version of a jobnet.
type JobnetVersion struct {
	JobnetID  int64
	Version   int
	Hash      string
	CreatedBy string
	CreatedAt time.Time
	Jobnet    *jobnet.Jobnet
}

// Jobnets lists jobnets, optionally of one folder ("" for all).
func (s *Store) Jobnets(ctx context.Context, folder string) ([]JobnetInfo, error) {
	q := s.db.WithContext(ctx).Where("deleted_at IS NULL").Order("folder, name")
	if folder != "" {
		q = q.Where("folder = ?", folder)
	}
	var recs []jobnetRecord
	if err := q.Find(&recs).Error; err != nil {
		return nil, translate(err, "list jobnets")
	}
	out := make([]JobnetInfo, len(recs))
	for i, r := range recs {
		out[i] = JobnetInfo{ID: r.ID, Folder: r.Folder, Name: r.Name, CurrentVersion: r.CurrentVersion, UpdatedAt: r.UpdatedAt}
	}
	return out, nil
}

// CurrentJobnets returns the current version of every jobnet (of one folder, or all).
func (s *Store) CurrentJobnets(ctx context.Context, folder string) ([]JobnetVersion, error) {
	q := s.db.WithContext(ctx).Table("jobnet_versions v").
		Select("v.*").
		Joins("JOIN jobnets j ON j.id = v.jobnet_id AND j.current_version = v.version AND j.deleted_at IS NULL").
		Order("j.folder, j.name")
	if folder != "" {
		q = q.Where("j.folder = ?", folder)
	}
	var recs []jobnetVersionRecord
	if err := q.Find(&recs).Error; err != nil {
		return nil, translate(err, "list jobnet definitions")
	}
	out := make([]JobnetVersion, 0, len(recs))
	for _, r := range recs {
		v, err := decodeVersion(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

func decodeVersion(r jobnetVersionRecord) (JobnetVersion, error) {
	var j jobnet.Jobnet
	if err := json.Unmarshal([]byte(r.Definition), &j); err != nil {
		return JobnetVersion{}, fmt.Errorf("decode jobnet %d version %d: %w", r.JobnetID, r.Version, err)
	}
	return JobnetVersion{JobnetID: r.JobnetID, Version: r.Version, Hash: r.Hash, CreatedBy: r.CreatedBy, CreatedAt: r.CreatedAt, Jobnet: &j}, nil
}

// JobnetByPath returns the jobnet folder/name at a version (0: current).
func (s *Store) JobnetByPath(ctx context.Context, folder, name string, version int) (JobnetVersion, error) {
	var rec jobnetRecord
	if err := s.db.WithContext(ctx).Where("folder = ? AND name = ?", folder, name).Take(&rec).Error; err != nil {
		return JobnetVersion{}, translate(err, fmt.Sprintf("jobnet %q", folder+"/"+name))
	}
	return s.JobnetVersionByID(ctx, rec.ID, cmpOr(version, rec.CurrentVersion))
}

// JobnetVersionByID returns one version of a jobnet.
func (s *Store) JobnetVersionByID(ctx context.Context, id int64, version int) (JobnetVersion, error) {
	var v jobnetVersionRecord
	if err := s.db.WithContext(ctx).Where("jobnet_id = ? AND version = ?", id, version).Take(&v).Error; err != nil {
		return JobnetVersion{}, translate(err, fmt.Sprintf("jobnet %d version %d", id, version))
	}
	return decodeVersion(v)
}

// JobnetVersions lists the versions of a jobnet, newest first.
func (s *Store) JobnetVersions(ctx context.Context, folder, name string) ([]JobnetVersion, error) {
	var rec jobnetRecord
	if err := s.db.WithContext(ctx).Where("folder = ? AND name = ?", folder, name).Take(&rec).Error; err != nil {
		return nil, translate(err, fmt.Sprintf("jobnet %q", folder+"/"+name))
	}
	var recs []jobnetVersionRecord
	if err := s.db.WithContext(ctx).Where("jobnet_id = ?", rec.ID).Order("version DESC").Find(&recs).Error; err != nil {
		return nil, translate(err, "list jobnet versions")
	}
	out := make([]JobnetVersion, 0, len(recs))
	for _, r := range recs {
		v, err := decodeVersion(r)
		if err != nil {
			return nil, err
		}
		out = append(out, v)
	}
	return out, nil
}

// Snapshot returns every definition (of one folder, or all), for export.
func (s *Store) Snapshot(ctx context.Context, folder string) (Definitions, error) {
	var d Definitions
	folders, err := s.Folders(ctx)
	if err != nil {
		return d, err
	}
	for _, f := range folders {
		if folder == "" || f.Name == folder {
			d.Folders = append(d.Folders, f)
		}
	}
	if folder != "" && len(d.Folders) == 0 {
		return d, fmt.Errorf("folder %q: %w", folder, fault.ErrNotFound)
	}
	if d.Calendars, err = s.Calendars(ctx); err != nil {
		return d, err
	}
	if d.Pools, err = s.Pools(ctx); err != nil {
		return d, err
	}
	vs, err := s.CurrentJobnets(ctx, folder)
	if err != nil {
		return d, err
	}
	for _, v := range vs {
		d.Jobnets = append(d.Jobnets, v.Jobnet)
	}
	sort.SliceStable(d.Jobnets, func(i, k int) bool { return d.Jobnets[i].Path() < d.Jobnets[k].Path() })
	return d, nil
}

// lockForUpdate adds FOR UPDATE on PostgreSQL (SQLite serialises writers anyway).
func (s *Store) lockForUpdate(q *gorm.DB, skipLocked bool) *gorm.DB {
	if s.dialect != DialectPostgres {
		return q
	}
	if skipLocked {
		return q.Clauses(clause.Locking{Strength: "UPDATE", Options: "SKIP LOCKED"})
	}
	return q.Clauses(clause.Locking{Strength: "UPDATE"})
}

func cmpOr(a, b int) int {
	if a != 0 {
		return a
	}
	return b
}
