package postgres

import (
	"context"
	"fmt"
	"iter"
	"time"

	"github.com/jackc/pgx/v5"

	"atlaas/internal/atlaas"
)

// LoadReference inserts or updates the reference data, in one transaction. Running it again with
// the same data changes nothing.
func (db *DB) LoadReference(ctx context.Context, ref atlaas.Reference) error {
	return db.inTx(ctx, func(tx pgx.Tx) error {
		if err := beginBulkLoad(ctx, tx); err != nil {
			return err
		}
		steps := []func(context.Context, pgx.Tx, atlaas.Reference) error{
			upsertRegions, upsertDepartements, upsertCollectivites, upsertEditions, upsertReferentiel,
			replacePublished,
		}
		for _, step := range steps {
			if err := step(ctx, tx, ref); err != nil {
				return err
			}
		}
		return nil
	})
}

// beginBulkLoad tells the outbox triggers to stay silent for this transaction and bumps the
// data version instead: every follower rebuilds from the new version rather than replaying rows.
func beginBulkLoad(ctx context.Context, tx pgx.Tx) error {
	if _, err := tx.Exec(ctx, "SET LOCAL atlaas.bulk_load = 'on'"); err != nil {
		return err
	}
	_, err := tx.Exec(ctx, "SELECT atlaas_bump_data_version()")
	return err
}

// inTx runs fn in a transaction, committed when fn returns nil and rolled back otherwise.
func (db *DB) inTx(ctx context.Context, fn func(pgx.Tx) error) error {
	tx, err := db.pool.Begin(ctx)
	if err != nil {
		return err
	}
	defer tx.Rollback(ctx) //nolint:errcheck // a no-op after Commit
	if err := fn(tx); err != nil {
		return err
	}
	return tx.Commit(ctx)
}

func upsertRegions(ctx context.Context, tx pgx.Tx, ref atlaas.Reference) error {
	b := &pgx.Batch{}
	for _, r := range ref.Regions {
		b.Queue(`INSERT INTO regions (code, nom, geom)
		         VALUES ($1, $2, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($3::text), 4326)))
		         ON CONFLICT (code) DO UPDATE SET nom = EXCLUDED.nom, geom = EXCLUDED.geom
		         WHERE (regions.nom, regions.geom) IS DISTINCT FROM (EXCLUDED.nom, EXCLUDED.geom)`,
			r.Code, r.Nom, nullJSON(r.Geometry))
	}
	return sendBatch(ctx, tx, b, "régions")
}

func upsertDepartements(ctx context.Context, tx pgx.Tx, ref atlaas.Reference) error {
	b := &pgx.Batch{}
	for _, d := range ref.Departements {
		b.Queue(`INSERT INTO departements (code, nom, region, geom)
		         VALUES ($1, $2, $3, ST_Multi(ST_SetSRID(ST_GeomFromGeoJSON($4::text), 4326)))
		         ON CONFLICT (code) DO UPDATE SET nom = EXCLUDED.nom, region = EXCLUDED.region, geom = EXCLUDED.geom
		         WHERE (departements.nom, departements.region, departements.geom)
		               IS DISTINCT FROM (EXCLUDED.nom, EXCLUDED.region, EXCLUDED.geom)`,
			d.Code, d.Nom, d.Region, nullJSON(d.Geometry))
	}
	return sendBatch(ctx, tx, b, "départements")
}

// upsertCollectivites copies the ~36,000 collectivités into a temporary table, then merges them:
// one round trip per step rather than one per row.
func upsertCollectivites(ctx context.Context, tx pgx.Tx, ref atlaas.Reference) error {
	if _, err := tx.Exec(ctx, `CREATE TEMP TABLE load_collectivites
		(LIKE collectivites INCLUDING DEFAULTS) ON COMMIT DROP`); err != nil {
		return err
	}
	cols := []string{"code", "kind", "nom", "categorie", "population", "departement", "region", "epci",
		"siren", "codes_postaux", "geom", "geom_precision"}
	i := 0
	src := pgx.CopyFromFunc(func() ([]any, error) {
		if i == len(ref.Collectivites) {
			return nil, nil
		}
		c := ref.Collectivites[i]
		i++
		g, err := pointEWKB(c.Point)
		if err != nil {
			return nil, err
		}
		return []any{c.Code, c.Kind, c.Nom, c.Categorie, c.Population,
			nullString(c.Departement), nullString(c.Region), nullString(c.EPCI), nullString(c.SIREN), orEmpty(c.CodesPostaux), g, c.Precision}, nil
	})
	if _, err := tx.CopyFrom(ctx, pgx.Identifier{"load_collectivites"}, cols, src); err != nil {
		return fmt.Errorf("copy collectivités: %w", err)
	}
	_, err := tx.Exec(ctx, `INSERT INTO collectivites (code, kind, nom, categorie, population, departement, region,
			epci, siren, codes_postaux, geom, geom_precision)
		SELECT code, kind, nom, categorie, population, departement, region, epci, siren, codes_postaux, geom, geom_precision
		FROM load_collectivites
		ON CONFLICT (code) DO UPDATE SET kind = EXCLUDED.kind, nom = EXCLUDED.nom, categorie = EXCLUDED.categorie,
			population = EXCLUDED.population, departement = EXCLUDED.departement, region = EXCLUDED.region,
			epci = EXCLUDED.epci, siren = EXCLUDED.siren, codes_postaux = EXCLUDED.codes_postaux,
			geom = EXCLUDED.geom, geom_precision = EXCLUDED.geom_precision
		WHERE (collectivites.kind, collectivites.nom, collectivites.categorie, collectivites.population,
		       collectivites.departement, collectivites.region, collectivites.epci, collectivites.siren,
		       collectivites.codes_postaux, collectivites.geom, collectivites.geom_precision)
		      IS DISTINCT FROM (EXCLUDED.kind, EXCLUDED.nom, EXCLUDED.categorie, EXCLUDED.population,
		       EXCLUDED.departement, EXCLUDED.region, EXCLUDED.epci, EXCLUDED.siren,
		       EXCLUDED.codes_postaux, EXCLUDED.geom, EXCLUDED.geom_precision)`)
	if err != nil {
		return fmt.Errorf("merge collectivités: %w", err)
	}
	return nil
}

func upsertEditions(ctx context.Context, tx pgx.Tx, ref atlaas.Reference) error {
	b := &pgx.Batch{}
	for _, e := range ref.Editions {
		b.Queue(`INSERT INTO editions (annee, numero, ceremonie_date, ceremonie_mois, lieu, chiffres, sources)
		         VALUES ($1, $2, $3, $4, $5, $6, $7)
		         ON CONFLICT (annee) DO UPDATE SET numero = EXCLUDED.numero, ceremonie_date = EXCLUDED.ceremonie_date,
		           ceremonie_mois = EXCLUDED.ceremonie_mois, lieu = EXCLUDED.lieu,
		           chiffres = EXCLUDED.chiffres, sources = EXCLUDED.sources`,
			e.Annee, e.Numero, nullDate(e.CeremonieDate), nullString(e.CeremonieMois), nullString(e.Lieu),
			jsonOr(e.Chiffres, "{}"), jsonOr(e.Sources, "[]"))
	}
	return sendBatch(ctx, tx, b, "éditions")
}

func upsertReferentiel(ctx context.Context, tx pgx.Tx, ref atlaas.Reference) error {
	b := &pgx.Batch{}
	for _, c := range ref.Categories {
		b.Queue(`INSERT INTO categories (code, nom, ordre) VALUES ($1, $2, $3)
		         ON CONFLICT (code) DO UPDATE SET nom = EXCLUDED.nom, ordre = EXCLUDED.ordre`, c.Code, c.Nom, c.Ordre)
	}
	for _, e := range ref.Enjeux {
		b.Queue(`INSERT INTO enjeux (code, nom, categorie, description, hypothese, ordre) VALUES ($1, $2, $3, $4, $5, $6)
		         ON CONFLICT (code) DO UPDATE SET nom = EXCLUDED.nom, categorie = EXCLUDED.categorie,
		           description = EXCLUDED.description, hypothese = EXCLUDED.hypothese, ordre = EXCLUDED.ordre`,
			e.Code, e.Nom, e.Categorie, e.Description, e.Hypothese, e.Ordre)
	}
	for _, s := range ref.Services {
		b.Queue(`INSERT INTO services (code, nom, description, enjeu, ordre) VALUES ($1, $2, $3, $4, $5)
		         ON CONFLICT (code) DO UPDATE SET nom = EXCLUDED.nom, description = EXCLUDED.description,
		           enjeu = EXCLUDED.enjeu, ordre = EXCLUDED.ordre`, s.Code, s.Nom, s.Description, s.Enjeu, s.Ordre)
		b.Queue(`DELETE FROM service_editions WHERE service = $1 AND NOT (annee = ANY ($2))`, s.Code, s.Editions)
		b.Queue(`INSERT INTO service_editions (service, annee) SELECT $1, unnest($2::smallint[]) ON CONFLICT DO NOTHING`,
			s.Code, s.Editions)
	}
	for _, m := range ref.Mentions {
		b.Queue(`INSERT INTO mentions (code, nom, kind) VALUES ($1, $2, $3)
		         ON CONFLICT (code) DO UPDATE SET nom = EXCLUDED.nom, kind = EXCLUDED.kind`, m.Code, m.Nom, m.Kind)
	}
	return sendBatch(ctx, tx, b, "référentiel")
}

// replacePublished replaces the published palmarès and participations. A published participation
// overrides a generated one for the same collectivité and édition.
func replacePublished(ctx context.Context, tx pgx.Tx, ref atlaas.Reference) error {
	if _, err := tx.Exec(ctx, "DELETE FROM palmares WHERE source = 'publie'"); err != nil {
		return err
	}
	if _, err := copyPalmares(ctx, tx, ref.Palmares); err != nil {
		return err
	}
	b := &pgx.Batch{}
	b.Queue("DELETE FROM participations WHERE source = 'publie'")
	for _, p := range ref.Participations {
		b.Queue(`INSERT INTO participations (collectivite, annee, arobases, arobase_verte, territoire_excellence, nouveau, source)
		         VALUES ($1, $2, $3, $4, $5, $6, $7)
		         ON CONFLICT (collectivite, annee) DO UPDATE SET arobases = EXCLUDED.arobases,
		           arobase_verte = EXCLUDED.arobase_verte, territoire_excellence = EXCLUDED.territoire_excellence,
		           nouveau = EXCLUDED.nouveau, source = EXCLUDED.source`,
			p.Collectivite, p.Annee, p.Arobases, p.ArobaseVerte, p.TerritoireExcellence, p.Nouveau, p.Source)
	}
	return sendBatch(ctx, tx, b, "published participations")
}

func sendBatch(ctx context.Context, tx pgx.Tx, b *pgx.Batch, what string) error {
	if err := tx.SendBatch(ctx, b).Close(); err != nil {
		return fmt.Errorf("load %s: %w", what, err)
	}
	return nil
}

// Demo is a generated dataset: participations, palmarès and fiches, built around the published
// facts of the Reference (which it must not repeat).
type Demo struct {
	Participations []atlaas.Participation
	Palmares       []atlaas.PalmaresEntry
	// Fiches are streamed: a million of them need not be in memory at once.
	Fiches iter.Seq2[atlaas.Fiche, error]
}

// DemoStats counts what LoadDemo wrote.
type DemoStats struct {
	Participations, Palmares, Fiches, FicheServices, FicheEditions int64
	Duration                                                       time.Duration
}

// errRealData is returned by LoadDemo when the database holds imported or API-written data,
// which demonstration data must never be mixed with or replace.
var errRealData = atlaas.Errorf(atlaas.ECONFLICT,
	"this database holds imported or API-written fiches or participations: demonstration data is loaded only into a database without real data")

// HasFiches reports whether the database holds any fiche, demonstration or real.
func (db *DB) HasFiches(ctx context.Context) (bool, error) {
	var ok bool
	err := db.pool.QueryRow(ctx, "SELECT EXISTS (SELECT 1 FROM fiches)").Scan(&ok)
	return ok, err
}

// LoadDemo replaces the demonstration data with d, in one transaction; fiches, their services and
// éditions go through COPY. Published facts stay.
func (db *DB) LoadDemo(ctx context.Context, d Demo) (DemoStats, error) {
	start := time.Now()
	var st DemoStats
	err := db.inTx(ctx, func(tx pgx.Tx) error {
		var real bool
		if err := tx.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM fiches WHERE source IN ('import', 'api'))
		                            OR EXISTS (SELECT 1 FROM participations WHERE source IN ('import', 'api'))`).Scan(&real); err != nil {
			return err
		}
		if real {
			return errRealData
		}
		if err := beginBulkLoad(ctx, tx); err != nil {
			return err
		}
		for _, q := range []string{
			"DELETE FROM fiches WHERE source = 'demo'",
			"DELETE FROM palmares WHERE source = 'demo'",
			"DELETE FROM participations WHERE source = 'demo'",
		} {
			if _, err := tx.Exec(ctx, q); err != nil {
				return fmt.Errorf("clear the previous demo: %w", err)
			}
		}
		var err error
		if st.Participations, err = copyParticipations(ctx, tx, d.Participations); err != nil {
			return err
		}
		if st.Palmares, err = copyPalmares(ctx, tx, d.Palmares); err != nil {
			return err
		}
		if st.Fiches, st.FicheServices, st.FicheEditions, err = copyFiches(ctx, tx, d.Fiches); err != nil {
			return err
		}
		_, err = tx.Exec(ctx, `SELECT setval(pg_get_serial_sequence('fiches', 'id'), GREATEST((SELECT max(id) FROM fiches), 1))`)
		return err
	})
	st.Duration = time.Since(start)
	return st, err
}

func copyParticipations(ctx context.Context, tx pgx.Tx, ps []atlaas.Participation) (int64, error) {
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"participations"},
		[]string{"collectivite", "annee", "arobases", "arobase_verte", "territoire_excellence", "nouveau", "source"},
		pgx.CopyFromSlice(len(ps), func(i int) ([]any, error) {
			p := ps[i]
			return []any{p.Collectivite, p.Annee, p.Arobases, p.ArobaseVerte, p.TerritoireExcellence, p.Nouveau, p.Source}, nil
		}))
	if err != nil {
		return 0, fmt.Errorf("copy participations: %w", err)
	}
	return n, nil
}

func copyPalmares(ctx context.Context, tx pgx.Tx, ps []atlaas.PalmaresEntry) (int64, error) {
	n, err := tx.CopyFrom(ctx, pgx.Identifier{"palmares"},
		[]string{"annee", "mention", "collectivite", "nom_publie", "source"},
		pgx.CopyFromSlice(len(ps), func(i int) ([]any, error) {
			p := ps[i]
			return []any{p.Annee, p.Mention, nullString(p.Collectivite), p.NomPublie, p.Source}, nil
		}))
	if err != nil {
		return 0, fmt.Errorf("copy palmarès: %w", err)
	}
	return n, nil
}

// ficheLink is a row of fiche_services or fiche_editions, kept compact until its COPY.
type ficheLink struct {
	fiche int64
	value any
}

// copyLinks copies (fiche, value) rows into table.
func copyLinks(ctx context.Context, tx pgx.Tx, table, column string, links []ficheLink) (int64, error) {
	return tx.CopyFrom(ctx, pgx.Identifier{table}, []string{"fiche", column},
		pgx.CopyFromSlice(len(links), func(i int) ([]any, error) { return []any{links[i].fiche, links[i].value}, nil }))
}

// copyFiches streams the fiches into COPY, keeping only their small link rows (services,
// éditions) in memory for the two COPYs that follow.
func copyFiches(ctx context.Context, tx pgx.Tx, fiches iter.Seq2[atlaas.Fiche, error]) (n, ns, ne int64, err error) {
	var services, editions []ficheLink
	next, stop := iter.Pull2(fiches)
	defer stop()
	src := pgx.CopyFromFunc(func() ([]any, error) {
		f, ferr, ok := next()
		if !ok {
			return nil, nil
		}
		if ferr != nil {
			return nil, ferr
		}
		g, err := pointEWKB(f.Point)
		if err != nil {
			return nil, err
		}
		for _, s := range f.Services {
			services = append(services, ficheLink{f.ID, s})
		}
		for _, y := range f.Editions {
			editions = append(editions, ficheLink{f.ID, int16(y)})
		}
		return []any{f.ID, f.Collectivite, f.Titre, f.SousTitre, f.Synthese, f.Actions, f.Resultats,
			f.Recommandations, f.Outils, f.Statut, nullDate(f.DateDebut), nullDate(f.DateFin),
			orEmpty(f.PublicVise), orEmpty(f.Partenaires), orEmpty(f.Prestataires), orEmpty(f.Liens),
			g, f.Precision, f.Source, f.CreatedAt, f.UpdatedAt, max(f.Version, 1)}, nil
	})
	n, err = tx.CopyFrom(ctx, pgx.Identifier{"fiches"}, []string{"id", "collectivite", "titre", "sous_titre",
		"synthese", "actions", "resultats", "recommandations", "outils", "statut", "date_debut", "date_fin",
		"public_vise", "partenaires", "prestataires", "liens", "geom", "geom_precision", "source",
		"created_at", "updated_at", "version"}, src)
	if err != nil {
		return 0, 0, 0, fmt.Errorf("copy fiches: %w", err)
	}
	if ns, err = copyLinks(ctx, tx, "fiche_services", "service", services); err != nil {
		return 0, 0, 0, fmt.Errorf("copy fiche services: %w", err)
	}
	if ne, err = copyLinks(ctx, tx, "fiche_editions", "annee", editions); err != nil {
		return 0, 0, 0, fmt.Errorf("copy fiche éditions: %w", err)
	}
	return n, ns, ne, nil
}

func nullString(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func nullDate(t time.Time) any {
	if t.IsZero() {
		return nil
	}
	return t
}

func nullJSON(b []byte) any {
	if len(b) == 0 {
		return nil
	}
	return string(b)
}

func jsonOr(b []byte, def string) string {
	if len(b) == 0 {
		return def
	}
	return string(b)
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
