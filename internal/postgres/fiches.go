package postgres

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"strconv"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"atlaas/internal/atlaas"
)

// DataVersion returns the data version, which every bulk load (demo, whole-dataset import) bumps:
// an index built from an older version must be rebuilt rather than caught up from the outbox.
func (db *DB) DataVersion(ctx context.Context) (int64, error) {
	var v int64
	if err := db.pool.QueryRow(ctx, "SELECT version FROM data_version").Scan(&v); err != nil {
		return 0, fmt.Errorf("read the data version: %w", err)
	}
	return v, nil
}

// outboxSettle is how old an outbox row must be to be settled: outbox ids are taken before their
// transaction commits, so a smaller id can still appear as long as a writer runs.
const outboxSettle = "5 minutes"

// FicheDocuments streams the search document of every live fiche, by ascending id, to fn, from
// one snapshot (a REPEATABLE READ, READ ONLY transaction). With the same snapshot it returns the
// data version the documents belong to, and the outbox position an index built from them can
// resume from: the last outbox id over 5 minutes old, so that changes that were committing while
// the snapshot was taken are replayed (replaying a change is idempotent).
//
// Rows are read one at a time, never all held in memory, and the statement has no timeout: a
// rebuild of a million fiches takes as long as fn needs. The transaction keeps its snapshot (and
// holds back vacuum) until then. If fn returns an error, the query is cancelled at once and
// FicheDocuments returns that error.
func (db *DB) FicheDocuments(ctx context.Context, fn func(atlaas.FicheDocument) error) (version, outboxPos int64, err error) {
	tx, err := db.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.RepeatableRead, AccessMode: pgx.ReadOnly})
	if err != nil {
		return 0, 0, fmt.Errorf("fiche documents: begin: %w", err)
	}
	defer tx.Rollback(ctx) //nolint:errcheck // read only: nothing to keep
	if _, err := tx.Exec(ctx, "SET LOCAL statement_timeout = 0"); err != nil {
		return 0, 0, fmt.Errorf("fiche documents: %w", err)
	}
	err = tx.QueryRow(ctx, `SELECT version,
		       coalesce((SELECT max(id) FROM outbox WHERE created_at < now() - $1::interval), 0)
		FROM data_version`, outboxSettle).Scan(&version, &outboxPos)
	if err != nil {
		return 0, 0, fmt.Errorf("fiche documents: read the data version and outbox position: %w", err)
	}

	qctx, cancel := context.WithCancel(ctx)
	defer cancel()
	rows, err := tx.Query(qctx, ficheDocumentsSQL(false))
	if err != nil {
		return 0, 0, fmt.Errorf("fiche documents: %w", err)
	}
	// Cancelling the query is how a stream stops early: closing the rows alone would first read
	// every remaining row. pgx then drops the connection, which the pool replaces. After the last
	// row, both are no-ops.
	defer func() {
		cancel()
		rows.Close()
	}()
	for rows.Next() {
		d, err := scanFicheDocument(rows)
		if err != nil {
			return 0, 0, fmt.Errorf("fiche documents: %w", err)
		}
		if err := fn(d); err != nil {
			return 0, 0, err
		}
	}
	if err := rows.Err(); err != nil {
		return 0, 0, fmt.Errorf("fiche documents: %w", err)
	}
	return version, outboxPos, nil
}

// FicheDocumentsByID returns the search documents of the live fiches among ids, by ascending id.
// Unknown and deleted ids are simply absent: a follower of the outbox then deletes them from its
// index.
func (db *DB) FicheDocumentsByID(ctx context.Context, ids []int64) ([]atlaas.FicheDocument, error) {
	docs := []atlaas.FicheDocument{}
	if len(ids) == 0 {
		return docs, nil
	}
	rows, err := db.pool.Query(ctx, ficheDocumentsSQL(true), ids)
	if err != nil {
		return nil, fmt.Errorf("fiche documents by id: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		d, err := scanFicheDocument(rows)
		if err != nil {
			return nil, fmt.Errorf("fiche documents by id: %w", err)
		}
		docs = append(docs, d)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("fiche documents by id: %w", err)
	}
	return docs, nil
}

// ficheDocumentsSQL is the query of the search documents of live fiches, ordered by id: all of
// them, or with byID only those whose id is in the bigint[] $1.
//
// Each list is aggregated per fiche in a derived table grouped by fiche and merge-joined on id:
// on a full scan every part streams in id order from its primary key, which measured 3 times
// faster than correlated subqueries (one aggregate per fiche). With byID the filter is repeated
// inside each derived table, so that only those fiches' rows are read.
//
// Columns are scanned by scanFicheDocument; arobases is aligned with annees (NULL where the
// collectivité did not take part in that édition).
func ficheDocumentsSQL(byID bool) string {
	only := func(col string) string {
		if byID {
			return col + " = ANY ($1)"
		}
		return "true"
	}
	return `SELECT f.id, f.titre, f.sous_titre, f.synthese, f.actions, f.resultats, f.statut, f.source,
	       c.code, c.nom, c.categorie, coalesce(c.population, 0), coalesce(c.departement, ''), coalesce(c.region, ''),
	       coalesce(s.services, '{}'), coalesce(s.enjeux, '{}'),
	       coalesce(e.annees, '{}'), coalesce(e.arobases, '{}'), coalesce(m.mentions, '{}'),
	       ST_X(f.geom), ST_Y(f.geom), f.updated_at, f.date_debut
	FROM fiches f
	JOIN collectivites c ON c.code = f.collectivite
	LEFT JOIN (
	    SELECT fs.fiche, array_agg(fs.service ORDER BY fs.service) AS services,
	           array_agg(DISTINCT sv.enjeu ORDER BY sv.enjeu) AS enjeux
	    FROM fiche_services fs
	    JOIN services sv ON sv.code = fs.service
	    WHERE ` + only("fs.fiche") + `
	    GROUP BY fs.fiche) s ON s.fiche = f.id
	LEFT JOIN (
	    SELECT fe.fiche, array_agg(fe.annee::int ORDER BY fe.annee) AS annees,
	           array_agg(p.arobases::int ORDER BY fe.annee) AS arobases
	    FROM fiche_editions fe
	    JOIN fiches fc ON fc.id = fe.fiche
	    LEFT JOIN participations p ON p.collectivite = fc.collectivite AND p.annee = fe.annee
	    WHERE ` + only("fe.fiche") + `
	    GROUP BY fe.fiche) e ON e.fiche = f.id
	LEFT JOIN (
	    SELECT fe.fiche, array_agg(DISTINCT pm.mention ORDER BY pm.mention) AS mentions
	    FROM palmares pm
	    JOIN fiches fc ON fc.collectivite = pm.collectivite
	    JOIN fiche_editions fe ON fe.fiche = fc.id AND fe.annee = pm.annee
	    WHERE ` + only("fe.fiche") + `
	    GROUP BY fe.fiche) m ON m.fiche = f.id
	WHERE f.deleted_at IS NULL AND ` + only("f.id") + `
	ORDER BY f.id`
}

// scanFicheDocument reads one row of ficheDocumentsSQL.
func scanFicheDocument(rows pgx.Rows) (atlaas.FicheDocument, error) {
	var (
		d        atlaas.FicheDocument
		arobases []*int
		lon, lat *float64
		debut    *time.Time
	)
	err := rows.Scan(&d.ID, &d.Titre, &d.SousTitre, &d.Synthese, &d.Actions, &d.Resultats, &d.Statut, &d.Source,
		&d.Collectivite, &d.CollectiviteNom, &d.Categorie, &d.Population, &d.Departement, &d.Region,
		&d.Services, &d.Enjeux, &d.Annees, &arobases, &d.Mentions,
		&lon, &lat, &d.UpdatedAt, &debut)
	if err != nil {
		return d, err
	}
	for i, a := range arobases {
		if a == nil || i >= len(d.Annees) {
			continue
		}
		if d.Arobases == nil {
			d.Arobases = make(map[int]int, len(arobases))
		}
		d.Arobases[d.Annees[i]] = *a
	}
	if lon != nil && lat != nil {
		d.Point = &orb.Point{*lon, *lat}
	}
	if debut != nil {
		d.DateDebut = *debut
	}
	return d, nil
}

// FicheIDsOfCollectivite returns the ids of the live fiches of a collectivité, ascending: those
// whose documents change when the collectivité does (its name, @ levels, mentions). An unknown
// code has no fiche, which is not an error.
func (db *DB) FicheIDsOfCollectivite(ctx context.Context, code string) ([]int64, error) {
	rows, err := db.pool.Query(ctx, `SELECT id FROM fiches
		WHERE collectivite = $1 AND deleted_at IS NULL ORDER BY id`, code)
	if err != nil {
		return nil, fmt.Errorf("fiches of collectivité %s: %w", code, err)
	}
	ids, err := pgx.CollectRows(rows, pgx.RowTo[int64])
	if err != nil {
		return nil, fmt.Errorf("fiches of collectivité %s: %w", code, err)
	}
	return ids, nil
}

// OutboxAfter returns at most limit outbox rows whose id is over after, by ascending id, each
// saying whether it is settled (see atlaas.OutboxEntry).
func (db *DB) OutboxAfter(ctx context.Context, after int64, limit int) ([]atlaas.OutboxEntry, error) {
	rows, err := db.pool.Query(ctx, `SELECT id, entity, entity_id, op, created_at < now() - $3::interval
		FROM outbox WHERE id > $1 ORDER BY id LIMIT $2`, after, limit, outboxSettle)
	if err != nil {
		return nil, fmt.Errorf("read the outbox after %d: %w", after, err)
	}
	entries, err := pgx.CollectRows(rows, func(row pgx.CollectableRow) (atlaas.OutboxEntry, error) {
		var e atlaas.OutboxEntry
		err := row.Scan(&e.ID, &e.Entity, &e.EntityID, &e.Op, &e.Settled)
		return e, err
	})
	if err != nil {
		return nil, fmt.Errorf("read the outbox after %d: %w", after, err)
	}
	return entries, nil
}

// Reconnection delays of ListenOutbox, and how often it checks an idle connection.
const (
	listenBackoffMin = 100 * time.Millisecond
	listenBackoffMax = 5 * time.Second
	listenPingEvery  = 30 * time.Second
	listenPingWait   = 5 * time.Second
)

// ListenOutbox signals on notify each time the outbox receives rows, until ctx is done; it then
// returns nil. Signals are sent without blocking, so give notify a buffer of 1: signals that
// arrive while one is pending merge into it, and the follower reads the outbox from its position
// anyway.
//
// It holds its own connection, outside the pool. When the connection fails it logs it and
// reconnects, waiting 100 ms, then twice as long each time up to 5 s. After every connection,
// the first included, it signals once, so that the follower catches up on what it missed. An idle
// connection is pinged every 30 s, so a silently dropped one is noticed.
func (db *DB) ListenOutbox(ctx context.Context, notify chan<- struct{}) error {
	cfg := db.pool.Config().ConnConfig // a copy
	cfg.RuntimeParams["application_name"] += " outbox listener"
	backoff := listenBackoffMin
	for {
		connected, err := listenOutbox(ctx, cfg, notify)
		if ctx.Err() != nil {
			return nil
		}
		if connected {
			backoff = listenBackoffMin
		}
		db.logger.Warn("outbox listener: connection lost, reconnecting", "err", err, "retry_in", backoff)
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, listenBackoffMax)
	}
}

// listenOutbox runs one connection of ListenOutbox until it fails or ctx is done; connected says
// whether it got as far as listening.
func listenOutbox(ctx context.Context, cfg *pgx.ConnConfig, notify chan<- struct{}) (connected bool, err error) {
	conn, err := pgx.ConnectConfig(ctx, cfg)
	if err != nil {
		return false, fmt.Errorf("connect: %w", err)
	}
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		conn.Close(closeCtx) //nolint:errcheck // the connection is done with either way
	}()
	if _, err := conn.Exec(ctx, "LISTEN atlaas_outbox"); err != nil {
		return false, fmt.Errorf("listen: %w", err)
	}
	signal(notify)
	for {
		wctx, cancel := context.WithTimeout(ctx, listenPingEvery)
		_, err := conn.WaitForNotification(wctx)
		cancel()
		switch {
		case err == nil:
			signal(notify)
		case ctx.Err() != nil:
			return true, ctx.Err()
		case errors.Is(err, context.DeadlineExceeded) && !conn.IsClosed():
			// Nothing for a while: make sure the server is still there.
			pctx, cancel := context.WithTimeout(ctx, listenPingWait)
			err := conn.Ping(pctx)
			cancel()
			if err != nil {
				return true, fmt.Errorf("ping: %w", err)
			}
		default:
			return true, fmt.Errorf("wait for a notification: %w", err)
		}
	}
}

// signal sends on c without blocking.
func signal(c chan<- struct{}) {
	select {
	case c <- struct{}{}:
	default:
	}
}

// Fiche returns the whole live fiche id, with its collectivité, services and éditions, in one
// query. A missing or deleted fiche is ENOTFOUND.
func (db *DB) Fiche(ctx context.Context, id int64) (atlaas.FicheDetail, error) {
	var (
		f          atlaas.FicheDetail
		c          = &f.Collectivite
		debut, fin *time.Time
		lon, lat   *float64
		precision  string
	)
	err := db.pool.QueryRow(ctx, `SELECT f.id, f.titre, f.sous_titre, f.synthese, f.actions, f.resultats,
		       f.recommandations, f.outils, f.statut, f.date_debut, f.date_fin,
		       f.public_vise, f.partenaires, f.prestataires, f.liens,
		       ST_X(f.geom), ST_Y(f.geom), f.geom_precision, f.source, f.created_at, f.updated_at, f.version,
		       c.code, c.nom, c.kind, c.categorie, c.population,
		       coalesce(c.departement, ''), coalesce(d.nom, ''), coalesce(c.region, ''), coalesce(r.nom, ''),
		       coalesce(s.services, '[]'),
		       ARRAY(SELECT fe.annee::int FROM fiche_editions fe WHERE fe.fiche = f.id ORDER BY fe.annee)
		FROM fiches f
		JOIN collectivites c ON c.code = f.collectivite
		LEFT JOIN departements d ON d.code = c.departement
		LEFT JOIN regions r ON r.code = c.region
		CROSS JOIN LATERAL (
		    SELECT jsonb_agg(jsonb_build_object('code', sv.code, 'nom', sv.nom, 'enjeu', e.code, 'enjeu_nom', e.nom)
		                     ORDER BY e.ordre, sv.ordre, sv.code) AS services
		    FROM fiche_services fs
		    JOIN services sv ON sv.code = fs.service
		    JOIN enjeux e ON e.code = sv.enjeu
		    WHERE fs.fiche = f.id) s
		WHERE f.id = $1 AND f.deleted_at IS NULL`, id).Scan(
		&f.ID, &f.Titre, &f.SousTitre, &f.Synthese, &f.Actions, &f.Resultats,
		&f.Recommandations, &f.Outils, &f.Statut, &debut, &fin,
		&f.PublicVise, &f.Partenaires, &f.Prestataires, &f.Liens,
		&lon, &lat, &precision, &f.Source, &f.CreatedAt, &f.UpdatedAt, &f.Version,
		&c.Code, &c.Nom, &c.Kind, &c.Categorie, &c.Population,
		&c.Departement, &c.DepartementNom, &c.Region, &c.RegionNom,
		&f.Services, &f.Annees)
	if errors.Is(err, pgx.ErrNoRows) {
		return f, atlaas.Errorf(atlaas.ENOTFOUND, "La fiche %d n'existe pas.", id)
	}
	if err != nil {
		return f, fmt.Errorf("read fiche %d: %w", id, err)
	}
	if debut != nil {
		f.DateDebut = debut.Format(time.DateOnly)
	}
	if fin != nil {
		f.DateFin = fin.Format(time.DateOnly)
	}
	if lon != nil && lat != nil {
		f.Point = &atlaas.FichePoint{Lon: *lon, Lat: *lat, Precision: precision}
	}
	f.Demonstration = f.Source == atlaas.SourceDemo
	return f, nil
}

// Labels of the facet values that are not in the référentiel tables.
var (
	categorieLabels = map[string]string{
		atlaas.CategorieVillage:    "Village",
		atlaas.CategorieVille:      "Ville",
		atlaas.CategorieTerritoire: "Intercommunalité",
	}
	statutLabels = map[string]string{
		atlaas.StatutProjet:    "En projet",
		atlaas.StatutEnCours:   "En cours",
		atlaas.StatutRealise:   "Réalisé",
		atlaas.StatutAbandonne: "Abandonné",
	}
)

// Labels returns the French label of every value of the facets that have one, by facet
// (atlaas.Facet*) then value: enjeux, services, régions, départements, mentions and éditions
// ("2022 (23e édition)") from the référentiel, and the fixed categorie, statut, population and
// arobases labels. Collectivités are not included: there are 36,000 of them, and a search
// document carries its collectivité's name.
func (db *DB) Labels(ctx context.Context) (map[string]map[string]string, error) {
	rows, err := db.pool.Query(ctx, `SELECT $1::text, code, nom FROM enjeux
		UNION ALL SELECT $2, code, nom FROM services
		UNION ALL SELECT $3, code, nom FROM regions
		UNION ALL SELECT $4, code, nom FROM departements
		UNION ALL SELECT $5, code, nom FROM mentions
		UNION ALL SELECT $6, annee::text,
		       annee || ' (' || numero || CASE numero WHEN 1 THEN 're' ELSE 'e' END || ' édition)'
		FROM editions`,
		atlaas.FacetEnjeu, atlaas.FacetService, atlaas.FacetRegion, atlaas.FacetDepartement,
		atlaas.FacetMention, atlaas.FacetAnnee)
	if err != nil {
		return nil, fmt.Errorf("read the facet labels: %w", err)
	}
	labels := map[string]map[string]string{
		atlaas.FacetEnjeu: {}, atlaas.FacetService: {}, atlaas.FacetRegion: {}, atlaas.FacetDepartement: {},
		atlaas.FacetMention: {}, atlaas.FacetAnnee: {},
	}
	var facet, value, label string
	_, err = pgx.ForEachRow(rows, []any{&facet, &value, &label}, func() error {
		labels[facet][value] = label
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("read the facet labels: %w", err)
	}
	labels[atlaas.FacetCategorie] = maps.Clone(categorieLabels)
	labels[atlaas.FacetStatut] = maps.Clone(statutLabels)
	population := make(map[string]string, len(atlaas.PopulationBands))
	for _, b := range atlaas.PopulationBands {
		population[b.Code] = b.Label
	}
	labels[atlaas.FacetPopulation] = population
	arobases := make(map[string]string, 5)
	for n := 1; n <= 5; n++ {
		arobases[strconv.Itoa(n)] = strconv.Itoa(n) + " @"
	}
	labels[atlaas.FacetArobases] = arobases
	return labels, nil
}
