// Package ops holds the use cases that the web GUI, the REST API and the CLI
// share: accounts, applying and exporting definitions, and operator actions
// on generations. Every change goes through here so that it is validated the
// same way and audited (who, what, when) in the same transaction where the
// store allows it.
package ops
