-- What the search index (and every other follower) needs to stay in step with PostGIS:
-- a data version bumped by bulk loads, and an outbox row for every change, written by triggers
-- in the same transaction as the change, so that no write path can forget it.

-- +goose Up
CREATE TABLE data_version (
    singleton  boolean PRIMARY KEY DEFAULT true CHECK (singleton),
    version    bigint NOT NULL CHECK (version >= 1),
    changed_at timestamptz NOT NULL DEFAULT now()
);
INSERT INTO data_version (version) VALUES (1);

-- The transaction that inserted each outbox row, so followers can tell settled rows.
ALTER TABLE outbox ADD COLUMN tx xid8 NOT NULL DEFAULT pg_current_xact_id();

-- A bulk load (demo, import of a whole dataset) sets atlaas.bulk_load = 'on' for its transaction
-- and bumps the data version instead: followers then rebuild rather than replay a million rows.
-- +goose StatementBegin
CREATE FUNCTION atlaas_bulk_load() RETURNS boolean
LANGUAGE sql STABLE AS $$
  SELECT coalesce(current_setting('atlaas.bulk_load', true), '') = 'on'
$$;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE FUNCTION atlaas_outbox_fiche() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  fid bigint;
BEGIN
  IF atlaas_bulk_load() THEN
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME = 'fiches' THEN
    fid := CASE WHEN TG_OP = 'DELETE' THEN OLD.id ELSE NEW.id END;
  ELSE
    fid := CASE WHEN TG_OP = 'DELETE' THEN OLD.fiche ELSE NEW.fiche END;
  END IF;
  INSERT INTO outbox (entity, entity_id, op)
  VALUES ('fiche', fid::text, CASE WHEN TG_OP = 'DELETE' AND TG_TABLE_NAME = 'fiches' THEN 'delete' ELSE 'upsert' END);
  RETURN NULL;
END
$$;
-- +goose StatementEnd

-- Changes to what a fiche's index document shows of its collectivité (name, category, @ levels,
-- mentions) concern all its fiches.
-- +goose StatementBegin
CREATE FUNCTION atlaas_outbox_collectivite() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
  code text;
BEGIN
  IF atlaas_bulk_load() THEN
    RETURN NULL;
  END IF;
  IF TG_TABLE_NAME = 'collectivites' THEN
    code := CASE WHEN TG_OP = 'DELETE' THEN OLD.code ELSE NEW.code END;
  ELSE
    code := CASE WHEN TG_OP = 'DELETE' THEN OLD.collectivite ELSE NEW.collectivite END;
  END IF;
  IF code IS NOT NULL THEN
    INSERT INTO outbox (entity, entity_id, op) VALUES ('collectivite', code, 'upsert');
  END IF;
  RETURN NULL;
END
$$;
-- +goose StatementEnd

CREATE TRIGGER fiches_outbox AFTER INSERT OR UPDATE OR DELETE ON fiches
    FOR EACH ROW EXECUTE FUNCTION atlaas_outbox_fiche();
CREATE TRIGGER fiche_services_outbox AFTER INSERT OR UPDATE OR DELETE ON fiche_services
    FOR EACH ROW EXECUTE FUNCTION atlaas_outbox_fiche();
CREATE TRIGGER fiche_editions_outbox AFTER INSERT OR UPDATE OR DELETE ON fiche_editions
    FOR EACH ROW EXECUTE FUNCTION atlaas_outbox_fiche();
CREATE TRIGGER participations_outbox AFTER INSERT OR UPDATE OR DELETE ON participations
    FOR EACH ROW EXECUTE FUNCTION atlaas_outbox_collectivite();
CREATE TRIGGER palmares_outbox AFTER INSERT OR UPDATE OR DELETE ON palmares
    FOR EACH ROW EXECUTE FUNCTION atlaas_outbox_collectivite();
CREATE TRIGGER collectivites_outbox AFTER UPDATE OF nom, categorie, population, departement, region ON collectivites
    FOR EACH ROW EXECUTE FUNCTION atlaas_outbox_collectivite();

-- Bumps the data version; bulk loads call it in their transaction.
-- +goose StatementBegin
CREATE FUNCTION atlaas_bump_data_version() RETURNS bigint
LANGUAGE sql AS $$
  UPDATE data_version SET version = version + 1, changed_at = now() RETURNING version
$$;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER collectivites_outbox ON collectivites;
DROP TRIGGER palmares_outbox ON palmares;
DROP TRIGGER participations_outbox ON participations;
DROP TRIGGER fiche_editions_outbox ON fiche_editions;
DROP TRIGGER fiche_services_outbox ON fiche_services;
DROP TRIGGER fiches_outbox ON fiches;
DROP FUNCTION atlaas_bump_data_version();
DROP FUNCTION atlaas_outbox_collectivite();
DROP FUNCTION atlaas_outbox_fiche();
DROP FUNCTION atlaas_bulk_load();
ALTER TABLE outbox DROP COLUMN tx;
DROP TABLE data_version;
