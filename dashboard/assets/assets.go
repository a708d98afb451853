// Package assets holds the dashboard's static browser files, embedded into kfup: the
// pinned third-party libraries under vendor/ (htmx, uPlot, dagre; written by
// `make dashboard-assets` from the npm registry and checked against vendor/SHA256SUMS)
// and the dashboard's own script and style sheet.
package assets

import "embed"

// FS is the dashboard's static files, served under /assets/.
//
//go:embed vendor/*.js vendor/*.css vendor/LICENSE.* app.js app.css
var FS embed.FS
