package search_test

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"atlaas/internal/atlaas"
	"atlaas/internal/postgres"
	"atlaas/internal/postgres/pgtest"
	"atlaas/internal/search"
)

// fixture is a small atlas: two communes, an édition, a few fiches with chosen words.
const fixture = `
INSERT INTO regions (code, nom) VALUES ('84', 'Auvergne-Rhône-Alpes'), ('11', 'Île-de-France');
INSERT INTO departements (code, nom, region) VALUES ('69', 'Rhône', '84'), ('94', 'Val-de-Marne', '11');
INSERT INTO collectivites (code, kind, nom, categorie, population, departement, region, geom, geom_precision) VALUES
  ('69029', 'commune', 'Bron', 'ville', 41000, '69', '84', ST_SetSRID(ST_MakePoint(4.91, 45.74), 4326), 'geonames'),
  ('94041', 'commune', 'Ivry-sur-Seine', 'ville', 63000, '94', '11', ST_SetSRID(ST_MakePoint(2.39, 48.81), 4326), 'geonames');
INSERT INTO editions (annee, numero) VALUES (2022, 23), (2023, 24);
INSERT INTO categories (code, nom) VALUES ('democratie-services-publics', 'Démocratie et services publics');
INSERT INTO enjeux (code, nom, categorie) VALUES ('democratie-locale', 'Démocratie locale', 'democratie-services-publics'),
  ('education', 'Éducation', 'democratie-services-publics');
INSERT INTO services (code, nom, enjeu) VALUES ('S010', 'Budget participatif', 'democratie-locale'),
  ('S090', 'École numérique', 'education');
INSERT INTO service_editions VALUES ('S010', 2022), ('S010', 2023), ('S090', 2022), ('S090', 2023);
INSERT INTO mentions (code, nom, kind) VALUES ('democratie-locale', 'Démocratie locale', 'mention');
INSERT INTO participations (collectivite, annee, arobases, source) VALUES ('69029', 2022, 4, 'demo'), ('69029', 2023, 5, 'demo'),
  ('94041', 2022, 3, 'demo');
INSERT INTO palmares (annee, mention, collectivite, nom_publie, source) VALUES (2023, 'democratie-locale', '69029', 'Bron', 'demo');
INSERT INTO fiches (id, collectivite, titre, synthese, statut, source, geom, geom_precision) VALUES
  (1, '69029', 'Un budget participatif pour la démocratie de quartier', 'Les habitants votent.', 'realise', 'demo', ST_SetSRID(ST_MakePoint(4.91, 45.74), 4326), 'collectivite'),
  (2, '69029', 'Tableaux interactifs à l''école', 'Équiper l''école élémentaire de tableaux.', 'en_cours', 'demo', ST_SetSRID(ST_MakePoint(4.92, 45.75), 4326), 'lieu'),
  (3, '94041', 'Des écoles numériques dans chaque quartier', 'Tablettes et ENT pour les élèves.', 'realise', 'demo', ST_SetSRID(ST_MakePoint(2.39, 48.81), 4326), 'collectivite'),
  (4, '94041', 'Wifi public dans les parcs', 'Un réseau wifi gratuit.', 'realise', 'demo', ST_SetSRID(ST_MakePoint(2.39, 48.81), 4326), 'collectivite');
INSERT INTO fiche_services VALUES (1, 'S010'), (2, 'S090'), (3, 'S090'), (4, 'S090');
INSERT INTO fiche_editions VALUES (1, 2022), (1, 2023), (2, 2023), (3, 2022), (4, 2022);
`

// startService builds an index of the database at u in a temporary directory and keeps it in
// sync until the test ends.
func startService(t *testing.T, db *postgres.DB) *search.Service {
	t.Helper()
	return startServiceIn(t, db, t.TempDir())
}

func startServiceIn(t *testing.T, db *postgres.DB, dir string) *search.Service {
	t.Helper()
	s := search.NewService(dir, db, slog.New(slog.NewTextHandler(testWriter{t}, nil)))
	s.PollInterval = 200 * time.Millisecond
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		if err := s.Run(ctx); err != nil {
			t.Errorf("Run: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	waitReady(t, s)
	return s
}

func waitReady(t *testing.T, s *search.Service) {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for s.Ready(context.Background()) != nil {
		if time.Now().After(deadline) {
			t.Fatal("the search index was not ready after 60 s")
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func openFixture(t *testing.T) (*postgres.DB, string) {
	t.Helper()
	u := pgtest.MustURL(t)
	pgtest.MustExec(t, u, fixture)
	db, err := postgres.Open(context.Background(), u, postgres.Options{}, slog.New(slog.DiscardHandler))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(db.Close)
	return db, u
}

func ids(res atlaas.FicheSearchResult) []int64 {
	out := []int64{}
	for _, h := range res.Items {
		out = append(out, h.ID)
	}
	slices.Sort(out)
	return out
}

func TestFrenchAnalysis(t *testing.T) {
	db, _ := openFixture(t)
	s := startService(t, db)
	tests := []struct {
		name string
		q    string
		want []int64
	}{
		{"accents folded", "democratie", []int64{1}},
		{"accents folded, query side", "DÉMOCRATIE", []int64{1}},
		{"elision", "l'école", []int64{2, 3}},
		{"elision, typographic apostrophe", "l’école", []int64{2, 3}},
		{"stemming", "écoles numériques", []int64{3}},
		{"stemming, singular", "école numérique", []int64{3}},
		{"one typo on a long word", "budjet participatif", []int64{1}},
		{"one typo, accents missing", "particpatif", []int64{1}},
		{"no typo allowed under five letters", "wifu", []int64{}},
		{"prefix of the last word as you type", "tableaux inter", []int64{2}},
		{"quoted phrase", `"budget participatif"`, []int64{1}},
		{"quoted phrase, words apart", `"budget démocratie"`, []int64{}},
		{"collectivité name", "ivry", []int64{3, 4}},
		{"empty query matches everything", "", []int64{1, 2, 3, 4}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res, err := s.Search(context.Background(), atlaas.FicheFilter{Q: tt.q, Limit: 10})
			if err != nil {
				t.Fatal(err)
			}
			if got := ids(res); fmt.Sprint(got) != fmt.Sprint(tt.want) {
				t.Errorf("q=%q: fiches %v, want %v", tt.q, got, tt.want)
			}
		})
	}
	res, err := s.Search(context.Background(), atlaas.FicheFilter{Q: "democratie", Limit: 10})
	if err != nil {
		t.Fatal(err)
	}
	if hl := strings.Join(res.Items[0].Highlights["titre"], ""); !strings.Contains(hl, "<mark>démocratie</mark>") {
		t.Errorf("highlight %q, want <mark>démocratie</mark>", hl)
	}
}

// TestFacetsAndFilters checks filters and facet counts, counted in memory (the facet table) and
// in the index (as when fiche ids do not fit the table).
func TestFacetsAndFilters(t *testing.T) {
	db, _ := openFixture(t)
	t.Run("facet table", func(t *testing.T) { testFacetsAndFilters(t, startService(t, db)) })
	t.Run("index facets", func(t *testing.T) {
		s := startService(t, db)
		search.DisableFacetTable(s)
		testFacetsAndFilters(t, s)
	})
}

func testFacetsAndFilters(t *testing.T, s *search.Service) {
	search := func(f atlaas.FicheFilter) atlaas.FicheSearchResult {
		t.Helper()
		f.Limit = 10
		res, err := s.Search(context.Background(), f)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	count := func(res atlaas.FicheSearchResult, facet, value string) int {
		for _, v := range res.Facets[facet] {
			if v.Value == value {
				return v.Count
			}
		}
		return 0
	}
	res := search(atlaas.FicheFilter{Filters: map[string][]string{atlaas.FacetEnjeu: {"education"}}})
	if got := ids(res); fmt.Sprint(got) != "[2 3 4]" {
		t.Fatalf("enjeu=education: %v", got)
	}
	// The filtered facet still counts its other values (multi-select), the others count within.
	if n := count(res, atlaas.FacetEnjeu, "democratie-locale"); n != 1 {
		t.Errorf("enjeu facet under its own filter: democratie-locale %d, want 1", n)
	}
	if n := count(res, atlaas.FacetCollectivite, "94041"); n != 2 {
		t.Errorf("collectivite facet: 94041 %d, want 2", n)
	}
	for _, v := range res.Facets[atlaas.FacetEnjeu] {
		if v.Value == "education" && (!v.Selected || v.Label != "Éducation") {
			t.Errorf("selected value %+v, want selected with its label", v)
		}
	}
	// @ level at an édition: Bron had 4 @ in 2022 and 5 @ in 2023.
	res = search(atlaas.FicheFilter{Filters: map[string][]string{atlaas.FacetAnnee: {"2023"}, atlaas.FacetArobases: {"5"}}})
	if got := ids(res); fmt.Sprint(got) != "[1 2]" {
		t.Errorf("annee=2023 arobases=5: %v, want [1 2]", got)
	}
	res = search(atlaas.FicheFilter{Filters: map[string][]string{atlaas.FacetAnnee: {"2022"}, atlaas.FacetArobases: {"5"}}})
	if got := ids(res); fmt.Sprint(got) != "[]" {
		t.Errorf("annee=2022 arobases=5: %v, want none", got)
	}
	if n := count(res, atlaas.FacetArobases, "4"); n != 1 {
		t.Errorf("arobases facet at 2022: 4 @ counts %d, want 1", n)
	}
	// Mentions of the collectivité at the fiche's éditions only.
	res = search(atlaas.FicheFilter{Filters: map[string][]string{atlaas.FacetMention: {"democratie-locale"}}})
	if got := ids(res); fmt.Sprint(got) != "[1 2]" {
		t.Errorf("mention: %v, want [1 2]", got)
	}
	// Unknown values are mistakes, reported with the parameter.
	for facet, v := range map[string]string{atlaas.FacetEnjeu: "nope", atlaas.FacetCollectivite: "99999", atlaas.FacetAnnee: "1990", atlaas.FacetArobases: "6"} {
		_, err := s.Search(context.Background(), atlaas.FicheFilter{Filters: map[string][]string{facet: {v}}})
		if atlaas.ErrorCode(err) != atlaas.EINVALID || atlaas.ErrorParam(err) != facet {
			t.Errorf("%s=%s: %v, want invalid naming %s", facet, v, err, facet)
		}
	}
}

// TestChangesReachEveryInstance runs two instances on one database, changes fiches through SQL
// (as any writer would), and checks both see the change; one instance is stopped while changes
// keep coming and must miss none when it starts again.
func TestChangesReachEveryInstance(t *testing.T) {
	db, u := openFixture(t)
	dirA := t.TempDir()
	a := search.NewService(dirA, db, slog.New(slog.DiscardHandler))
	a.PollInterval = 200 * time.Millisecond
	ctxA, stopA := context.WithCancel(context.Background())
	doneA := make(chan struct{})
	go func() { defer close(doneA); a.Run(ctxA) }() //nolint:errcheck // stopped below
	waitReady(t, a)
	b := startService(t, db)

	found := func(s *search.Service, q string, want int) bool {
		res, err := s.Search(context.Background(), atlaas.FicheFilter{Q: q, Limit: 100})
		return err == nil && res.Total == want
	}
	waitFound := func(s *search.Service, q string, want int) time.Duration {
		t.Helper()
		start := time.Now()
		for !found(s, q, want) {
			if time.Since(start) > 15*time.Second {
				t.Fatalf("%q: not %d fiches after 15 s", q, want)
			}
			time.Sleep(10 * time.Millisecond)
		}
		return time.Since(start)
	}
	genA, genB := a.Generation(), b.Generation()
	if genA == "" || genB == "" {
		t.Fatalf("ready services have no generation: %q, %q", genA, genB)
	}
	pgtest.MustExec(t, u, `UPDATE fiches SET titre = 'Une médiathèque ouverte le dimanche' WHERE id = 4`)
	la, lb := waitFound(a, "médiathèque", 1), waitFound(b, "mediatheque", 1)
	t.Logf("a change reached instance A in %s, instance B in %s", la, lb)
	if a.Generation() == genA || b.Generation() == genB {
		t.Errorf("generation unchanged after a change was applied: A %q → %q, B %q → %q", genA, a.Generation(), genB, b.Generation())
	}
	// A change to a collectivité with no fiche changes no document but still the generation.
	genA = a.Generation()
	pgtest.MustExec(t, u, `INSERT INTO collectivites (code, kind, nom, categorie, population, departement, region)
		VALUES ('69123', 'commune', 'Lyon', 'ville', 520000, '69', '84')`)
	pgtest.MustExec(t, u, `UPDATE collectivites SET nom = 'Lyon (69)' WHERE code = '69123'`)
	for start := time.Now(); a.Generation() == genA; time.Sleep(10 * time.Millisecond) {
		if time.Since(start) > 15*time.Second {
			t.Fatal("generation unchanged 15 s after a change to a collectivité")
		}
	}

	// Stop A, keep changing (including a deletion and a new fiche), start A again.
	stopA()
	<-doneA
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close(context.Background())
	for i := 0; i < 30; i++ {
		if _, err := conn.Exec(context.Background(),
			`INSERT INTO fiches (id, collectivite, titre, statut, source) VALUES ($1, '94041', $2, 'projet', 'demo')`,
			100+i, fmt.Sprintf("Ludothèque numérique %d", i)); err != nil {
			t.Fatal(err)
		}
	}
	pgtest.MustExec(t, u, `UPDATE fiches SET deleted_at = now() WHERE id = 4`)
	a2 := startServiceIn(t, db, dirA)
	waitFound(a2, "ludotheque", 30)
	waitFound(a2, "médiathèque", 0)
	waitFound(b, "ludotheque", 30)

	// The facet counts followed the changes on both instances (the restarted one loaded its
	// facet table when it opened its index, then replayed the outbox).
	var live, ivry int
	if err := conn.QueryRow(context.Background(), `SELECT count(*), count(*) FILTER (WHERE collectivite = '94041')
		FROM fiches WHERE deleted_at IS NULL`).Scan(&live, &ivry); err != nil {
		t.Fatal(err)
	}
	for name, s := range map[string]*search.Service{"restarted": a2, "running": b} {
		res, err := s.Search(context.Background(), atlaas.FicheFilter{Limit: 1})
		if err != nil {
			t.Fatal(err)
		}
		got := 0
		for _, v := range res.Facets[atlaas.FacetCollectivite] {
			if v.Value == "94041" {
				got = v.Count
			}
		}
		if res.Total != live || got != ivry {
			t.Errorf("%s instance: %d fiches, %d of Ivry-sur-Seine in the facet; want %d and %d", name, res.Total, got, live, ivry)
		}
	}
}

// testWriter sends the service's logs to the test's log.
type testWriter struct{ t *testing.T }

func (w testWriter) Write(b []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(b)))
	return len(b), nil
}

func TestSuggest(t *testing.T) {
	db, _ := openFixture(t)
	s := startService(t, db)
	for _, tt := range []struct {
		q, kind, value string
	}{
		{"ivr", "collectivite", "94041"},
		{"ivry-sur", "collectivite", "94041"},
		{"budg", "service", "S010"},
		{"ecole num", "service", "S090"},
		{"tableaux inter", "fiche", "2"},
		{"democr", "fiche", "1"},
	} {
		got, err := s.Suggest(context.Background(), tt.q)
		if err != nil {
			t.Fatal(err)
		}
		if !slices.ContainsFunc(got, func(g atlaas.Suggestion) bool { return g.Kind == tt.kind && g.Value == tt.value }) {
			t.Errorf("suggest %q: %+v, want %s %s", tt.q, got, tt.kind, tt.value)
		}
	}
}

// TestPagingEveryOrder walks every page of each sort order, one hit per page, and checks that
// each fiche comes once and the walk ends.
func TestPagingEveryOrder(t *testing.T) {
	db, _ := openFixture(t)
	s := startService(t, db)
	near := orb.Point{4.9, 45.7}
	for _, order := range []string{atlaas.SortRelevance, atlaas.SortRecent, atlaas.SortDistance} {
		f := atlaas.FicheFilter{Sort: order, Limit: 1, Near: &near, Km: 1000}
		var got []int64
		for page := 0; page < 10; page++ {
			res, err := s.Search(context.Background(), f)
			if err != nil {
				t.Fatalf("%s page %d: %v", order, page, err)
			}
			for _, h := range res.Items {
				got = append(got, h.ID)
			}
			if res.NextCursor == "" {
				break
			}
			f.Cursor = res.NextCursor
		}
		sorted := slices.Clone(got)
		slices.Sort(sorted)
		if fmt.Sprint(sorted) != "[1 2 3 4]" {
			t.Errorf("%s: pages gave %v, want each of the 4 fiches once", order, got)
		}
		if order == atlaas.SortDistance && (got[0] != 1 || got[3] != 4 && got[3] != 3) {
			t.Errorf("distance order %v: Bron's fiches first", got)
		}
	}
}

// TestIndexOfAnotherMappingIsRebuilt checks that an index made by a binary with another
// analysis (here: marked as made by mapping version 1) is rebuilt, not searched with words
// analysed differently.
func TestIndexOfAnotherMappingIsRebuilt(t *testing.T) {
	db, _ := openFixture(t)
	dir := t.TempDir()
	s := search.NewService(dir, db, slog.New(slog.DiscardHandler))
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); s.Run(ctx) }() //nolint:errcheck // stopped below
	waitReady(t, s)
	cancel()
	<-done
	first, err := search.CurrentIndex(dir)
	if err != nil || first == "" {
		t.Fatalf("current index: %q, %v", first, err)
	}
	if err := search.SetMappingVersion(dir, 1); err != nil {
		t.Fatal(err)
	}
	startServiceIn(t, db, dir)
	second, err := search.CurrentIndex(dir)
	if err != nil {
		t.Fatal(err)
	}
	if second == first {
		t.Errorf("the index of mapping version 1 (%s) was kept, want a rebuild", first)
	}
}
