package jobnet

import (
	"embed"
	"encoding/json"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strings"

	"github.com/invopop/jsonschema"

	"github.com/koyomi-dev/koyomi/internal/calendar"
)

// SchemaID is the $id of the definition file schema.
const SchemaID = "https://koyomi.dev/schemas/definitions.json"

// modelSources are read for the doc comments that become the schema's
// descriptions, so the Go types stay the one place the format is described.
//
//go:embed model.go rule.go connection.go
var modelSources embed.FS

// The document shapes as the schema describes them: kind plus the fields
// of the definition. Their names become the $defs names.
type (
	// FolderDocument is a YAML document of kind Folder.
	FolderDocument struct {
		Kind string `json:"kind"`
		Folder
	}
	// JobnetDocument is a YAML document of kind Jobnet.
	JobnetDocument struct {
		Kind string `json:"kind"`
		Jobnet
	}
	// CalendarDocument is a YAML document of kind Calendar.
	CalendarDocument struct {
		Kind string `json:"kind"`
		calendar.Definition
	}
	// PoolDocument is a YAML document of kind Pool.
	PoolDocument struct {
		Kind string `json:"kind"`
		Pool
	}
	// ConnectionDocument is a YAML document of kind Connection.
	ConnectionDocument struct {
		Kind string `json:"kind"`
		Connection
	}
)

// calendarComments describes calendar.Definition, whose source lives in
// another package.
var calendarComments = map[string]string{
	"Definition":                "An operation calendar: which dates are open, its time zone, base time and base day.",
	"Definition.TimeZone":       "IANA time zone, e.g. Asia/Tokyo (default UTC).",
	"Definition.BaseTime":       "When a business day starts, HH:MM within 00:00-23:59 (e.g. 05:00).",
	"Definition.BaseDay":        "The day a business month starts, 1-28 (default 1).",
	"Definition.MonthNaming":    "Which calendar month names a business month: start (default) or end.",
	"Definition.ClosedWeekdays": "The weekly pattern: days of the week that are closed, e.g. [sat, sun].",
	"Definition.HolidaySets":    "Holiday sets whose days are closed, e.g. [jp].",
	"Definition.Overrides":      "Explicit open or closed days; they win over the pattern and holiday sets.",
	"Definition.Parent":         "A calendar this one inherits from.",
	"OverrideDef":               "One explicit open or closed day.",
}

func enumOf[T ~string](vs ...T) *jsonschema.Schema {
	s := &jsonschema.Schema{Type: "string"}
	for _, v := range vs {
		s.Enum = append(s.Enum, string(v))
	}
	return s
}

// typeSchemas maps the types with their own text form and the string
// enums to their schemas.
func typeSchemas() map[reflect.Type]*jsonschema.Schema {
	return map[reflect.Type]*jsonschema.Schema{
		reflect.TypeFor[calendar.Date]():        {Type: "string", Format: "date", Pattern: `^[0-9]{4}-[0-9]{2}-[0-9]{2}$`, Description: "A date, YYYY-MM-DD."},
		reflect.TypeFor[calendar.ClockTime]():   {Type: "string", Pattern: `^([0-9]|[0-3][0-9]|4[0-7]):[0-5][0-9]$`, Description: "A business-day time HH:MM, 00:00-47:59."},
		reflect.TypeFor[calendar.Weekday]():     enumOf("sun", "mon", "tue", "wed", "thu", "fri", "sat"),
		reflect.TypeFor[Due]():                  {Type: "string", Pattern: `^(([0-9]|[0-3][0-9]|4[0-7]):[0-5][0-9]|\+([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+)$`, Description: "A deadline: a business-day time HH:MM (00:00-47:59; 30:00 is 06:00 the next calendar day) or +DURATION after the scheduled start (+3h)."},
		reflect.TypeFor[Duration]():             {Type: "string", Pattern: `^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$|^0$`, Description: "A Go duration, e.g. 90s, 15m, 1h30m."},
		reflect.TypeFor[calendar.MonthNaming](): enumOf(calendar.MonthNamingStart, calendar.MonthNamingEnd),
		reflect.TypeFor[UnitKind]():             enumOf(unitKinds...),
		reflect.TypeFor[EdgeKind]():             enumOf(edgeKinds...),
		reflect.TypeFor[JobType]():              enumOf(jobTypes...),
		reflect.TypeFor[EndMode]():              enumOf(EndByThresholds, EndAlwaysNormal),
		reflect.TypeFor[Outcome]():              enumOf(outcomes...),
		reflect.TypeFor[JudgmentKind]():         enumOf(JudgeExitCode, JudgeFileExists, JudgeVariable),
		reflect.TypeFor[Overlap]():              enumOf(OverlapConcurrent, OverlapWait, OverlapSkip),
		reflect.TypeFor[CatchUp]():              enumOf(CatchUpAll, CatchUpLatest, CatchUpSkip),
		reflect.TypeFor[RuleKind](): enumOf(RuleDay, RuleMonthEnd, RuleOpenDay, RuleOpenDayFromEnd,
			RuleWeekdayOfMonth, RuleEvery, RuleDates, RuleDaily, RuleWeekdays),
		reflect.TypeFor[ConnectionKind](): enumOf(connectionKinds...),
		reflect.TypeFor[Period]():         enumOf(PeriodMonth, PeriodWeek, PeriodYear),
		reflect.TypeFor[EveryUnit]():      enumOf(EveryDays, EveryWeeks, EveryMonths, EveryYears),
		reflect.TypeFor[Substitution]():   enumOf(SubstituteBefore, SubstituteAfter, SubstituteSkip, SubstituteRun),
	}
}

// stringEnums are plain string fields with a fixed set of values.
var stringEnums = map[string]map[string][]string{
	"ECSSpec":    {"launch_type": {"FARGATE", "EC2", "EXTERNAL"}},
	"EKSSpec":    {"mode": {"pod", "job"}, "cleanup": {"delete", "keep"}},
	"Timeout":    {"end_as": {"abnormal", "warning", "normal"}},
	"Judgment":   {"op": judgmentOps},
	"Toleration": {"operator": {"Equal", "Exists"}, "effect": {"NoSchedule", "PreferNoSchedule", "NoExecute"}},
}

// Schema returns the JSON Schema (draft 2020-12) of one definition
// document: exactly one of the five kinds, told apart by the kind const.
// Descriptions come from the Go doc comments of the model types.
func Schema() ([]byte, error) {
	comments, err := goComments()
	if err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	for k, v := range calendarComments {
		comments["calendar."+k] = v
	}
	mapped := typeSchemas()
	pkg := reflect.TypeFor[Jobnet]().PkgPath()
	calPkg := reflect.TypeFor[calendar.Definition]().PkgPath()
	r := &jsonschema.Reflector{
		Anonymous: true,
		Mapper: func(t reflect.Type) *jsonschema.Schema {
			if s, ok := mapped[t]; ok {
				c := *s
				return &c
			}
			return nil
		},
		Namer: func(t reflect.Type) string {
			if t == reflect.TypeFor[calendar.Definition]() {
				return "CalendarDefinition"
			}
			return t.Name()
		},
		LookupComment: func(t reflect.Type, field string) string {
			k := t.Name()
			if field != "" {
				k += "." + field
			}
			switch t.PkgPath() {
			case pkg:
				return comments[k]
			case calPkg:
				return comments["calendar."+k]
			}
			return ""
		},
	}
	root := &jsonschema.Schema{
		Version:     jsonschema.Version,
		ID:          SchemaID,
		Title:       "Koyomi definitions",
		Description: "One YAML document of a Koyomi definition file: a Folder, Jobnet, Calendar, Pool or Connection, named by kind.",
		Definitions: jsonschema.Definitions{},
	}
	docs := []struct {
		kind Kind
		v    any
	}{
		{KindFolder, FolderDocument{}},
		{KindJobnet, JobnetDocument{}},
		{KindCalendar, CalendarDocument{}},
		{KindPool, PoolDocument{}},
		{KindConnection, ConnectionDocument{}},
	}
	for _, d := range docs {
		s := r.Reflect(d.v)
		for name, def := range s.Definitions {
			root.Definitions[name] = def
		}
		name := reflect.TypeOf(d.v).Name()
		def := root.Definitions[name]
		if def == nil || def.Properties == nil {
			return nil, fmt.Errorf("json schema: no definition for %s", name)
		}
		def.Properties.Set("kind", &jsonschema.Schema{Const: string(d.kind), Description: "The document kind."})
		root.OneOf = append(root.OneOf, &jsonschema.Schema{Ref: "#/$defs/" + name})
	}
	for typ, fields := range stringEnums {
		def := root.Definitions[typ]
		if def == nil {
			return nil, fmt.Errorf("json schema: no definition for %s", typ)
		}
		for f, values := range fields {
			p, ok := def.Properties.Get(f)
			if !ok {
				return nil, fmt.Errorf("json schema: %s has no property %s", typ, f)
			}
			for _, v := range values {
				p.Enum = append(p.Enum, v)
			}
		}
	}
	out, err := json.MarshalIndent(root, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("json schema: %w", err)
	}
	return append(out, '\n'), nil
}

// goComments reads the doc comments of the model's types and fields, keyed
// "Type" and "Type.Field".
func goComments() (map[string]string, error) {
	out := map[string]string{}
	fset := token.NewFileSet()
	for _, name := range []string{"model.go", "rule.go", "connection.go"} {
		src, err := modelSources.ReadFile(name)
		if err != nil {
			return nil, err
		}
		f, err := parser.ParseFile(fset, name, src, parser.ParseComments)
		if err != nil {
			return nil, err
		}
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok || gd.Tok != token.TYPE {
				continue
			}
			for _, spec := range gd.Specs {
				ts := spec.(*ast.TypeSpec)
				doc := ts.Doc
				if doc == nil && len(gd.Specs) == 1 {
					doc = gd.Doc
				}
				if doc != nil {
					out[ts.Name.Name] = cleanComment(doc.Text())
				}
				st, ok := ts.Type.(*ast.StructType)
				if !ok {
					continue
				}
				for _, fl := range st.Fields.List {
					text := ""
					switch {
					case fl.Doc != nil:
						text = fl.Doc.Text()
					case fl.Comment != nil:
						text = fl.Comment.Text()
					}
					for _, n := range fl.Names {
						if text != "" {
							out[ts.Name.Name+"."+n.Name] = cleanComment(text)
						}
					}
				}
			}
		}
	}
	return out, nil
}

func cleanComment(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
