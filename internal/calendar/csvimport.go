package calendar

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"golang.org/x/text/encoding/japanese"
)

// ImportCSV reads closed days from CSV: one row per date, a date column and
// a name column, any other columns ignored (`date,name`, `date,ja,en`,
// `date,name,type`). The file may be UTF-8 (with or without BOM) or
// Shift_JIS (detected: bytes that are not valid UTF-8 are decoded as
// Shift_JIS), with LF or CRLF line endings. Dates are YYYY-MM-DD or
// YYYY/M/D. A first row whose date column is not a date is a header; the
// date column is the header column named like a date (date, day, 日付, 月日,
// …), else the first column. The name column is opt.NameColumn, else the
// one named like a name (name, summary, holiday, 名称, 名前, …), else the
// first column after the date. The Cabinet Office's syukujitsu.csv reads as
// is. Rows naming the same date merge (names joined). Every bad row is
// reported with its line; unless opt.SkipBad is set, a file with a bad row
// yields no days.
func ImportCSV(file string, data []byte, opt ImportOptions) (ImportResult, error) {
	text, err := decodeText(data)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w: %w", file, err, ErrInvalid)
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	var (
		days    []ImportedDay
		probs   fault.Problems
		first   = true
		dateCol = 0
		nameCol = -1
	)
	add := func(line int, format string, args ...any) bool {
		probs.Add(fmt.Sprintf("%s:%d", file, line), format, args...)
		return len(probs) > maxProblems
	}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				if add(pe.Line, "%v", pe.Err) {
					break
				}
				continue
			}
			return ImportResult{}, fmt.Errorf("import %s: %w", file, err)
		}
		line, _ := r.FieldPos(0)
		if first {
			first = false
			if _, derr := ParseFlexibleDate(strings.TrimSpace(rec[0])); derr != nil && !anyDate(rec) {
				dateCol, nameCol, err = headerColumns(rec, opt.NameColumn)
				if err != nil {
					return ImportResult{}, fmt.Errorf("import %s: %w: %w", file, err, ErrInvalid)
				}
				continue
			}
			if dateCol, nameCol, err = plainColumns(rec, opt.NameColumn); err != nil {
				return ImportResult{}, fmt.Errorf("import %s: %w: %w", file, err, ErrInvalid)
			}
		}
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		if dateCol >= len(rec) {
			if add(line, "no date: %d column(s)", len(rec)) {
				break
			}
			continue
		}
		d, derr := ParseFlexibleDate(strings.TrimSpace(rec[dateCol]))
		if derr != nil {
			if add(line, "%v", derr) {
				break
			}
			continue
		}
		name := ""
		if nameCol >= 0 && nameCol < len(rec) {
			name = strings.TrimSpace(rec[nameCol])
		}
		days = append(days, ImportedDay{Date: d, Name: name, Line: line})
	}
	res, err := finish(file, days, probs, opt)
	return res, err
}

// anyDate reports whether a column of a first row is a date (a headerless
// file whose date is not in the first column).
func anyDate(rec []string) bool {
	for _, f := range rec {
		if _, err := ParseFlexibleDate(strings.TrimSpace(f)); err == nil {
			return true
		}
	}
	return false
}

var (
	dateHeaders = []string{"date", "day", "dtstart", "start", "start date", "日付", "月日", "年月日", "国民の祝日・休日月日", "fecha", "datum"}
	nameHeaders = []string{"name", "summary", "holiday", "title", "description", "reason", "note", "subject",
		"名称", "名前", "祝日名", "国民の祝日・休日名称", "nombre", "motivo"}
)

// headerColumns picks the date and name columns from a header row.
func headerColumns(rec []string, want string) (dateCol, nameCol int, err error) {
	norm := make([]string, len(rec))
	for i, h := range rec {
		norm[i] = strings.ToLower(strings.TrimSpace(h))
	}
	dateCol = slices.IndexFunc(norm, func(h string) bool { return slices.Contains(dateHeaders, h) })
	if dateCol < 0 {
		dateCol = 0
	}
	if want != "" {
		nameCol = slices.Index(norm, strings.ToLower(strings.TrimSpace(want)))
		if nameCol < 0 {
			if n, err := strconv.Atoi(strings.TrimSpace(want)); err == nil && n >= 1 && n <= len(rec) {
				nameCol = n - 1
			}
		}
		if nameCol < 0 {
			return 0, 0, fmt.Errorf("name column %q: the header has %s", want, strings.Join(rec, ", "))
		}
		return dateCol, nameCol, nil
	}
	nameCol = slices.IndexFunc(norm, func(h string) bool { return slices.Contains(nameHeaders, h) })
	if nameCol < 0 {
		nameCol = nextColumn(dateCol, len(rec))
	}
	return dateCol, nameCol, nil
}

// plainColumns picks the columns of a file without header from its first
// row: the first date column, and the chosen or the next column.
func plainColumns(rec []string, want string) (dateCol, nameCol int, err error) {
	for i, f := range rec {
		if _, err := ParseFlexibleDate(strings.TrimSpace(f)); err == nil {
			dateCol = i
			break
		}
	}
	if want != "" {
		n, err := strconv.Atoi(strings.TrimSpace(want))
		if err != nil || n < 1 {
			return 0, 0, fmt.Errorf("name column %q: the file has no header; give a column number (1 is the first)", want)
		}
		return dateCol, n - 1, nil
	}
	return dateCol, dateCol + 1, nil
}

// nextColumn is the first column after the date column, or -1.
func nextColumn(dateCol, n int) int {
	switch {
	case dateCol+1 < n:
		return dateCol + 1
	case dateCol > 0:
		return 0
	}
	return -1
}

// maxProblems stops an importer after this many findings, so that a binary
// file fed by mistake yields a readable error.
const maxProblems = 1000

// decodeText returns data as UTF-8 text without BOM.
func decodeText(data []byte) (string, error) {
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	if bytes.IndexByte(data, 0) >= 0 {
		return "", errors.New("not text: contains NUL bytes (UTF-16 is not supported; save as UTF-8)")
	}
	if utf8.Valid(data) {
		return string(data), nil
	}
	out, err := japanese.ShiftJIS.NewDecoder().Bytes(data)
	if err != nil || !utf8.Valid(out) || bytes.ContainsRune(out, utf8.RuneError) {
		return "", errors.New("neither UTF-8 nor Shift_JIS text")
	}
	return string(out), nil
}

// ParseFlexibleDate parses a date as YYYY-MM-DD, YYYY/M/D or YYYY-M-D (the
// separator must be the same twice; month and day may omit the zero).
func ParseFlexibleDate(s string) (Date, error) {
	sep := "-"
	if strings.Contains(s, "/") {
		sep = "/"
	}
	parts := strings.Split(s, sep)
	if len(parts) != 3 || len(parts[0]) != 4 || len(parts[1]) < 1 || len(parts[1]) > 2 || len(parts[2]) < 1 || len(parts[2]) > 2 {
		return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD or YYYY/M/D", s)
	}
	var n [3]int
	for i, p := range parts {
		for _, ch := range p {
			if ch < '0' || ch > '9' {
				return 0, fmt.Errorf("invalid date %q: want YYYY-MM-DD or YYYY/M/D", s)
			}
		}
		n[i], _ = strconv.Atoi(p)
	}
	if !ValidDate(n[0], time.Month(n[1]), n[2]) {
		return 0, fmt.Errorf("invalid date %q: no such day", s)
	}
	return NewDate(n[0], time.Month(n[1]), n[2]), nil
}
