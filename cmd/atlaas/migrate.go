package main

import (
	"context"
	"fmt"

	"atlaas/internal/postgres"
)

func runMigrate(ctx context.Context, env *environment, args []string) error {
	var cfg Config
	fs := newFlagSet(env, "migrate", "Apply the pending schema migrations and exit. A second run applies nothing.")
	cfg.databaseFlags(fs)
	cfg.logFlags(fs)
	if err := fs.parse(args); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	logger := cfg.newLogger(env.stderr)
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{MaxConns: 2, ApplicationName: "atlaas migrate"}, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	n, err := db.Migrate(ctx)
	if err != nil {
		return err
	}
	v, err := db.Schema(ctx)
	if err != nil {
		return err
	}
	fmt.Fprintf(env.stdout, "applied %d migration(s); schema at version %d\n", n, v.Current)
	return nil
}
