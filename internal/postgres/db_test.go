package postgres_test

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"

	"atlaas/internal/atlaas"
	"atlaas/internal/postgres"
	"atlaas/internal/postgres/pgtest"
)

func TestMigrateTwiceIsNoOp(t *testing.T) {
	u := pgtest.MustURL(t)
	ctx := context.Background()
	db, err := postgres.Open(ctx, u, postgres.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	// The template was migrated already: a second migration applies nothing.
	n, err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("second migrate applied %d migrations, want 0", n)
	}
	v, err := db.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !v.AtHead() || v.Head < 1 {
		t.Fatalf("schema %+v, want at head", v)
	}
}

func TestMigrateFromEmpty(t *testing.T) {
	u := pgtest.MustURL(t)
	// Wipe the schema to simulate a brand-new database, then migrate it from zero.
	pgtest.MustExec(t, u, "DROP SCHEMA public CASCADE; CREATE SCHEMA public")
	ctx := context.Background()
	db, err := postgres.Open(ctx, u, postgres.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	v, err := db.Schema(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if v.Current != 0 {
		t.Fatalf("empty database at version %d, want 0", v.Current)
	}
	if err := db.CheckSchema(ctx, true); atlaas.ErrorCode(err) != atlaas.EUNAVAILABLE {
		t.Fatalf("CheckSchema on an empty database = %v, want unavailable", err)
	}
	n, err := db.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if int64(n) != v.Head {
		t.Fatalf("applied %d migrations, want %d", n, v.Head)
	}
	if n, err := db.Migrate(ctx); err != nil || n != 0 {
		t.Fatalf("second migrate: applied %d, err %v; want 0, nil", n, err)
	}
}

func TestSchemaAheadIsRefused(t *testing.T) {
	u := pgtest.MustURL(t)
	pgtest.MustExec(t, u, "INSERT INTO goose_db_version (version_id, is_applied) VALUES (99999, true)")
	ctx := context.Background()
	db, err := postgres.Open(ctx, u, postgres.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.CheckSchema(ctx, false)
	if err == nil || !strings.Contains(atlaas.ErrorMessage(err), "newer than this binary") {
		t.Fatalf("CheckSchema = %v, want a refusal naming a newer schema", err)
	}
	if _, err := db.Migrate(ctx); err == nil {
		t.Fatal("Migrate on a schema ahead of the binary succeeded, want a refusal")
	}
}

// TestSchemaConstraints checks that the database itself refuses what must never be stored.
func TestSchemaConstraints(t *testing.T) {
	u := pgtest.MustURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	mustExec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("fixture %q: %v", sql, err)
		}
	}
	mustExec(`INSERT INTO regions (code, nom) VALUES ('84', 'Auvergne-Rhône-Alpes')`)
	mustExec(`INSERT INTO departements (code, nom, region) VALUES ('69', 'Rhône', '84')`)
	mustExec(`INSERT INTO collectivites (code, kind, nom, categorie, population, departement, region, geom, geom_precision)
	          VALUES ('69029', 'commune', 'Bron', 'ville', 41000, '69', '84', ST_SetSRID(ST_MakePoint(4.91, 45.74), 4326), 'geonames')`)
	mustExec(`INSERT INTO editions (annee, numero) VALUES (2022, 23)`)
	mustExec(`INSERT INTO participations (collectivite, annee, arobases, source) VALUES ('69029', 2022, 5, 'demo')`)
	mustExec(`INSERT INTO fiches (collectivite, titre, statut, source) VALUES ('69029', 'Budget participatif', 'realise', 'demo')`)

	tests := []struct {
		name string
		sql  string
		code string // SQLSTATE expected
	}{
		{"arobases of 6", `INSERT INTO participations (collectivite, annee, arobases, source) VALUES ('69029', 2022, 6, 'demo')
		                   ON CONFLICT (collectivite, annee) DO UPDATE SET arobases = 6`, "23514"},
		{"arobases of 0", `UPDATE participations SET arobases = 0`, "23514"},
		{"empty title", `INSERT INTO fiches (collectivite, titre, statut, source) VALUES ('69029', '', 'realise', 'demo')`, "23514"},
		{"blank title", `INSERT INTO fiches (collectivite, titre, statut, source) VALUES ('69029', '   ', 'realise', 'demo')`, "23514"},
		{"latitude 95", `INSERT INTO fiches (collectivite, titre, statut, source, geom, geom_precision)
		                 VALUES ('69029', 'Wifi public', 'realise', 'demo', ST_SetSRID(ST_MakePoint(4.9, 95), 4326), 'lieu')`, "23514"},
		{"longitude 181", `UPDATE collectivites SET geom = ST_SetSRID(ST_MakePoint(181, 45), 4326)`, "23514"},
		{"point without SRID 4326", `UPDATE collectivites SET geom = ST_SetSRID(ST_MakePoint(800000, 6500000), 2154)`, "22023"},
		{"fiche of an unknown collectivité", `INSERT INTO fiches (collectivite, titre, statut, source) VALUES ('99999', 'Inconnue', 'realise', 'demo')`, "23503"},
		{"duplicate INSEE code", `INSERT INTO collectivites (code, kind, nom, categorie) VALUES ('69029', 'commune', 'Bron bis', 'ville')`, "23505"},
		{"EPCI labelled village", `INSERT INTO collectivites (code, kind, nom, categorie) VALUES ('200046977', 'epci', 'Métropole de Lyon', 'village')`, "23514"},
		{"malformed INSEE code", `INSERT INTO collectivites (code, kind, nom, categorie) VALUES ('6902', 'commune', 'Bron', 'ville')`, "23514"},
		{"point without precision", `INSERT INTO collectivites (code, kind, nom, categorie, geom) VALUES ('69030', 'commune', 'X', 'ville', ST_SetSRID(ST_MakePoint(4, 45), 4326))`, "23514"},
		{"édition number off", `INSERT INTO editions (annee, numero) VALUES (2024, 30)`, "23514"},
		{"excellence below 5 @", `UPDATE participations SET arobases = 4, territoire_excellence = true`, "23514"},
		{"unknown source", `UPDATE fiches SET source = 'inventee'`, "23514"},
		{"end before start", `UPDATE fiches SET date_debut = '2022-05-01', date_fin = '2022-01-01'`, "23514"},
		{"unknown statut", `UPDATE fiches SET statut = 'fini'`, "23514"},
		{"participation in an unknown édition", `INSERT INTO participations (collectivite, annee, arobases, source) VALUES ('69029', 2019, 3, 'demo')`, "23503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := conn.Exec(ctx, tt.sql)
			var pgErr *pgconn.PgError
			if !errors.As(err, &pgErr) {
				t.Fatalf("err = %v, want SQLSTATE %s", err, tt.code)
			}
			if pgErr.Code != tt.code {
				t.Fatalf("SQLSTATE %s (%s), want %s", pgErr.Code, pgErr.Message, tt.code)
			}
		})
	}

	// Nothing of the refused statements was stored.
	var arobases int
	if err := conn.QueryRow(ctx, "SELECT arobases FROM participations WHERE collectivite = '69029'").Scan(&arobases); err != nil {
		t.Fatal(err)
	}
	if arobases != 5 {
		t.Fatalf("arobases = %d after refused updates, want 5", arobases)
	}
	var fiches int
	if err := conn.QueryRow(ctx, "SELECT count(*) FROM fiches").Scan(&fiches); err != nil {
		t.Fatal(err)
	}
	if fiches != 1 {
		t.Fatalf("%d fiches after refused inserts, want 1", fiches)
	}
}

func TestOutboxNotifies(t *testing.T) {
	u := pgtest.MustURL(t)
	ctx := context.Background()
	listener, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer listener.Close(ctx)
	if _, err := listener.Exec(ctx, "LISTEN atlaas_outbox"); err != nil {
		t.Fatal(err)
	}
	pgtest.MustExec(t, u, "INSERT INTO outbox (entity, entity_id, op) VALUES ('fiche', '1', 'upsert'), ('fiche', '2', 'delete')")
	wait, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	n, err := listener.WaitForNotification(wait)
	if err != nil {
		t.Fatal(err)
	}
	if n.Channel != "atlaas_outbox" {
		t.Fatalf("notification on %q, want atlaas_outbox", n.Channel)
	}
}

// TestOutboxFollowsEveryChange checks that the triggers write an outbox row for each change a
// search index must see, in the same transaction, and none during a bulk load.
func TestOutboxFollowsEveryChange(t *testing.T) {
	u := pgtest.MustURL(t)
	ctx := context.Background()
	conn, err := pgx.Connect(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(ctx)
	exec := func(sql string) {
		t.Helper()
		if _, err := conn.Exec(ctx, sql); err != nil {
			t.Fatalf("%s: %v", sql, err)
		}
	}
	outbox := func() string {
		t.Helper()
		var s string
		if err := conn.QueryRow(ctx, `SELECT coalesce(string_agg(entity || ':' || entity_id || ':' || op, ' ' ORDER BY id), '') FROM outbox`).Scan(&s); err != nil {
			t.Fatal(err)
		}
		return s
	}
	exec(`INSERT INTO regions (code, nom) VALUES ('84', 'Auvergne-Rhône-Alpes')`)
	exec(`INSERT INTO departements (code, nom, region) VALUES ('69', 'Rhône', '84')`)
	exec(`INSERT INTO collectivites (code, kind, nom, categorie, population, departement, region) VALUES ('69029', 'commune', 'Bron', 'ville', 41000, '69', '84')`)
	exec(`INSERT INTO editions (annee, numero) VALUES (2022, 23)`)
	exec(`BEGIN; SET LOCAL atlaas.bulk_load = 'on';
	      INSERT INTO fiches (id, collectivite, titre, statut, source) VALUES (1, '69029', 'Budget participatif', 'realise', 'demo');
	      INSERT INTO participations (collectivite, annee, arobases, source) VALUES ('69029', 2022, 4, 'demo');
	      COMMIT`)
	if got := outbox(); got != "" {
		t.Fatalf("bulk load wrote outbox rows: %s", got)
	}
	exec(`UPDATE fiches SET titre = 'Budget participatif des jeunes' WHERE id = 1`)
	exec(`UPDATE participations SET arobases = 5`)
	exec(`BEGIN; UPDATE fiches SET titre = 'Rollback' WHERE id = 1; ROLLBACK`)
	exec(`DELETE FROM fiches WHERE id = 1`)
	if got, want := outbox(), "fiche:1:upsert collectivite:69029:upsert fiche:1:delete"; got != want {
		t.Fatalf("outbox = %q, want %q", got, want)
	}
}
