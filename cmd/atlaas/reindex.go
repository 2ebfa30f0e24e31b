package main

import (
	"context"
	"fmt"

	"atlaas/internal/postgres"
	"atlaas/internal/search"
)

func runReindex(ctx context.Context, env *environment, args []string) error {
	var cfg Config
	fs := newFlagSet(env, "reindex", `Rebuild the search index from PostGIS into a new directory inside --index-dir, then switch to
it atomically. A server using the same --index-dir switches to it within a second.`)
	cfg.databaseFlags(fs)
	cfg.logFlags(fs)
	fs.stringVar(&cfg.IndexDir, "index-dir", "ATLAAS_INDEX_DIR", "var/index", "directory of the search index")
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	logger := cfg.newLogger(env.stderr)
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{ApplicationName: "atlaas reindex"}, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	if err := db.CheckSchema(ctx, true); err != nil {
		return err
	}
	st, err := search.Rebuild(ctx, cfg.IndexDir, db, logger)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "search index rebuilt: %d fiches in %s (data version %d), now current in %s\n",
		st.Documents, st.Duration.Round(1e6), st.Version, cfg.IndexDir)
	return nil
}
