-- The first schema of Atlaas: geography, the label's référentiel and éditions, participations,
-- fiches, the outbox the search index follows, API tokens and the audit log.
-- Every rule that must always hold is a constraint here, so no code path can break it.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS postgis;

-- A point in WGS 84 inside the valid lon/lat ranges (NULL is allowed where the column is nullable).
-- +goose StatementBegin
-- search_path is pinned so that CHECK constraints still resolve PostGIS during pg_restore.
CREATE FUNCTION atlaas_valid_point(g geometry) RETURNS boolean
LANGUAGE sql IMMUTABLE PARALLEL SAFE SET search_path = public AS $$
  SELECT g IS NULL OR (
    ST_SRID(g) = 4326
    AND NOT ST_IsEmpty(g)
    AND ST_X(g) BETWEEN -180 AND 180
    AND ST_Y(g) BETWEEN -90 AND 90)
$$;
-- +goose StatementEnd

CREATE TABLE regions (
    code text PRIMARY KEY CHECK (code ~ '^[0-9]{2,3}$'),
    nom  text NOT NULL CHECK (btrim(nom) <> ''),
    geom geometry(MultiPolygon, 4326)
);
CREATE INDEX regions_geom_idx ON regions USING gist (geom);

CREATE TABLE departements (
    code   text PRIMARY KEY CHECK (code ~ '^([0-9]{2}|2A|2B|9[78][0-9])$'),
    nom    text NOT NULL CHECK (btrim(nom) <> ''),
    region text NOT NULL REFERENCES regions (code),
    geom   geometry(MultiPolygon, 4326),
    UNIQUE (code, region)
);
CREATE INDEX departements_region_idx ON departements (region);
CREATE INDEX departements_geom_idx ON departements USING gist (geom);

-- A collectivité is a commune (INSEE code) or an intercommunalité (EPCI, SIREN).
-- Label category: village or ville for a commune (by population), territoire for an EPCI.
CREATE TABLE collectivites (
    code           text PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('commune', 'epci')),
    nom            text NOT NULL CHECK (btrim(nom) <> ''),
    categorie      text NOT NULL CHECK (categorie IN ('village', 'ville', 'territoire')),
    population     integer CHECK (population >= 0),
    departement    text REFERENCES departements (code),
    region         text REFERENCES regions (code),
    epci           text REFERENCES collectivites (code),
    siren          text CHECK (siren ~ '^[0-9]{9}$'),
    codes_postaux  text[] NOT NULL DEFAULT '{}',
    -- Centre point: GeoNames for a commune, population-weighted centre of members for an EPCI,
    -- none when no source gives one (never invented).
    geom           geometry(Point, 4326) CHECK (atlaas_valid_point(geom)),
    geom_precision text NOT NULL DEFAULT 'none'
                   CHECK (geom_precision IN ('none', 'geonames', 'derived', 'import')),
    -- Boundary, where a source gives one (none of the shipped sources does for communes).
    contour        geometry(MultiPolygon, 4326),
    CONSTRAINT collectivites_code_format CHECK (
        (kind = 'commune' AND code ~ '^[0-9][0-9AB][0-9]{3}$')
        OR (kind = 'epci' AND code ~ '^[0-9]{9}$')),
    CONSTRAINT collectivites_categorie_kind CHECK ((kind = 'epci') = (categorie = 'territoire')),
    CONSTRAINT collectivites_geom_precision CHECK ((geom IS NULL) = (geom_precision = 'none')),
    CONSTRAINT collectivites_epci_of_commune CHECK (epci IS NULL OR kind = 'commune'),
    CONSTRAINT collectivites_epci_siren CHECK (kind <> 'epci' OR siren = code),
    -- The région is the département's.
    CONSTRAINT collectivites_departement_region FOREIGN KEY (departement, region)
        REFERENCES departements (code, region)
);
CREATE INDEX collectivites_kind_idx ON collectivites (kind);
CREATE INDEX collectivites_categorie_idx ON collectivites (categorie);
CREATE INDEX collectivites_population_idx ON collectivites (population);
CREATE INDEX collectivites_departement_idx ON collectivites (departement);
CREATE INDEX collectivites_region_idx ON collectivites (region);
CREATE INDEX collectivites_epci_idx ON collectivites (epci);
CREATE INDEX collectivites_geom_idx ON collectivites USING gist (geom);
CREATE INDEX collectivites_contour_idx ON collectivites USING gist (contour);

-- One édition of the label per year; 2017 was the 18th.
CREATE TABLE editions (
    annee          smallint PRIMARY KEY CHECK (annee BETWEEN 2000 AND 2100),
    numero         smallint NOT NULL UNIQUE CHECK (numero = annee - 1999),
    ceremonie_date date CHECK (ceremonie_date BETWEEN make_date(annee - 1, 9, 1) AND make_date(annee, 12, 31)),
    ceremonie_mois text CHECK (ceremonie_mois ~ '^[0-9]{4}-[0-9]{2}$'),
    lieu           text CHECK (lieu IS NULL OR btrim(lieu) <> ''),
    -- Published key figures ("chiffres clés") and where they were published.
    chiffres       jsonb NOT NULL DEFAULT '{}' CHECK (jsonb_typeof(chiffres) = 'object'),
    sources        jsonb NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(sources) = 'array')
);

-- The référentiel: categories > enjeux > services numériques.
CREATE TABLE categories (
    code  text PRIMARY KEY CHECK (code ~ '^[a-z0-9-]+$'),
    nom   text NOT NULL CHECK (btrim(nom) <> ''),
    ordre smallint NOT NULL DEFAULT 0
);

CREATE TABLE enjeux (
    code        text PRIMARY KEY CHECK (code ~ '^[a-z0-9-]+$'),
    nom         text NOT NULL CHECK (btrim(nom) <> ''),
    categorie   text NOT NULL REFERENCES categories (code),
    description text NOT NULL DEFAULT '',
    -- True when the enjeu is our assumption rather than published by the label.
    hypothese   boolean NOT NULL DEFAULT false,
    ordre       smallint NOT NULL DEFAULT 0
);
CREATE INDEX enjeux_categorie_idx ON enjeux (categorie);

CREATE TABLE services (
    code        text PRIMARY KEY CHECK (code ~ '^[A-Za-z0-9-]+$'),
    nom         text NOT NULL CHECK (btrim(nom) <> ''),
    description text NOT NULL DEFAULT '',
    enjeu       text NOT NULL REFERENCES enjeux (code),
    ordre       smallint NOT NULL DEFAULT 0
);
CREATE INDEX services_enjeu_idx ON services (enjeu);

-- The éditions in which each service exists (the référentiel changes a little every year).
CREATE TABLE service_editions (
    service text NOT NULL REFERENCES services (code) ON DELETE CASCADE,
    annee   smallint NOT NULL REFERENCES editions (annee),
    PRIMARY KEY (service, annee)
);
CREATE INDEX service_editions_annee_idx ON service_editions (annee);

-- Where a row comes from: published facts, generated demonstration data, an import, the write API.
-- +goose StatementBegin
CREATE DOMAIN atlaas_source AS text CHECK (VALUE IN ('publie', 'demo', 'import', 'api'));
-- +goose StatementEnd

-- A collectivité in an édition, with its @ level and distinctions.
CREATE TABLE participations (
    collectivite          text NOT NULL REFERENCES collectivites (code),
    annee                 smallint NOT NULL REFERENCES editions (annee),
    arobases              smallint NOT NULL CHECK (arobases BETWEEN 1 AND 5),
    arobase_verte         boolean NOT NULL DEFAULT false,
    -- Awarded "Territoire d'excellence numérique" at this édition (valid three éditions).
    territoire_excellence boolean NOT NULL DEFAULT false,
    -- First labelled at this édition.
    nouveau               boolean NOT NULL DEFAULT false,
    source                atlaas_source NOT NULL,
    PRIMARY KEY (collectivite, annee),
    CONSTRAINT participations_excellence_five CHECK (NOT territoire_excellence OR arobases = 5)
);
CREATE INDEX participations_annee_arobases_idx ON participations (annee, arobases);

-- Thematic mentions and distinctions the jury awards.
CREATE TABLE mentions (
    code text PRIMARY KEY CHECK (code ~ '^[a-z0-9-]+$'),
    nom  text NOT NULL CHECK (btrim(nom) <> ''),
    kind text NOT NULL CHECK (kind IN ('mention', 'distinction'))
);

-- The palmarès: who received which mention at which édition. A published winner whose code could
-- not be established keeps its published name and no collectivité.
CREATE TABLE palmares (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    annee        smallint NOT NULL REFERENCES editions (annee),
    mention      text NOT NULL REFERENCES mentions (code),
    collectivite text REFERENCES collectivites (code),
    nom_publie   text NOT NULL CHECK (btrim(nom_publie) <> ''),
    source       atlaas_source NOT NULL
);
-- One award of a mention per winner and édition, a winner known by name only included.
CREATE UNIQUE INDEX palmares_award_idx ON palmares (annee, mention, coalesce(collectivite, nom_publie));
CREATE INDEX palmares_collectivite_idx ON palmares (collectivite);
CREATE INDEX palmares_mention_idx ON palmares (mention, annee);

CREATE TABLE fiches (
    id              bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
    collectivite    text NOT NULL REFERENCES collectivites (code),
    titre           text NOT NULL CHECK (btrim(titre) <> ''),
    sous_titre      text NOT NULL DEFAULT '',
    synthese        text NOT NULL DEFAULT '',
    actions         text NOT NULL DEFAULT '',
    resultats       text NOT NULL DEFAULT '',
    recommandations text NOT NULL DEFAULT '',
    outils          text NOT NULL DEFAULT '',
    statut          text NOT NULL CHECK (statut IN ('projet', 'en_cours', 'realise', 'abandonne')),
    date_debut      date,
    date_fin        date,
    public_vise     text[] NOT NULL DEFAULT '{}',
    partenaires     text[] NOT NULL DEFAULT '{}',
    prestataires    text[] NOT NULL DEFAULT '{}',
    liens           text[] NOT NULL DEFAULT '{}',
    -- Where the initiative is: its collectivité's centre, a member commune's, or its own place.
    geom            geometry(Point, 4326) CHECK (atlaas_valid_point(geom)),
    geom_precision  text NOT NULL DEFAULT 'none'
                    CHECK (geom_precision IN ('none', 'collectivite', 'commune_membre', 'lieu')),
    source          atlaas_source NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    -- Optimistic locking: every update increments it and must name the version it read.
    version         integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    deleted_at      timestamptz,
    CONSTRAINT fiches_dates CHECK (date_fin IS NULL OR date_debut IS NULL OR date_fin >= date_debut),
    CONSTRAINT fiches_geom_precision CHECK ((geom IS NULL) = (geom_precision = 'none')),
    CONSTRAINT fiches_updated_after_created CHECK (updated_at >= created_at)
);
CREATE INDEX fiches_collectivite_idx ON fiches (collectivite);
CREATE INDEX fiches_statut_idx ON fiches (statut);
CREATE INDEX fiches_updated_at_idx ON fiches (updated_at);
CREATE INDEX fiches_source_idx ON fiches (source);
CREATE INDEX fiches_dates_idx ON fiches (date_debut, date_fin);
CREATE INDEX fiches_geom_idx ON fiches USING gist (geom) WHERE deleted_at IS NULL;

CREATE TABLE fiche_services (
    fiche   bigint NOT NULL REFERENCES fiches (id) ON DELETE CASCADE,
    service text NOT NULL REFERENCES services (code),
    PRIMARY KEY (fiche, service)
);
CREATE INDEX fiche_services_service_idx ON fiche_services (service);

-- The éditions in which a fiche was published or updated.
CREATE TABLE fiche_editions (
    fiche bigint NOT NULL REFERENCES fiches (id) ON DELETE CASCADE,
    annee smallint NOT NULL REFERENCES editions (annee),
    PRIMARY KEY (fiche, annee)
);
CREATE INDEX fiche_editions_annee_idx ON fiche_editions (annee);

-- Every change the search index (and any other follower) must see, in commit order of ids.
CREATE TABLE outbox (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    entity     text NOT NULL CHECK (entity IN ('fiche', 'collectivite', 'participation', 'referentiel')),
    entity_id  text NOT NULL CHECK (entity_id <> ''),
    op         text NOT NULL CHECK (op IN ('upsert', 'delete')),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX outbox_created_at_idx ON outbox (created_at);

-- One notification per statement that fills the outbox; listeners then read from their last id.
-- +goose StatementBegin
CREATE FUNCTION atlaas_outbox_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('atlaas_outbox', '');
  RETURN NULL;
END
$$;
-- +goose StatementEnd
CREATE TRIGGER outbox_notify AFTER INSERT ON outbox
    FOR EACH STATEMENT EXECUTE FUNCTION atlaas_outbox_notify();

-- API tokens: only a hash of the secret is stored.
CREATE TABLE api_tokens (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    hash         bytea NOT NULL UNIQUE CHECK (octet_length(hash) = 32),
    -- The first characters of the token, shown to tell tokens apart.
    prefix       text NOT NULL UNIQUE CHECK (prefix <> ''),
    nom          text NOT NULL CHECK (btrim(nom) <> ''),
    -- The collectivité whose fiches the token may write; NULL for an administrator token.
    collectivite text REFERENCES collectivites (code),
    admin        boolean NOT NULL DEFAULT false,
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz,
    revoked_at   timestamptz,
    last_used_at timestamptz,
    CONSTRAINT api_tokens_scope CHECK (admin OR collectivite IS NOT NULL),
    CONSTRAINT api_tokens_expiry CHECK (expires_at IS NULL OR expires_at > created_at)
);
CREATE INDEX api_tokens_collectivite_idx ON api_tokens (collectivite);

-- Who did what, written in the same transaction as the change.
CREATE TABLE audit_log (
    id           bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at           timestamptz NOT NULL DEFAULT now(),
    token_id     bigint REFERENCES api_tokens (id),
    actor        text NOT NULL CHECK (actor <> ''),
    action       text NOT NULL CHECK (action <> ''),
    entity       text NOT NULL CHECK (entity <> ''),
    entity_id    text NOT NULL,
    details      jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX audit_log_entity_idx ON audit_log (entity, entity_id);
CREATE INDEX audit_log_at_idx ON audit_log (at);

-- +goose Down
DROP TABLE audit_log, api_tokens, outbox, fiche_editions, fiche_services, fiches, palmares, mentions,
    participations, service_editions, services, enjeux, categories, editions, collectivites,
    departements, regions;
DROP FUNCTION atlaas_outbox_notify();
DROP DOMAIN atlaas_source;
DROP FUNCTION atlaas_valid_point(geometry);
