// Package postgres is the PostGIS store of Atlaas: the connection pool, the schema migrations and
// every SQL statement. It is the only package that imports pgx.
package postgres

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"

	"atlaas/internal/atlaas"
	"atlaas/migrations"
)

// Options tune the pool and the per-connection settings of an interactive service.
type Options struct {
	// MaxConns bounds the pool (0: pgx's default, max(4, cores)).
	MaxConns int32
	// StatementTimeout is set on every connection, so a runaway query cannot hold one forever.
	StatementTimeout time.Duration
	// ApplicationName shows in pg_stat_activity.
	ApplicationName string
}

// DB is the PostGIS store.
type DB struct {
	pool   *pgxpool.Pool
	logger *slog.Logger
	head   int64 // the newest migration this binary embeds
}

// Open connects to the database at url and checks that it answers. It does not migrate.
func Open(ctx context.Context, url string, opts Options, logger *slog.Logger) (*DB, error) {
	if url == "" {
		return nil, atlaas.Errorf(atlaas.EINVALID, "no database URL: set DATABASE_URL or --database-url")
	}
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		// pgx's message may quote the URL and its password; keep it out of logs and errors.
		return nil, atlaas.Errorf(atlaas.EINVALID, "the database URL cannot be parsed")
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	params := cfg.ConnConfig.RuntimeParams
	params["application_name"] = opts.ApplicationName
	if params["application_name"] == "" {
		params["application_name"] = "atlaas"
	}
	if opts.StatementTimeout > 0 {
		params["statement_timeout"] = strconv.FormatInt(opts.StatementTimeout.Milliseconds(), 10)
	}
	// JIT compilation costs far more than it saves on the short queries of an interactive
	// service (measured: ~400 ms of a ~510 ms tile query), and parallel workers slow small bbox
	// queries down; see the performance section of the README.
	params["jit"] = "off"
	params["max_parallel_workers_per_gather"] = "0"

	cfg.AfterConnect = registerGeometry

	head, err := headVersion()
	if err != nil {
		return nil, err
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("connect to the database: %w", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, fmt.Errorf("connect to the database at %s: %w", redact(cfg.ConnConfig), err)
	}
	return &DB{pool: pool, logger: logger, head: head}, nil
}

// headVersion is the newest migration embedded in the binary.
func headVersion() (int64, error) {
	names, err := fs.Glob(migrations.FS, "*.sql")
	if err != nil {
		return 0, err
	}
	var head int64
	for _, name := range names {
		v, err := goose.NumericComponent(name)
		if err != nil {
			return 0, fmt.Errorf("embedded migration %s: %w", name, err)
		}
		head = max(head, v)
	}
	if head == 0 {
		return 0, errors.New("no embedded migration")
	}
	return head, nil
}

// redact names host, port and database without credentials.
func redact(c *pgx.ConnConfig) string {
	return fmt.Sprintf("%s:%d/%s", c.Host, c.Port, c.Database)
}

// Close closes every connection of the pool; it waits for connections in use to be released.
func (db *DB) Close() {
	db.pool.Close()
}

// Ping checks that the database answers.
func (db *DB) Ping(ctx context.Context) error {
	return db.pool.Ping(ctx)
}

// SchemaVersion is where the database's schema stands against the migrations this binary embeds.
type SchemaVersion struct {
	Current int64 // the newest migration applied to the database (0: none)
	Head    int64 // the newest migration this binary knows
}

// AtHead reports whether the database has exactly the schema of this binary.
func (v SchemaVersion) AtHead() bool { return v.Current == v.Head }

// Ahead reports whether the database was migrated by a newer binary.
func (v SchemaVersion) Ahead() bool { return v.Current > v.Head }

// withMigrator runs fn with a goose provider over a database/sql view of the pool; the session
// lock makes concurrent migrations (two instances starting together) wait for each other.
func (db *DB) withMigrator(fn func(*goose.Provider) error) error {
	sqlDB := stdlib.OpenDBFromPool(db.pool)
	defer sqlDB.Close()
	locker, err := lock.NewPostgresSessionLocker()
	if err != nil {
		return fmt.Errorf("migration lock: %w", err)
	}
	p, err := goose.NewProvider(goose.DialectPostgres, sqlDB, migrations.FS, goose.WithSessionLocker(locker))
	if err != nil {
		return fmt.Errorf("load migrations: %w", err)
	}
	return fn(p)
}

// Migrate applies the pending migrations and returns how many it applied. It refuses a database
// whose schema is ahead of this binary.
func (db *DB) Migrate(ctx context.Context) (int, error) {
	if err := db.CheckSchema(ctx, false); err != nil {
		return 0, err
	}
	var n int
	err := db.withMigrator(func(p *goose.Provider) error {
		results, err := p.Up(ctx)
		for _, r := range results {
			db.logger.Info("migration applied", "version", r.Source.Version, "file", r.Source.Path, "duration", r.Duration)
		}
		n = len(results)
		if err != nil {
			return fmt.Errorf("migrate: %w", err)
		}
		return nil
	})
	if n > 0 {
		// Connections opened before the migrations may predate PostGIS's types: renew them.
		db.pool.Reset()
	}
	return n, err
}

// Schema tells where the database's schema stands. It only reads, so it also works on a
// read-only replica and is cheap enough for every readiness probe.
func (db *DB) Schema(ctx context.Context) (SchemaVersion, error) {
	v := SchemaVersion{Head: db.head}
	var migrated bool
	if err := db.pool.QueryRow(ctx, "SELECT to_regclass('goose_db_version') IS NOT NULL").Scan(&migrated); err != nil {
		return v, fmt.Errorf("read the schema version: %w", err)
	}
	if !migrated {
		return v, nil
	}
	err := db.pool.QueryRow(ctx, "SELECT coalesce(max(version_id), 0) FROM goose_db_version WHERE is_applied").Scan(&v.Current)
	if err != nil {
		return v, fmt.Errorf("read the schema version: %w", err)
	}
	return v, nil
}

// CheckSchema returns an error when the schema is ahead of this binary, and, with requireHead,
// also when migrations are pending.
func (db *DB) CheckSchema(ctx context.Context, requireHead bool) error {
	v, err := db.Schema(ctx)
	if err != nil {
		return err
	}
	if v.Ahead() {
		return atlaas.Errorf(atlaas.EUNAVAILABLE,
			"the database schema is at version %d, newer than this binary knows (%d): run a newer atlaas, or point DATABASE_URL at another database",
			v.Current, v.Head)
	}
	if requireHead && v.Current < v.Head {
		return atlaas.Errorf(atlaas.EUNAVAILABLE,
			"the database schema is at version %d, this binary needs %d: run `atlaas migrate`", v.Current, v.Head)
	}
	return nil
}
