package main

import (
	"context"
	"flag"
	"fmt"
	"maps"
	"slices"

	"atlaas/internal/atlaas"
	"atlaas/internal/demo"
	"atlaas/internal/postgres"
	"atlaas/internal/reference"
)

func runDemo(ctx context.Context, env *environment, args []string) error {
	if len(args) == 0 || args[0] != "load" {
		w, err := env.stderr, errUsage
		if len(args) > 0 && (args[0] == "-h" || args[0] == "--help" || args[0] == "help") {
			w, err = env.stdout, flag.ErrHelp
		}
		fmt.Fprintln(w, "Usage: atlaas demo load [flags]\n\nLoad the demonstration atlas; `atlaas demo load --help` lists the flags.")
		return err
	}
	var cfg Config
	var seed, scale, threshold int
	var ifEmpty bool
	fs := newFlagSet(env, "demo load", `Load the real reference data (geography, référentiel, published facts), then generate the
demonstration participations and fiches, deterministically from the seed, marked source = demo.
Replaces a previous demo; refuses a database that holds imported or API-written data.`)
	cfg.databaseFlags(fs)
	cfg.logFlags(fs)
	fs.IntVar(&seed, "seed", demo.DefaultSeed, "seed of the generator: the same seed gives the same data")
	fs.IntVar(&scale, "scale", 0, "generate this many fiches for benchmarks instead of the label's figures (0: the label's figures)")
	fs.BoolVar(&ifEmpty, "if-empty", false, "do nothing when the database already has fiches (what `make run` uses)")
	fs.intVar(&threshold, "village-threshold", "ATLAAS_VILLAGE_THRESHOLD", atlaas.DefaultVillageThreshold, "population under which a commune competes as a village")
	if err := fs.parse(args[1:]); err != nil {
		return err
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	if seed < 0 || scale < 0 || threshold < 1 {
		return fmt.Errorf("--seed and --scale must not be negative, --village-threshold must be positive")
	}
	logger := cfg.newLogger(env.stderr)
	db, err := postgres.Open(ctx, cfg.DatabaseURL, postgres.Options{ApplicationName: "atlaas demo", StatementTimeout: 0}, logger)
	if err != nil {
		return err
	}
	defer db.Close()
	if _, err := db.Migrate(ctx); err != nil {
		return err
	}
	if ifEmpty {
		has, err := db.HasFiches(ctx)
		if err != nil {
			return err
		}
		if has {
			fmt.Fprintln(env.stdout, "the database already has fiches: nothing loaded")
			return nil
		}
	}
	ref, err := reference.Load(threshold)
	if err != nil {
		return err
	}
	if err := db.LoadReference(ctx, ref); err != nil {
		return fmt.Errorf("load the reference data: %w", err)
	}
	ds, err := demo.Generate(ref, demo.Options{Seed: uint64(seed), Scale: scale})
	if err != nil {
		return err
	}
	st, err := db.LoadDemo(ctx, postgres.Demo{Participations: ds.Participations, Palmares: ds.Palmares, Fiches: ds.Fiches()})
	if err != nil {
		return fmt.Errorf("load the demo: %w", err)
	}
	fmt.Fprintf(env.stdout, "demonstration data loaded (seed %d) in %s: %d collectivités, %d participations of %d collectivités, %d palmarès entries, %d fiches (%d services, %d éditions)\n",
		seed, st.Duration.Round(1e6), len(ref.Collectivites), st.Participations, ds.Stats.DistinctCollectivites,
		st.Palmares, st.Fiches, st.FicheServices, st.FicheEditions)
	for _, y := range sortedYears(ds.Stats.PublicationsByYear) {
		fmt.Fprintf(env.stdout, "  %d: %d participants, %d fiches published or updated\n", y, ds.Stats.ParticipantsByYear[y], ds.Stats.PublicationsByYear[y])
	}
	return nil
}

func sortedYears(m map[int]int) []int {
	return slices.Sorted(maps.Keys(m))
}
