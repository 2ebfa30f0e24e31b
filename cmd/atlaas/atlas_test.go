package main

import (
	"context"
	"slices"
	"testing"

	"github.com/jackc/pgx/v5"
	"github.com/paulmach/orb"

	"atlaas/internal/atlaas"
)

// atlasTest is a read-only test of the demo atlas. Each test file registers its own in an
// init function, so that they share one atlas: loading it and building its index take most of
// the time of the suite. A test that writes must make its own atlas with startDemo.
type atlasTest struct {
	name string
	fn   func(t *testing.T, m *Main, conn *pgx.Conn)
}

var atlasTests []atlasTest

// TestDemoAtlas runs every registered read-only test on one served demo atlas.
func TestDemoAtlas(t *testing.T) {
	m, conn := startDemo(t)
	tests := slices.Clone(atlasTests)
	slices.SortFunc(tests, func(a, b atlasTest) int { return compareStrings(a.name, b.name) })
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { tt.fn(t, m, conn) })
	}
}

func compareStrings(a, b string) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func init() {
	atlasTests = append(atlasTests, atlasTest{"SQL filters agree with the index", testSQLFilters})
}

// testSQLFilters checks that the SQL the database paths (tiles, exports, OGC items) filter
// with selects exactly the fiches the search index finds for the same filters.
func testSQLFilters(t *testing.T, m *Main, _ *pgx.Conn) {
	ctx := context.Background()
	for _, f := range []atlaas.FicheFilter{
		{},
		{Filters: map[string][]string{"enjeu": {"democratie-locale"}}},
		{Filters: map[string][]string{"enjeu": {"democratie-locale", "education"}, "annee": {"2022"}}},
		{Filters: map[string][]string{"region": {"11", "84"}, "categorie": {"village"}}},
		{Filters: map[string][]string{"departement": {"69"}, "statut": {"realise"}}},
		{Filters: map[string][]string{"population": {"0-999", "100000+"}}},
		{Filters: map[string][]string{"population": {"10000-49999"}, "arobases": {"5"}}},
		{Filters: map[string][]string{"arobases": {"4", "5"}, "annee": {"2019", "2023"}}},
		{Filters: map[string][]string{"mention": {"democratie-locale", "mediation-numerique"}}},
		{Filters: map[string][]string{"service": {"S001", "S010"}}},
		{BBox: &orb.Bound{Min: orb.Point{2.2, 48.7}, Max: orb.Point{2.5, 48.95}}},
		{Q: "budget participatif", Filters: map[string][]string{"annee": {"2022"}}},
		{Q: "médiathèque"},
	} {
		if err := m.search.Validate(ctx, f); err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		f.Limit = 1
		res, err := m.search.Search(ctx, f)
		if err != nil {
			t.Fatalf("%+v: %v", f, err)
		}
		q := atlaas.FicheSelection{Filter: f}
		if f.Q != "" {
			if q.IDs, err = m.search.MatchingIDs(ctx, f); err != nil {
				t.Fatal(err)
			}
			if len(q.IDs) != res.Total {
				t.Errorf("%+v: %d matching ids, search total %d", f, len(q.IDs), res.Total)
			}
		}
		n, err := m.db.CountFiches(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		if n != res.Total || n == 0 {
			t.Errorf("%+v: SQL counts %d fiches, the index %d (want equal and not 0)", f, n, res.Total)
		}
	}
	if err := m.search.Validate(ctx, atlaas.FicheFilter{Filters: map[string][]string{"enjeu": {"nope"}}}); err == nil {
		t.Error("Validate accepted an unknown enjeu")
	}
}
