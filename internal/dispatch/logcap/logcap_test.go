package logcap

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestPlan(t *testing.T) {
	const max = 1000
	_, changed := Plan(max, max, Cut{})
	require.False(t, changed, "a log at its cap keeps everything")
	_, changed = Plan(5000, 0, Cut{})
	require.False(t, changed, "no cap")

	c, changed := Plan(1500, max, Cut{})
	require.True(t, changed)
	require.Equal(t, Cut{From: 250, To: 750, Max: max}, c, "the first quarter and the last three quarters stay")

	// The range grows from where it began as the log grows.
	c2, changed := Plan(2500, max, c)
	require.True(t, changed)
	require.Equal(t, Cut{From: 250, To: 1750, Max: max}, c2)
	require.Equal(t, int64(max), 2500-(c2.To-c2.From))

	_, changed = Plan(2500, max, c2)
	require.False(t, changed, "nothing more to leave out")
}

func TestMarkerAndByteSize(t *testing.T) {
	for n, want := range map[int64]string{0: "0 B", 1023: "1023 B", 1024: "1 KiB", 1536: "1.5 KiB", 64 << 20: "64 MiB", 3 << 30: "3 GiB"} {
		require.Equal(t, want, ByteSize(n), "%d", n)
	}
	m := Marker(Cut{From: 1 << 20, To: 5 << 20, Max: 4 << 20})
	require.True(t, strings.HasPrefix(m, "\n[koyomi: log truncated here, 4 MiB left out"), m)
	require.Contains(t, m, "capped at 4 MiB, its first 1 MiB and its last 3 MiB are kept]")
}

func TestPunchKeepsOffsets(t *testing.T) {
	p := filepath.Join(t.TempDir(), "log")
	f, err := os.Create(p)
	require.NoError(t, err)
	defer f.Close()
	data := []byte(strings.Repeat("0123456789abcdef", 64<<10)) // 1 MiB
	_, err = f.Write(data)
	require.NoError(t, err)
	next, changed := Plan(int64(len(data)), 256<<10, Cut{})
	require.True(t, changed)
	if err := Punch(f, Cut{}, next); err != nil {
		t.Skipf("this file system cannot punch holes: %v", err)
	}
	fi, err := f.Stat()
	require.NoError(t, err)
	require.Equal(t, int64(len(data)), fi.Size(), "the file keeps the offsets of the whole log")
	got, err := os.ReadFile(p)
	require.NoError(t, err)
	require.Equal(t, data[:next.From], got[:next.From], "the head is kept")
	require.Equal(t, data[next.To:], got[next.To:], "the end is kept")
	require.Equal(t, make([]byte, 4096), got[next.From:next.From+4096], "the range left out reads as a hole")
}

// TestRead: a reader walks a capped log with its cursor: the kept head,
// the marker where the cut is, the kept tail; with lines, chunks that stop
// early end at a line break.
func TestRead(t *testing.T) {
	log := strings.Repeat("head line\n", 10) + strings.Repeat("x", 200) + strings.Repeat("tail line\n", 10)
	cut := Cut{From: 100, To: 300, Max: 300}
	r := strings.NewReader(log)
	size := int64(len(log))
	walk := func(limit int, lines bool) string {
		var out []byte
		off := int64(0)
		for off < size {
			data, next, err := Read(r, size, cut, off, limit, lines)
			require.NoError(t, err)
			require.Greater(t, next, off, "a read moves on")
			out = append(out, data...)
			off = next
		}
		return string(out)
	}
	want := log[:100] + Marker(cut) + log[300:]
	require.Equal(t, want, walk(1<<20, false))
	require.Equal(t, want, walk(len(Marker(cut))+3, false), "small reads (not below the marker) give the same text")
	require.Equal(t, want, walk(1<<20, true))

	data, next, err := Read(r, size, cut, 0, 25, true)
	require.NoError(t, err)
	require.Equal(t, "head line\nhead line\n", string(data), "ends at the last line break")
	require.Equal(t, int64(20), next)
	data, next, err = Read(r, size, cut, 150, 10, false)
	require.NoError(t, err)
	require.Equal(t, Marker(cut)[:10], string(data), "a cursor inside the cut gets the marker first")
	require.Equal(t, int64(300), next)
}
