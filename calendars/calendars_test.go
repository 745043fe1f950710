package calendars

import (
	"bytes"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/require"
)

func TestJapanCSV(t *testing.T) {
	b := JapanCSV()
	require.True(t, utf8.Valid(b))
	require.False(t, bytes.Contains(b, []byte("\r")))
	require.True(t, bytes.HasPrefix(b, []byte("国民の祝日・休日月日,国民の祝日・休日名称\n1955/1/1,元日\n")))
	require.Equal(t, 1068, bytes.Count(b, []byte("\n")))
	require.Contains(t, JapanCSVSource, "出典：内閣府ホームページ")
}
