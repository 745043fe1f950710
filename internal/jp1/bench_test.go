package jp1

import (
	"fmt"
	"strings"
	"testing"
)

// bigExport is an ajsprint export of 50 job groups with 20 jobnets of 10
// jobs each (10,000 jobs).
func bigExport() []byte {
	var b strings.Builder
	for g := 0; g < 50; g++ {
		fmt.Fprintf(&b, "unit=grp%d,,jp1admin,;\n{\n\tty=g;\n\tcl=sa;\n\tcl=su;\n", g)
		for n := 0; n < 20; n++ {
			fmt.Fprintf(&b, "\tunit=net%d,,jp1admin,;\n\t{\n\t\tty=n;\n\t\tsd=1,2026/01/*%d;\n\t\tst=1,%02d:00;\n\t\tcy=1,(1,m);\n", n, n%20+1, n)
			for j := 1; j < 10; j++ {
				fmt.Fprintf(&b, "\t\tar=(f=job%d,t=job%d);\n", j-1, j)
			}
			for j := 0; j < 10; j++ {
				fmt.Fprintf(&b, "\t\tunit=job%d,,jp1admin,;\n\t\t{\n\t\t\tty=j;\n\t\t\tsc=\"/opt/batch/step%d.sh\";\n\t\t\ttho=8;\n\t\t}\n", j, j)
			}
			b.WriteString("\t}\n")
		}
		b.WriteString("}\n")
	}
	return []byte(b.String())
}

func BenchmarkParseAndMap(b *testing.B) {
	data := bigExport()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		us, err := Parse("big.jp1", data)
		if err != nil {
			b.Fatal(err)
		}
		if _, _, err := Map(us, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}
