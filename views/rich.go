package views

import (
	"context"
	"html"
	"io"
	"strings"

	"github.com/a-h/templ"
)

// Rich renders a message whose `backquoted` parts are code (commands,
// identifiers, field names, example values): they are shown as <code>, so
// a translated message can carry them as they are. The rest is escaped text.
func Rich(ctx context.Context, key string, args ...any) templ.Component {
	return RichText(T(ctx, key, args...))
}

// RichText renders s as Rich does.
func RichText(s string) templ.Component {
	return templ.ComponentFunc(func(_ context.Context, w io.Writer) error {
		var b strings.Builder
		for i, part := range strings.Split(s, "`") {
			switch {
			case part == "":
			case i%2 == 1:
				b.WriteString("<code>" + html.EscapeString(part) + "</code>")
			default:
				b.WriteString(html.EscapeString(part))
			}
		}
		_, err := io.WriteString(w, b.String())
		return err
	})
}
