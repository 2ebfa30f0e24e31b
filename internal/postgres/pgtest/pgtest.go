// Package pgtest gives tests a real, migrated, isolated PostGIS database.
//
// Every call makes a new database, copied from a migrated template (fast: a file copy), and drops
// it when the test ends, so tests and packages run in parallel without seeing each other's rows.
// The server comes from DATABASE_URL (make test sets it up). Without it a test is skipped on a
// developer's machine and fails when CI=true.
package pgtest

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"atlaas/internal/postgres"
	"atlaas/migrations"
)

// lockKey serialises template builds across test processes.
const lockKey = 7_245_310_017

// MustURL returns the URL of a new migrated database that lives as long as the test.
func MustURL(tb testing.TB) string {
	tb.Helper()
	base := os.Getenv("DATABASE_URL")
	if base == "" {
		if os.Getenv("CI") == "true" {
			tb.Fatal("DATABASE_URL is not set: the tests need a PostGIS server (make test starts one)")
		}
		tb.Skip("DATABASE_URL is not set; run `make test` to start a local PostGIS")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()

	admin, err := pgx.Connect(ctx, base)
	if err != nil {
		tb.Fatalf("pgtest: connect to DATABASE_URL: %v", err)
	}
	defer admin.Close(ctx)

	// The lock is held from the template's build to its copy: a copy cannot start while another
	// process is still connected to the template it is building.
	if _, err := admin.Exec(ctx, "SELECT pg_advisory_lock($1)", lockKey); err != nil {
		tb.Fatalf("pgtest: lock: %v", err)
	}
	tmpl, err := ensureTemplate(ctx, admin, base)
	if err != nil {
		admin.Exec(ctx, "SELECT pg_advisory_unlock($1)", lockKey) //nolint:errcheck // the session ends anyway
		tb.Fatalf("pgtest: template database: %v", err)
	}
	name := "atlaas_test_" + randomHex(6)
	_, err = admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{name}.Sanitize()+" TEMPLATE "+pgx.Identifier{tmpl}.Sanitize())
	admin.Exec(ctx, "SELECT pg_advisory_unlock($1)", lockKey) //nolint:errcheck // the session ends anyway
	if err != nil {
		tb.Fatalf("pgtest: create database %s: %v", name, err)
	}
	tb.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		conn, err := pgx.Connect(ctx, base)
		if err != nil {
			tb.Errorf("pgtest: drop %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{name}.Sanitize()+" WITH (FORCE)"); err != nil {
			tb.Errorf("pgtest: drop %s: %v", name, err)
		}
	})
	return withDatabase(tb, base, name)
}

// MustOpen returns a store on a new migrated database that lives as long as the test.
func MustOpen(tb testing.TB) *postgres.DB {
	tb.Helper()
	u := MustURL(tb)
	db, err := postgres.Open(context.Background(), u, postgres.Options{StatementTimeout: time.Minute}, slog.New(slog.DiscardHandler))
	if err != nil {
		tb.Fatalf("pgtest: open: %v", err)
	}
	tb.Cleanup(db.Close)
	return db
}

// MustExec runs SQL on the database at u, failing the test on error.
func MustExec(tb testing.TB, u, sql string, args ...any) {
	tb.Helper()
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		tb.Fatalf("pgtest: connect: %v", err)
	}
	defer conn.Close(ctx)
	if _, err := conn.Exec(ctx, sql, args...); err != nil {
		tb.Fatalf("pgtest: exec %q: %v", sql, err)
	}
}

// ensureTemplate builds, once per migrations content, a migrated template database and returns
// its name. The caller holds the advisory lock. Templates of other migrations are left alone:
// another checkout may be using them.
func ensureTemplate(ctx context.Context, admin *pgx.Conn, base string) (string, error) {
	sum, err := migrationsHash()
	if err != nil {
		return "", err
	}
	name := "atlaas_tmpl_" + sum
	var exists bool
	if err := admin.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1)", name).Scan(&exists); err != nil {
		return "", err
	}
	if exists {
		return name, nil
	}
	// A build interrupted earlier leaves its half-made database: start again.
	building := name + "_building"
	if _, err := admin.Exec(ctx, "DROP DATABASE IF EXISTS "+pgx.Identifier{building}.Sanitize()+" WITH (FORCE)"); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "CREATE DATABASE "+pgx.Identifier{building}.Sanitize()); err != nil {
		return "", err
	}
	if err := migrate(ctx, withDatabaseURL(base, building)); err != nil {
		return "", err
	}
	if _, err := admin.Exec(ctx, "ALTER DATABASE "+pgx.Identifier{building}.Sanitize()+" RENAME TO "+pgx.Identifier{name}.Sanitize()); err != nil {
		return "", err
	}
	return name, nil
}

func migrate(ctx context.Context, u string) error {
	db, err := postgres.Open(ctx, u, postgres.Options{MaxConns: 2}, slog.New(slog.DiscardHandler))
	if err != nil {
		return err
	}
	defer db.Close()
	_, err = db.Migrate(ctx)
	return err
}

// migrationsHash identifies the content of the embedded migrations.
func migrationsHash() (string, error) {
	h := sha256.New()
	err := fs.WalkDir(migrations.FS, ".", func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(migrations.FS, path)
		if err != nil {
			return err
		}
		fmt.Fprintf(h, "%s\x00%d\x00", path, len(b))
		h.Write(b)
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))[:12], err
}

func withDatabase(tb testing.TB, base, name string) string {
	tb.Helper()
	u := withDatabaseURL(base, name)
	if u == "" {
		tb.Fatalf("pgtest: DATABASE_URL must be a postgres:// URL")
	}
	return u
}

// withDatabaseURL returns base with its database replaced by name ("" if base is not a URL).
func withDatabaseURL(base, name string) string {
	u, err := url.Parse(base)
	if err != nil || (u.Scheme != "postgres" && u.Scheme != "postgresql") {
		return ""
	}
	u.Path = "/" + name
	return u.String()
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b) //nolint:errcheck // crypto/rand.Read never fails on supported platforms
	return hex.EncodeToString(b)
}
