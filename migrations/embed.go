// Package migrations holds the SQL migrations of the Atlaas schema, embedded in the binary.
package migrations

import "embed"

// FS holds every numbered migration (NNNNN_name.sql, goose format).
//
//go:embed *.sql
var FS embed.FS
