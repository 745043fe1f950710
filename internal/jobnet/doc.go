// Package jobnet holds the jobnet model (folders, root jobnets, nets of
// units and edges, job specs, schedule rules, pools), its validation, and
// the YAML definition format that designers keep in git.
//
// # Definition files
//
// A definition file is a YAML stream of documents, each a mapping with
// `kind: Folder | Jobnet | Calendar | Pool` plus the fields of Folder,
// Jobnet, calendar.Definition or Pool (their `yaml` tags are the field
// names). ParseFile decodes strictly with go.yaml.in/yaml/v3 nodes and its
// own reflective mapper: unknown fields, duplicate keys, values of the wrong
// shape and merge keys (<<) are findings at file:line:column, e.g.
//
//	examples/payroll.yaml:12:5: unknown field "comand" in job.local
//
// The name after "in" is the key path since the nearest list element or
// document, or that element's label ("unit", "rule", "Jobnet"). Malformed
// YAML is one finding at the line the parser names; yaml/v3 does not report
// a column, so the column is that of the line's first non-space character.
// Anchors and aliases work. An alias to a value that contains it is
// refused as a recursive alias; values decoded through aliases are counted,
// and more than a million is refused as an alias bomb; nesting deeper than
// 256 levels is refused. Plain definitions have no size bound: an export
// of thousands of jobs and tens of thousands of edges reads back. LoadPath reads a file or the
// *.yaml/*.yml files directly in a directory (lexical order; Load with
// recursive also reads subdirectories, hidden ones skipped, as `apply -R`
// does) and returns the findings of all files together.
//
// # Canonical form
//
// Normalized clears values equal to their default (edge kind normal, end
// mode thresholds, retry on abnormal+failed_to_start, timeout end_as
// abnormal, eks mode pod / cleanup delete, rule period month, closed skip,
// max_shift 31), sorts set-like lists, and orders units by Topo (definition
// order breaks ties, so the order is stable and reads top to bottom) with
// edges following their units. Encode writes a bundle as canonical YAML
// (calendars, pools, folders, jobnets; each by name), so apply → export →
// apply is a no-op; WriteDir/SplitByFolder lay an export out as one file per
// folder plus calendars.yaml and pools.yaml. Canonical is the normalized
// jobnet as JSON and Hash its sha256: the store makes a new version only
// when the hash changes. Unit positions on the editor canvas are part of the
// definition and so of the hash. Diff lists the changes between two
// versions for the history page.
//
// # Validation
//
// Validate(bundle, known) returns every problem at once, sorted by path,
// with things named by name where they have one:
// `jobnets[sales/nightly].units[sub].net.units[x].job.local.command`,
// `jobnets[sales/nightly].edges[3].to`, `jobnets[0].name`. Known supplies
// what exists outside the bundle (the database); names in the bundle are
// always known. Decisions:
//   - Names of units, jobnets, folders, calendars and pools are 1-64 of
//     A-Z a-z 0-9 _ . - : "/" separates folder/jobnet and nested unit paths.
//   - A jobnet's folder must exist; its calendar is its own or else its
//     folder's, and one of them must be set and exist.
//   - true/false edges leave judgments only, and judgments have only
//     true/false out-edges. An exit_code judgment has exactly one incoming
//     edge, from a job (whose exit code it reads).
//   - A wait unit names another root jobnet (folder/name, or name in the
//     same folder); when that jobnet is in the bundle its unit path is
//     checked too. Waiting on one's own jobnet is an error: use an edge.
//   - Delay monitoring applies to jobs, nested jobnets and root jobnets;
//     each deadline is either at (business-day time) or after (duration).
//   - A deadline (Due, written "30:00" or "+3h") applies to root jobnets,
//     schedule rules (winning over the jobnet's for their generations), jobs
//     and nested jobnets. It does not change how anything runs: the forecast
//     compares predicted ends with it and warns.
//   - ECS task definitions are family, family:revision or a task
//     definition ARN; launch_type and capacity_providers are exclusive.
//     task_cpu/task_memory read as units or vCPUs and MiB or GB; on Fargate
//     they must be one of its task sizes (CheckTaskSize). secrets map
//     variable names to Secrets Manager or SSM references, never values, and
//     a name is either in env or in secrets (CheckSecrets). The capacity
//     budget (Job.CapacityBudget) defaults to 20 retries 30 s apart.
//   - Connections are checked only when Known.CheckConnections is set,
//     since plain file validation does not see the database.
//   - Holiday sets are the built-in ones (calendar.LookupSet) plus
//     Known.HolidaySets.
//   - Environment and parameter names are shell variable names; KOYOMI_*
//     is reserved for the variables Koyomi sets.
//   - Schedule rules are checked by ValidateRules; exclusive_with names
//     must resolve to jobnets.
//
// # Schema
//
// Schema generates the JSON Schema (draft 2020-12) of one document with
// invopop/jsonschema: oneOf the four document shapes, told apart by a kind
// const, additionalProperties false everywhere, enums for every kind,
// outcome and substitution, patterns for dates, times and durations, and
// descriptions from the doc comments of model.go and rule.go (embedded).
package jobnet
