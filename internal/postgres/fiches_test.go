package postgres_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/paulmach/orb"

	"atlaas/internal/atlaas"
	"atlaas/internal/postgres"
	"atlaas/internal/postgres/pgtest"
)

// fichesFixture is a small atlas: Bron (a commune with @ levels in 2021 and 2022, a mention in
// 2021 and 2022 and another in 2023) and the Métropole de Lyon (no participation), three live
// fiches and a deleted one.
//
//	fiche 1  Bron      éditions 2021, 2022  3 services over 2 enjeux, a point, a start date
//	fiche 2  Bron      édition 2023         1 service, no point, no date
//	fiche 3  Métropole édition 2022         1 service
//	fiche 4  Bron      deleted
const fichesFixture = `
INSERT INTO regions (code, nom) VALUES ('84', 'Auvergne-Rhône-Alpes');
INSERT INTO departements (code, nom, region) VALUES ('69', 'Rhône', '84');
INSERT INTO collectivites (code, kind, nom, categorie, population, departement, region, geom, geom_precision)
VALUES ('69029', 'commune', 'Bron', 'ville', 41000, '69', '84', ST_SetSRID(ST_MakePoint(4.91, 45.74), 4326), 'geonames');
INSERT INTO collectivites (code, kind, nom, categorie, population, departement, region, siren)
VALUES ('200046977', 'epci', 'Métropole de Lyon', 'territoire', NULL, '69', '84', '200046977');
INSERT INTO editions (annee, numero) VALUES (2000, 1), (2021, 22), (2022, 23), (2023, 24);
INSERT INTO categories (code, nom) VALUES ('citoyennete', 'Citoyenneté');
INSERT INTO enjeux (code, nom, categorie, ordre) VALUES
  ('democratie', 'Démocratie locale', 'citoyennete', 1),
  ('education', 'Éducation', 'citoyennete', 0);
INSERT INTO services (code, nom, enjeu, ordre) VALUES
  ('S010', 'Budget participatif', 'democratie', 2),
  ('S002', 'Consultation en ligne', 'democratie', 1),
  ('S007', 'École numérique', 'education', 0);
INSERT INTO mentions (code, nom, kind) VALUES
  ('coup-de-coeur', 'Coup de cœur du jury', 'mention'),
  ('innovation', 'Innovation', 'distinction');
INSERT INTO participations (collectivite, annee, arobases, source) VALUES
  ('69029', 2021, 3, 'publie'), ('69029', 2022, 4, 'demo');
INSERT INTO palmares (annee, mention, collectivite, nom_publie, source) VALUES
  (2021, 'coup-de-coeur', '69029', 'Bron', 'publie'),
  (2022, 'coup-de-coeur', '69029', 'Bron', 'publie'),
  (2023, 'innovation', '69029', 'Bron', 'publie'),
  (2022, 'innovation', NULL, 'Ville inconnue', 'publie');
INSERT INTO fiches (id, collectivite, titre, sous_titre, synthese, actions, resultats, recommandations, outils,
                    statut, date_debut, date_fin, public_vise, partenaires, prestataires, liens,
                    geom, geom_precision, source, created_at, updated_at, version) VALUES
  (1, '69029', 'Budget participatif', 'Les habitants décident', 'Une synthèse', 'Des actions', 'Des résultats',
   'Des recommandations', 'Decidim', 'realise', '2021-03-01', '2022-06-30', '{jeunes,seniors}', '{Association A}',
   '{Prestataire P}', '{https://example.org}', ST_SetSRID(ST_MakePoint(4.92, 45.73), 4326), 'lieu', 'demo',
   '2021-01-02 03:04:05+00', '2024-05-06 07:08:09+00', 3);
INSERT INTO fiches (id, collectivite, titre, statut, source, created_at, updated_at) VALUES
  (2, '69029', 'Tiers-lieu numérique', 'projet', 'import', '2023-01-01 00:00:00+00', '2024-01-01 00:00:00+00'),
  (3, '200046977', 'Données ouvertes', 'en_cours', 'api', '2023-01-01 00:00:00+00', '2024-02-01 00:00:00+00'),
  (4, '69029', 'Fiche supprimée', 'abandonne', 'demo', '2023-01-01 00:00:00+00', '2024-03-01 00:00:00+00');
UPDATE fiches SET deleted_at = now() WHERE id = 4;
INSERT INTO fiche_services (fiche, service) VALUES
  (1, 'S010'), (1, 'S002'), (1, 'S007'), (2, 'S007'), (3, 'S002'), (4, 'S010');
INSERT INTO fiche_editions (fiche, annee) VALUES
  (1, 2021), (1, 2022), (2, 2023), (3, 2022), (4, 2022);
`

// openFiches returns a store on a new database holding fichesFixture, and the database's URL.
func openFiches(t *testing.T) (*postgres.DB, string) {
	t.Helper()
	u := pgtest.MustURL(t)
	pgtest.MustExec(t, u, fichesFixture)
	db, err := postgres.Open(context.Background(), u, postgres.Options{StatementTimeout: time.Minute}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, u
}

// wantDocuments are the documents of the live fiches of fichesFixture.
func wantDocuments() []atlaas.FicheDocument {
	return []atlaas.FicheDocument{{
		ID: 1, Titre: "Budget participatif", SousTitre: "Les habitants décident", Synthese: "Une synthèse",
		Actions: "Des actions", Resultats: "Des résultats", Statut: "realise", Source: "demo",
		Collectivite: "69029", CollectiviteNom: "Bron", Categorie: "ville", Population: 41000,
		Departement: "69", Region: "84",
		Services: []string{"S002", "S007", "S010"},
		Enjeux:   []string{"democratie", "education"},
		Annees:   []int{2021, 2022},
		Arobases: map[int]int{2021: 3, 2022: 4},
		// The 2023 innovation is not of this fiche's éditions.
		Mentions:  []string{"coup-de-coeur"},
		Point:     &orb.Point{4.92, 45.73},
		UpdatedAt: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		DateDebut: time.Date(2021, 3, 1, 0, 0, 0, 0, time.UTC),
	}, {
		ID: 2, Titre: "Tiers-lieu numérique", Statut: "projet", Source: "import",
		Collectivite: "69029", CollectiviteNom: "Bron", Categorie: "ville", Population: 41000,
		Departement: "69", Region: "84",
		Services: []string{"S007"}, Enjeux: []string{"education"}, Annees: []int{2023},
		// No participation in 2023; the innovation of 2023 is, the coups de cœur are not.
		Mentions:  []string{"innovation"},
		UpdatedAt: time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC),
	}, {
		ID: 3, Titre: "Données ouvertes", Statut: "en_cours", Source: "api",
		Collectivite: "200046977", CollectiviteNom: "Métropole de Lyon", Categorie: "territoire",
		Departement: "69", Region: "84",
		Services: []string{"S002"}, Enjeux: []string{"democratie"}, Annees: []int{2022},
		// A palmarès entry of 2022 without a collectivité is nobody's mention.
		Mentions:  []string{},
		UpdatedAt: time.Date(2024, 2, 1, 0, 0, 0, 0, time.UTC),
	}}
}

// checkDocuments compares documents field by field, so a failure names the field.
func checkDocuments(t *testing.T, got, want []atlaas.FicheDocument) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%d documents (ids %v), want %d (ids %v)", len(got), docIDs(got), len(want), docIDs(want))
	}
	for i := range want {
		g, w := reflect.ValueOf(got[i]), reflect.ValueOf(want[i])
		for f := range w.NumField() {
			name := w.Type().Field(f).Name
			gv, wv := g.Field(f).Interface(), w.Field(f).Interface()
			if gt, ok := gv.(time.Time); ok {
				if !gt.Equal(wv.(time.Time)) {
					t.Errorf("fiche %d: %s = %v, want %v", want[i].ID, name, gt, wv)
				}
				continue
			}
			if !reflect.DeepEqual(gv, wv) {
				t.Errorf("fiche %d: %s = %#v, want %#v", want[i].ID, name, gv, wv)
			}
		}
	}
}

func docIDs(docs []atlaas.FicheDocument) []int64 {
	ids := make([]int64, len(docs))
	for i, d := range docs {
		ids[i] = d.ID
	}
	return ids
}

func TestFicheDocuments(t *testing.T) {
	db, u := openFiches(t)
	ctx := context.Background()
	// The fixture's outbox rows are recent: an index built now replays all of them. Age the first
	// three: the position is then the third.
	pgtest.MustExec(t, u, "SELECT atlaas_bump_data_version()")
	pgtest.MustExec(t, u, `UPDATE outbox SET created_at = now() - interval '6 minutes'
		WHERE id IN (SELECT id FROM outbox ORDER BY id LIMIT 3)`)
	entries, err := db.OutboxAfter(ctx, 0, 3)
	if err != nil || len(entries) != 3 {
		t.Fatalf("OutboxAfter = %v, %v; want 3 entries", entries, err)
	}
	third := entries[2].ID

	var docs []atlaas.FicheDocument
	version, pos, err := db.FicheDocuments(ctx, func(d atlaas.FicheDocument) error {
		docs = append(docs, d)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	checkDocuments(t, docs, wantDocuments())
	if version != 2 {
		t.Errorf("version = %d, want 2", version)
	}
	if pos != third {
		t.Errorf("outbox position = %d, want %d (the last row over 5 minutes old)", pos, third)
	}
	if v, err := db.DataVersion(ctx); err != nil || v != 2 {
		t.Errorf("DataVersion = %d, %v; want 2", v, err)
	}

	t.Run("fn error stops the stream", func(t *testing.T) {
		stop := errors.New("stop")
		n := 0
		_, _, err := db.FicheDocuments(ctx, func(atlaas.FicheDocument) error {
			n++
			return stop
		})
		if !errors.Is(err, stop) || n != 1 {
			t.Fatalf("err = %v after %d documents, want stop after 1", err, n)
		}
		// The store still works.
		if _, err := db.DataVersion(ctx); err != nil {
			t.Fatal(err)
		}
	})
}

func TestFicheDocumentsByID(t *testing.T) {
	db, _ := openFiches(t)
	ctx := context.Background()
	all := wantDocuments()
	tests := []struct {
		name string
		ids  []int64
		want []atlaas.FicheDocument
	}{
		{"some, out of order", []int64{3, 1}, []atlaas.FicheDocument{all[0], all[2]}},
		{"missing and deleted ids are absent", []int64{2, 4, 999}, []atlaas.FicheDocument{all[1]}},
		{"only missing", []int64{999}, nil},
		{"none", nil, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := db.FicheDocumentsByID(ctx, tt.ids)
			if err != nil {
				t.Fatal(err)
			}
			if got == nil {
				t.Fatal("nil slice, want empty")
			}
			checkDocuments(t, got, tt.want)
		})
	}
}

func TestFicheIDsOfCollectivite(t *testing.T) {
	db, _ := openFiches(t)
	ctx := context.Background()
	for code, want := range map[string][]int64{"69029": {1, 2}, "200046977": {3}, "99999": {}} {
		got, err := db.FicheIDsOfCollectivite(ctx, code)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(got, want) || got == nil {
			t.Errorf("FicheIDsOfCollectivite(%s) = %#v, want %v", code, got, want)
		}
	}
}

func TestOutboxAfter(t *testing.T) {
	u := pgtest.MustURL(t)
	pgtest.MustExec(t, u, `INSERT INTO outbox (entity, entity_id, op, created_at) VALUES
		('fiche', '1', 'upsert', now() - interval '10 minutes'),
		('collectivite', '69029', 'upsert', now() - interval '6 minutes'),
		('fiche', '2', 'delete', now() - interval '4 minutes'),
		('fiche', '3', 'upsert', now()),
		('fiche', '1', 'upsert', now())`)
	db, err := postgres.Open(context.Background(), u, postgres.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ctx := context.Background()
	first, err := db.OutboxAfter(ctx, 0, 3)
	if err != nil {
		t.Fatal(err)
	}
	base := first[0].ID
	want := []atlaas.OutboxEntry{
		{ID: base, Entity: "fiche", EntityID: "1", Op: "upsert", Settled: true},
		{ID: base + 1, Entity: "collectivite", EntityID: "69029", Op: "upsert", Settled: true},
		{ID: base + 2, Entity: "fiche", EntityID: "2", Op: "delete", Settled: false},
		{ID: base + 3, Entity: "fiche", EntityID: "3", Op: "upsert", Settled: false},
		{ID: base + 4, Entity: "fiche", EntityID: "1", Op: "upsert", Settled: false},
	}
	if !reflect.DeepEqual(first, want[:3]) {
		t.Errorf("first page = %+v, want %+v", first, want[:3])
	}
	rest, err := db.OutboxAfter(ctx, first[2].ID, 10)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(rest, want[3:]) {
		t.Errorf("second page = %+v, want %+v", rest, want[3:])
	}
	end, err := db.OutboxAfter(ctx, want[4].ID, 10)
	if err != nil || len(end) != 0 {
		t.Errorf("after the last row = %+v, %v; want none", end, err)
	}
}

func TestListenOutbox(t *testing.T) {
	db, u := openFiches(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	notify := make(chan struct{}, 1)
	done := make(chan error, 1)
	go func() { done <- db.ListenOutbox(ctx, notify) }()

	wait := func(what string) {
		t.Helper()
		select {
		case <-notify:
		case err := <-done:
			t.Fatalf("ListenOutbox returned %v while waiting for %s", err, what)
		case <-time.After(5 * time.Second):
			t.Fatalf("no signal within 5 s for %s", what)
		}
	}
	// The first signal comes once the listener listens: from then on nothing is missed.
	wait("the first connection")
	pgtest.MustExec(t, u, `INSERT INTO fiches (id, collectivite, titre, statut, source) VALUES (10, '69029', 'Nouvelle', 'projet', 'api')`)
	wait("an inserted fiche")

	// A lost connection is reopened, and the listener signals so that the follower catches up.
	pgtest.MustExec(t, u, `SELECT pg_terminate_backend(pid) FROM pg_stat_activity
		WHERE datname = current_database() AND application_name LIKE '%outbox listener'`)
	wait("a reconnection")
	pgtest.MustExec(t, u, `UPDATE fiches SET titre = 'Renommée' WHERE id = 10`)
	wait("an updated fiche after reconnecting")

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("ListenOutbox = %v after cancel, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("ListenOutbox still running 5 s after cancel")
	}
}

func TestFiche(t *testing.T) {
	db, _ := openFiches(t)
	ctx := context.Background()
	got, err := db.Fiche(ctx, 1)
	if err != nil {
		t.Fatal(err)
	}
	pop := 41000
	want := atlaas.FicheDetail{
		ID: 1, Titre: "Budget participatif", SousTitre: "Les habitants décident", Synthese: "Une synthèse",
		Actions: "Des actions", Resultats: "Des résultats", Recommandations: "Des recommandations",
		Outils: "Decidim", Statut: "realise", DateDebut: "2021-03-01", DateFin: "2022-06-30",
		PublicVise: []string{"jeunes", "seniors"}, Partenaires: []string{"Association A"},
		Prestataires: []string{"Prestataire P"}, Liens: []string{"https://example.org"},
		Point:  &atlaas.FichePoint{Lon: 4.92, Lat: 45.73, Precision: atlaas.PrecisionLieu},
		Source: "demo", Demonstration: true,
		CreatedAt: time.Date(2021, 1, 2, 3, 4, 5, 0, time.UTC),
		UpdatedAt: time.Date(2024, 5, 6, 7, 8, 9, 0, time.UTC),
		Version:   3,
		Collectivite: atlaas.FicheCollectivite{Code: "69029", Nom: "Bron", Kind: "commune", Categorie: "ville",
			Population: &pop, Departement: "69", DepartementNom: "Rhône", Region: "84", RegionNom: "Auvergne-Rhône-Alpes"},
		// In the référentiel's order: the education enjeu first, then services by their order.
		Services: []atlaas.FicheService{
			{Code: "S007", Nom: "École numérique", Enjeu: "education", EnjeuNom: "Éducation"},
			{Code: "S002", Nom: "Consultation en ligne", Enjeu: "democratie", EnjeuNom: "Démocratie locale"},
			{Code: "S010", Nom: "Budget participatif", Enjeu: "democratie", EnjeuNom: "Démocratie locale"},
		},
		Annees: []int{2021, 2022},
	}
	if !got.CreatedAt.Equal(want.CreatedAt) || !got.UpdatedAt.Equal(want.UpdatedAt) {
		t.Errorf("created_at, updated_at = %v, %v; want %v, %v", got.CreatedAt, got.UpdatedAt, want.CreatedAt, want.UpdatedAt)
	}
	got.CreatedAt, got.UpdatedAt = want.CreatedAt, want.UpdatedAt
	if !reflect.DeepEqual(got, want) {
		t.Errorf("Fiche(1) =\n%+v\nwant\n%+v", got, want)
	}

	t.Run("sparse fiche in JSON", func(t *testing.T) {
		f, err := db.Fiche(ctx, 3)
		if err != nil {
			t.Fatal(err)
		}
		b, err := json.Marshal(f)
		if err != nil {
			t.Fatal(err)
		}
		s := string(b)
		for _, part := range []string{`"public_vise":[]`, `"partenaires":[]`, `"prestataires":[]`, `"liens":[]`,
			`"point":null`, `"demonstration":false`, `"annees":[2022]`, `"kind":"epci"`} {
			if !strings.Contains(s, part) {
				t.Errorf("JSON lacks %s: %s", part, s)
			}
		}
		for _, absent := range []string{`"date_debut"`, `"date_fin"`, `"population"`} {
			if strings.Contains(s, absent) {
				t.Errorf("JSON has %s, want it omitted: %s", absent, s)
			}
		}
	})

	for _, id := range []int64{4, 999} {
		_, err := db.Fiche(ctx, id)
		if atlaas.ErrorCode(err) != atlaas.ENOTFOUND {
			t.Errorf("Fiche(%d) error = %v, want not found", id, err)
		}
	}
}

func TestLabels(t *testing.T) {
	db, _ := openFiches(t)
	labels, err := db.Labels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]string{
		atlaas.FacetEnjeu:       {"democratie": "Démocratie locale", "education": "Éducation"},
		atlaas.FacetService:     {"S010": "Budget participatif", "S002": "Consultation en ligne", "S007": "École numérique"},
		atlaas.FacetRegion:      {"84": "Auvergne-Rhône-Alpes"},
		atlaas.FacetDepartement: {"69": "Rhône"},
		atlaas.FacetMention:     {"coup-de-coeur": "Coup de cœur du jury", "innovation": "Innovation"},
		atlaas.FacetAnnee: {"2000": "2000 (1re édition)", "2021": "2021 (22e édition)",
			"2022": "2022 (23e édition)", "2023": "2023 (24e édition)"},
		atlaas.FacetCategorie: {"village": "Village", "ville": "Ville", "territoire": "Intercommunalité"},
		atlaas.FacetStatut: {"projet": "En projet", "en_cours": "En cours", "realise": "Réalisé",
			"abandonne": "Abandonné"},
		atlaas.FacetArobases: {"1": "1 @", "2": "2 @", "3": "3 @", "4": "4 @", "5": "5 @"},
	}
	for facet, values := range want {
		if !reflect.DeepEqual(labels[facet], values) {
			t.Errorf("labels[%s] = %v, want %v", facet, labels[facet], values)
		}
	}
	pop := labels[atlaas.FacetPopulation]
	if len(pop) != len(atlaas.PopulationBands) || pop["100000+"] != "100 000 hab. et plus" {
		t.Errorf("population labels = %v", pop)
	}
	// The fixed labels are copies: changing them changes no later answer.
	labels[atlaas.FacetStatut]["projet"] = "x"
	again, err := db.Labels(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	if again[atlaas.FacetStatut]["projet"] != "En projet" {
		t.Error("Labels returned a shared map")
	}
}
