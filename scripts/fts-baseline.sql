-- PostgreSQL full-text search baseline for the search benchmarks (internal/search/bench_test.go).
--
-- Run it in a BENCHMARK database only (it adds an index to fiches and creates bench_* objects):
--   psql "$ATLAAS_BENCH_DATABASE_URL" -f scripts/fts-baseline.sql
-- The Go benchmark runs it itself when bench_facets is missing or out of step with fiches.
-- Idempotent: a second run rebuilds everything from the current fiches.
--
-- What it builds:
--   * bench_fr: the `french` text search configuration with `unaccent` before the French stemmer,
--     so that `democratie` finds `démocratie` (accents folded on both sides, like the Bleve index).
--   * bench_fiche_tsv(...): the weighted tsvector of a fiche's titre (A), sous-titre (B),
--     synthèse (C), actions and résultats (D): the Bleve index's text fields but the
--     collectivité's name, with the title weighted most.
--   * bench_fiches_fts_idx: a GIN index on that expression over live fiches.
--   * bench_facets: the facets of every live fiche, denormalised as the Bleve document is
--     (scalars and text[]), so that facet filters and GROUP BY counts need no join per facet,
--     and the same tsvector stored in a column (tsv) with its own GIN index: the second variant
--     of the baseline. With the expression index alone, PostgreSQL recomputes to_tsvector for
--     every matching row (recheck and ts_rank_cd); a stored column reads it instead.
\set ON_ERROR_STOP on

SET maintenance_work_mem = '512MB';
SET max_parallel_maintenance_workers = 0;

CREATE EXTENSION IF NOT EXISTS unaccent;

DO $$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_ts_config WHERE cfgname = 'bench_fr') THEN
    CREATE TEXT SEARCH CONFIGURATION bench_fr (COPY = french);
    ALTER TEXT SEARCH CONFIGURATION bench_fr
      ALTER MAPPING FOR hword, hword_part, word WITH unaccent, french_stem;
  END IF;
END
$$;

CREATE OR REPLACE FUNCTION bench_fiche_tsv(titre text, sous_titre text, synthese text, actions text, resultats text)
RETURNS tsvector LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
  SELECT setweight(to_tsvector('bench_fr'::regconfig, titre), 'A')
      || setweight(to_tsvector('bench_fr'::regconfig, sous_titre), 'B')
      || setweight(to_tsvector('bench_fr'::regconfig, synthese), 'C')
      || setweight(to_tsvector('bench_fr'::regconfig, actions || ' ' || resultats), 'D')
$$;

DROP INDEX IF EXISTS bench_fiches_fts_idx;
CREATE INDEX bench_fiches_fts_idx ON fiches
  USING gin (bench_fiche_tsv(titre, sous_titre, synthese, actions, resultats))
  WHERE deleted_at IS NULL;

DROP TABLE IF EXISTS bench_facets;
CREATE TABLE bench_facets AS
SELECT f.id,
       bench_fiche_tsv(f.titre, f.sous_titre, f.synthese, f.actions, f.resultats) AS tsv,
       c.code AS collectivite,
       c.categorie,
       coalesce(c.departement, '') AS departement,
       coalesce(c.region, '') AS region,
       CASE WHEN coalesce(c.population, 0) >= 100000 THEN '100000+'
            WHEN c.population >= 50000 THEN '50000-99999'
            WHEN c.population >= 10000 THEN '10000-49999'
            WHEN c.population >= 3500 THEN '3500-9999'
            WHEN c.population >= 1000 THEN '1000-3499'
            ELSE '0-999' END AS population,
       f.statut,
       coalesce(s.enjeux, '{}') AS enjeux,
       coalesce(s.services, '{}') AS services,
       coalesce(e.annees, '{}') AS annees,
       coalesce(e.arobases, '{}') AS arobases,
       coalesce(e.arobases_annee, '{}') AS arobases_annee,
       coalesce(m.mentions, '{}') AS mentions
FROM fiches f
JOIN collectivites c ON c.code = f.collectivite
LEFT JOIN (
    SELECT fs.fiche, array_agg(fs.service ORDER BY fs.service) AS services,
           array_agg(DISTINCT sv.enjeu ORDER BY sv.enjeu) AS enjeux
    FROM fiche_services fs
    JOIN services sv ON sv.code = fs.service
    GROUP BY fs.fiche) s ON s.fiche = f.id
LEFT JOIN (
    SELECT fe.fiche, array_agg(fe.annee::text ORDER BY fe.annee) AS annees,
           array_agg(DISTINCT p.arobases::text) FILTER (WHERE p.arobases IS NOT NULL) AS arobases,
           array_agg(fe.annee || ':' || p.arobases ORDER BY fe.annee) FILTER (WHERE p.arobases IS NOT NULL) AS arobases_annee
    FROM fiche_editions fe
    JOIN fiches fc ON fc.id = fe.fiche
    LEFT JOIN participations p ON p.collectivite = fc.collectivite AND p.annee = fe.annee
    GROUP BY fe.fiche) e ON e.fiche = f.id
LEFT JOIN (
    SELECT fe.fiche, array_agg(DISTINCT pm.mention ORDER BY pm.mention) AS mentions
    FROM palmares pm
    JOIN fiches fc ON fc.collectivite = pm.collectivite
    JOIN fiche_editions fe ON fe.fiche = fc.id AND fe.annee = pm.annee
    GROUP BY fe.fiche) m ON m.fiche = f.id
WHERE f.deleted_at IS NULL;

ALTER TABLE bench_facets ADD PRIMARY KEY (id);
CREATE INDEX bench_facets_tsv_idx ON bench_facets USING gin (tsv);
ANALYZE fiches;
ANALYZE bench_facets;
