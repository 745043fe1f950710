// Package jp1 reads JP1/AJS3 unit definitions (the text ajsprint -a writes
// and ajsdefine reads) and maps them onto Koyomi definitions, with a report
// of what came over exactly, approximately or not at all. It is pure: bytes
// in, a jobnet.Bundle and a Report out.
//
// # Parsing
//
// Parse reads `unit=name[,perm[,user[,group]]];{ key=value; … }` blocks,
// nested to any depth, /* comments */, quoted values with the manual's
// escapes (#" for ", ## for #), in UTF-8 or Shift_JIS. Every parameter keeps
// its line; syntax errors are fault.Problems at file:line. Format writes
// units back, and Parse(Format(u)) gives u again (the fuzz test checks it).
//
// # Mapping
//
// Map places the units in Koyomi's name space (job group /a/b → folder
// "a.b", below Options.Into when set; names that Koyomi does not accept
// are cleaned and suffixed with a hash of the JP1 name), then maps job
// groups to folders and calendars, root jobnets to Jobnets with schedule
// rules, and the units inside to units and edges. Every parameter of every
// unit ends up in the Report as mapped, approximated (with what differs)
// or unmapped; parameters no step looks at are reported unmapped by a
// final sweep, so nothing is dropped silently. Units Koyomi has no
// equivalent for become held noop placeholders so the graph keeps its
// shape and a generation stops there until an operator acts.
//
// The rules are written down, with the manual's sections, in
// docs/migrating-from-jp1.md. Decisions where the manual leaves room:
//   - Calendars: for each date the nearest job group naming the date
//     decides, else the nearest naming its weekday, else the day is open;
//     a group with calendar information gets its own flattened calendar.
//   - Times before the base time are on the next calendar day (st=03:00
//     with stt=05:00 is Koyomi's 27:00).
//   - Defaults of omitted schedule parameters: sh=af, shd=2, st=00:00.
package jp1
