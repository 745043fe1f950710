package calendar

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"golang.org/x/text/encoding/japanese"
)

// ImportCSV reads closed days from CSV rows `date,name`. The file may be
// UTF-8 (with or without BOM) or Shift_JIS (detected: bytes that are not
// valid UTF-8 are decoded as Shift_JIS), with LF or CRLF line endings.
// Dates are YYYY/M/D or YYYY-MM-DD; a first row whose date column is not a
// date is taken as a header. The Cabinet Office's syukujitsu.csv reads as is.
// file names the input in messages. Every bad row is reported with its line;
// unless opt.SkipBad is set, a file with a bad row yields no days.
func ImportCSV(file string, data []byte, opt ImportOptions) (ImportResult, error) {
	text, err := decodeText(data)
	if err != nil {
		return ImportResult{}, fmt.Errorf("import %s: %w: %w", file, err, ErrInvalid)
	}
	r := csv.NewReader(strings.NewReader(text))
	r.FieldsPerRecord = -1
	r.TrimLeadingSpace = true
	r.ReuseRecord = true
	var (
		days  []ImportedDay
		probs fault.Problems
		seen  = map[Date]int{}
		first = true
	)
	for {
		rec, err := r.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csv.ParseError
			if errors.As(err, &pe) {
				probs.Add(fmt.Sprintf("%s:%d", file, pe.Line), "%v", pe.Err)
				if len(probs) > maxProblems {
					break
				}
				continue
			}
			return ImportResult{}, fmt.Errorf("import %s: %w", file, err)
		}
		line, _ := r.FieldPos(0)
		isHeader := first
		first = false
		ds := strings.TrimSpace(rec[0])
		d, derr := ParseFlexibleDate(ds)
		if derr != nil {
			if isHeader {
				continue
			}
			probs.Add(fmt.Sprintf("%s:%d", file, line), "%v", derr)
			if len(probs) > maxProblems {
				break
			}
			continue
		}
		name := ""
		if len(rec) > 1 {
			name = strings.TrimSpace(rec[1])
		}
		if len(rec) > 2 {
			probs.Add(fmt.Sprintf("%s:%d", file, line), "%d columns: want date,name", len(rec))
			continue
		}
		if prev, dup := seen[d]; dup {
			probs.Add(fmt.Sprintf("%s:%d", file, line), "date %s repeats line %d", d, prev)
			continue
		}
		seen[d] = line
		days = append(days, ImportedDay{Date: d, Name: name, Line: line})
	}
	return finish(file, days, probs, opt)
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
