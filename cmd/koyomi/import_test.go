package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/japanese"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

// A JP1 export as ajsprint writes it on a Japanese Windows manager: Shift_JIS, CRLF.
const jp1Payroll = "unit=人事,,jp1admin,;\r\n{\r\n\tty=g;\r\n\tcl=sa;\r\n\tcl=su;\r\n" +
	"\tunit=給与計算,,jp1admin,;\r\n\t{\r\n\t\tty=n;\r\n\t\tsd=1,2026/01/15;\r\n\t\tst=1,21:00;\r\n\t\tcy=1,(1,m);\r\n" +
	"\t\tsh=1,be;\r\n\t\tcftd=1,be,2;\r\n\t\tunit=calc,,jp1admin,;\r\n\t\t{\r\n\t\t\tty=pj;\r\n\t\t\tsc=\"C:\\hr\\calc.bat\";\r\n" +
	"\t\t\tex=\"hr-agent\";\r\n\t\t}\r\n\t}\r\n}\r\n"

func writeSJIS(t *testing.T, dir, name, text string) string {
	t.Helper()
	b, err := japanese.ShiftJIS.NewEncoder().String(text)
	require.NoError(t, err)
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(b), 0o644))
	return p
}

func TestImportJP1WritesYAMLThatPlansTheManualsDates(t *testing.T) {
	src := t.TempDir()
	writeSJIS(t, src, "hr.txt", jp1Payroll)
	out := t.TempDir()
	stdout, _, err := koyomi(t, t.TempDir(), "import", "jp1", src, "-o", out, "--into", "legacy")
	require.NoError(t, err)
	require.Contains(t, stdout, "approximated /人事/給与計算/calc: ex=\"hr-agent\"")
	require.Contains(t, stdout, "mapped: ")
	require.Contains(t, stdout, "unmapped: 0")

	// 2026-08-15 is a Saturday: payday before → 08-14, calculation two open days earlier.
	js, _, err := koyomi(t, t.TempDir(), "plan", "-f", out, "--from", "2026-08-01", "--to", "2026-08-31", "-o", "json")
	require.NoError(t, err)
	var rows []planRunJSON
	require.NoError(t, json.Unmarshal([]byte(js), &rows))
	require.Len(t, rows, 1)
	require.Equal(t, "2026-08-12", rows[0].BusinessDate)
	require.Equal(t, "2026-08-12T21:00:00+09:00", rows[0].Start)
}

func TestImportJP1AppliesInOneTransaction(t *testing.T) {
	src := writeSJIS(t, t.TempDir(), "hr.txt", jp1Payroll)
	dir := dbDir(t)
	out, _, err := koyomi(t, dir, "import", "jp1", src, "--dry-run")
	require.NoError(t, err)
	require.Contains(t, out, "nothing written (--dry-run)")
	exp, _, err := koyomi(t, dir, "export")
	require.NoError(t, err)
	require.NotContains(t, exp, "kind: Jobnet")

	out, _, err = koyomi(t, dir, "import", "jp1", src)
	require.NoError(t, err)
	require.Contains(t, out, "Jobnet")
	exp, _, err = koyomi(t, dir, "export")
	require.NoError(t, err)
	require.Contains(t, exp, "title: 給与計算", "the JP1 name is the title")

	// importing the same export again changes nothing
	out, _, err = koyomi(t, dir, "import", "jp1", src)
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(out), "\n") {
		if strings.HasPrefix(line, "Folder") || strings.HasPrefix(line, "Calendar") || strings.HasPrefix(line, "Jobnet") {
			require.Contains(t, line, "unchanged", line)
		}
	}
}

func TestImportJP1ParseErrorNamesFileAndLine(t *testing.T) {
	p := filepath.Join(t.TempDir(), "broken.txt")
	require.NoError(t, os.WriteFile(p, []byte("unit=g,,u,;\n{\n\tty=g;\n\tunit=n,,u,;\n\t{\n\t\tty=n;\n\t\tsd=1,2026/02/30;\n\t}\n}\n"), 0o644))
	_, _, err := koyomi(t, t.TempDir(), "import", "jp1", p, "-o", t.TempDir())
	require.ErrorIs(t, err, fault.ErrInvalid)
	require.Equal(t, 3, exitCode(err))
	require.ErrorContains(t, err, p+":7: sd=1,2026/02/30: 2026/02/30 does not exist")

	_, _, err = koyomi(t, t.TempDir(), "import", "jp1")
	require.Equal(t, 2, exitCode(err))
}
