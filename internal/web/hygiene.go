package web

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/labstack/echo/v4"

	"github.com/koyomi-dev/koyomi/internal/fault"
	"github.com/koyomi-dev/koyomi/internal/store"
)

// textHygiene refuses a request whose path, query, form fields or JSON
// strings hold a NUL byte or invalid UTF-8 (422 naming the field): no
// handler sees text that PostgreSQL would refuse or a job's environment
// could not carry. Uploaded files are not text fields and pass (a
// Shift_JIS calendar file is read as such by its importer).
func textHygiene(next echo.HandlerFunc) echo.HandlerFunc {
	return func(c echo.Context) error {
		req := c.Request()
		var ps fault.Problems
		check := func(path, s string) {
			if err := store.CheckText(s); err != nil {
				ps.Add(path, "%v", err)
			}
		}
		check("path", req.URL.Path)
		if q, err := url.ParseQuery(req.URL.RawQuery); err == nil {
			checkValues(q, "query.", check)
		}
		ctype, _, _ := mime.ParseMediaType(req.Header.Get("Content-Type"))
		switch ctype {
		case "application/x-www-form-urlencoded", "multipart/form-data":
			if _, err := c.FormParams(); err == nil {
				checkValues(req.PostForm, "form.", check)
				if req.MultipartForm != nil {
					checkValues(req.MultipartForm.Value, "form.", check)
				}
			}
		case "application/json":
			body, err := io.ReadAll(req.Body)
			if err != nil {
				return fmt.Errorf("read body: %w", err)
			}
			req.Body = io.NopCloser(bytes.NewReader(body))
			checkJSON(body, check)
		}
		if err := ps.Err(); err != nil {
			return err
		}
		return next(c)
	}
}

func checkValues(vs map[string][]string, prefix string, check func(path, s string)) {
	keys := make([]string, 0, len(vs))
	for k := range vs {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := store.CheckText(k); err != nil {
			check(prefix+strconv.Quote(k), k)
			continue
		}
		for _, v := range vs[k] {
			check(prefix+k, v)
		}
	}
}

// checkJSON walks a JSON body and checks every key and string. Invalid UTF-8
// is found in the raw bytes (the decoder would replace it silently); a NUL
// arrives as \u0000 and is found in the decoded strings. A body that is not
// JSON is left to the handler's own decoding.
func checkJSON(body []byte, check func(path, s string)) {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&v); err != nil {
		var se *json.SyntaxError
		if !errors.As(err, &se) && !utf8.Valid(body) {
			check("body", string(body))
		}
		return
	}
	if !utf8.Valid(body) {
		// The decoder replaced the bad bytes with U+FFFD: name the fields
		// holding a replacement character the body does not spell out.
		found := false
		walkJSON("body", v, func(path, s string) {
			if strings.ContainsRune(s, utf8.RuneError) && !bytes.Contains(body, []byte(s)) {
				found = true
				check(path, "\xff")
			}
		})
		if !found {
			check("body", string(body))
		}
		return
	}
	walkJSON("body", v, check)
}

func walkJSON(path string, v any, check func(path, s string)) {
	switch t := v.(type) {
	case string:
		check(path, t)
	case []any:
		for i, e := range t {
			walkJSON(fmt.Sprintf("%s[%d]", path, i), e, check)
		}
	case map[string]any:
		keys := make([]string, 0, len(t))
		for k := range t {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			check(path+"."+k, k)
			walkJSON(path+"."+k, t[k], check)
		}
	}
}

// noteMaxBytes bounds a calendar day's note.
const noteMaxBytes = 200

// cutText shortens s to at most n bytes without splitting a character.
func cutText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n]
}
