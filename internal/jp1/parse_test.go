package jp1

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"golang.org/x/text/encoding/japanese"

	"github.com/koyomi-dev/koyomi/internal/fault"
)

func TestParseErrorsNameFileAndLine(t *testing.T) {
	cases := map[string]string{
		"unit=a,,u,;\n{\n\tty=n;\n\tsd=1,en\n}\n":         "x.jp1:4",
		"unit=a,,u,;\n{\n\tty=n;\n\tte=\"never closed;\n": "x.jp1:4",
		"unit=a,,u,;\n\tty=n;\n":                          "x.jp1:2",
		"unit=a,,u,;\n{\n\tty=n;\n":                       "x.jp1:1",
		"/* open comment\nunit=a;{}":                      "x.jp1:1",
	}
	for src, where := range cases {
		_, err := Parse("x.jp1", []byte(src))
		require.ErrorIs(t, err, fault.ErrInvalid, src)
		ps, _ := fault.AsProblems(err)
		require.Equal(t, where, ps[0].Path, src)
	}
}

func TestParseShiftJISAndEscapes(t *testing.T) {
	src := "unit=給与,,jp1admin,;\r\n{\r\n\tty=g;\r\n\tcm=\"say #\"hi#\" ## 1\";\r\n}\r\n"
	sjis, err := japanese.ShiftJIS.NewEncoder().String(src)
	require.NoError(t, err)
	us, err := Parse("x.jp1", []byte(sjis))
	require.NoError(t, err)
	require.Equal(t, "給与", us[0].Name)
	require.Equal(t, `say "hi" # 1`, Unquote(us[0].Params[1].Value))
	require.Equal(t, 4, us[0].Params[1].Line)
}

func TestUnmappedConstructsAreReportedWithPathAndLine(t *testing.T) {
	src := `unit=g,,u,;
{
	ty=g;
	unit=net,,u,;
	{
		ty=n;
		ar=(f=ev,t=j1);
		sd=1,2026/01/@3;
		cy=1,(1,m);
		unit=ev,,u,;
		{
			ty=evwj;
			evwid=00000111;
		}
		unit=j1,,u,;
		{
			ty=j;
			sc="/bin/true";
			pr=3;
		}
	}
}
`
	us, err := Parse("x.jp1", []byte(src))
	require.NoError(t, err)
	b, rep, err := Map(us, Options{})
	require.NoError(t, err)
	var got []string
	for _, f := range rep.Of(Unmapped) {
		got = append(got, f.Unit+":"+f.Param+"@"+strconv.Itoa(f.Line))
	}
	require.ElementsMatch(t, []string{"/g/net:sd=1,2026/01/@3@8", "/g/net:cy=1,(1,m)@9", "/g/net/ev:ty=evwj@12",
		"/g/net/ev:evwid=00000111@13", "/g/net/j1:pr=3@19"}, got)
	ev := b.Jobnets[0].Units[0]
	require.True(t, ev.Hold)
	require.Equal(t, "noop", string(ev.Job.Type))
}

func FuzzParse(f *testing.F) {
	f.Add("unit=a,,u,;\n{\n\tty=n;\n\tsd=1,2026/01/*b;\n\tunit=b;{ty=j;te=\"x #\" y\";}\n}\n")
	f.Add("/* c */unit=/g/n;{ty=n;ar=(f=a,t=b,con);}")
	f.Add("unit=a;{unit=b;{unit=c;{}}}")
	f.Fuzz(func(t *testing.T, src string) {
		us, err := Parse("f", []byte(src))
		if err != nil {
			_, ok := fault.AsProblems(err)
			require.True(t, ok)
			return
		}
		again, err := Parse("f", []byte(Format(us)))
		require.NoError(t, err, Format(us))
		require.Equal(t, strip(us), strip(again))
		_, _, _ = Map(us, Options{Into: "x"})
	})
}

// strip drops the line numbers, which Format does not keep.
func strip(us []*Unit) []*Unit {
	out := make([]*Unit, len(us))
	for i, u := range us {
		c := *u
		c.Line = 0
		c.Params = append([]Param(nil), u.Params...)
		for k := range c.Params {
			c.Params[k].Line = 0
		}
		c.Children = strip(u.Children)
		out[i] = &c
	}
	return out
}

func TestManagerJobnetAtGroupLevelIsReportedNotFatal(t *testing.T) {
	us, err := Parse("x.jp1", []byte("unit=g,,u,;\n{\n\tty=g;\n\tunit=m,,u,;\n\t{\n\t\tty=mn;\n\t\tmh=\"host\";\n\t}\n}\n"))
	require.NoError(t, err)
	_, rep, err := Map(us, Options{})
	require.NoError(t, err)
	require.Len(t, rep.Of(Unmapped), 2, rep.Of(Unmapped))
	require.Equal(t, 6, rep.Of(Unmapped)[0].Line)
}

func TestStartConditionIsReportedAndLeftOut(t *testing.T) {
	src := "unit=g,,u,;\n{\n\tty=g;\n\tunit=net,,u,;\n\t{\n\t\tty=n;\n\t\tsd=1,2026/01/01;\n\t\tcy=1,(1,d);\n" +
		"\t\tunit=AJS_AUTO_START_CONDITION,,u,;\n\t\t{\n\t\t\tty=rc;\n\t\t\tunit=f,,u,;\n\t\t\t{\n\t\t\t\tty=flwj;\n\t\t\t\tflwf=\"/in\";\n\t\t\t}\n\t\t}\n" +
		"\t\tunit=j,,u,;\n\t\t{\n\t\t\tty=j;\n\t\t\tte=\"true\";\n\t\t}\n\t}\n}\n"
	us, err := Parse("x.jp1", []byte(src))
	require.NoError(t, err)
	b, rep, err := Map(us, Options{})
	require.NoError(t, err)
	require.Len(t, b.Jobnets[0].Units, 1)
	var got []string
	for _, f := range rep.Of(Unmapped) {
		got = append(got, f.Param)
	}
	require.ElementsMatch(t, []string{"ty=rc", "ty=flwj", `flwf="/in"`}, got)
}
