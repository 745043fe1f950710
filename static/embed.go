// Package static embeds the web GUI's stylesheets, scripts and images.
// Third-party scripts under vendor/ are copied from npm packages at build time
// (make assets) and committed, so the binary needs no CDN and no npm at run time.
package static

import "embed"

// FS holds css/, js/, img/ and vendor/.
//
//go:embed css js img vendor
var FS embed.FS
