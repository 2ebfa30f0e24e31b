package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"

	"github.com/jackc/pgx/v5"

	"atlaas/internal/postgres/pgtest"
)

type searchBody struct {
	Total int `json:"total"`
	Items []struct {
		ID           int64  `json:"id"`
		Collectivite string `json:"collectivite"`
		Source       string `json:"source"`
	} `json:"items"`
	Facets map[string][]struct {
		Value string `json:"value"`
		Count int    `json:"count"`
	} `json:"facets"`
	NextCursor    string `json:"next_cursor"`
	Avertissement string `json:"avertissement"`
}

// startDemo serves the demo atlas from a fresh database, once the index is ready.
func startDemo(t *testing.T) (*Main, *pgx.Conn) {
	t.Helper()
	u := pgtest.MustURL(t)
	loadDemo(t, u)
	m := startMain(t, u)
	conn, err := pgx.Connect(context.Background(), u)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close(context.Background()) })
	return m, conn
}

func getJSON(t *testing.T, u string, want int, v any) http.Header {
	t.Helper()
	res, err := http.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	if res.StatusCode != want {
		t.Fatalf("GET %s: %d, want %d: %s", u, res.StatusCode, want, b)
	}
	if v != nil {
		if err := json.Unmarshal(b, v); err != nil {
			t.Fatalf("GET %s: %v: %s", u, err, b)
		}
	}
	return res.Header
}

func init() { atlasTests = append(atlasTests, atlasTest{"search API", testSearchAPI}) }

func testSearchAPI(t *testing.T, m *Main, conn *pgx.Conn) {
	base := m.URL() + "/api/v1"

	t.Run("bad input names the parameter", func(t *testing.T) {
		for _, tt := range []struct{ query, param string }{
			{"limit=101", "limit"},
			{"limit=0", "limit"},
			{"q=" + strings.Repeat("a", 501), "q"},
			{"cursor=garbage", "cursor"},
			{"bbox=1,2,3", "bbox"},
			{"bbox=181,40,182,41", "bbox"},
			{"bbox=5,45,4,46", "bbox"},
			{"near=abc", "near"},
			{"near=2.3,48.8&km=-1", "km"},
			{"km=5", "km"},
			{"enjeu=nope", "enjeu"},
			{"region=99", "region"},
			{"arobases=6", "arobases"},
			{"sort=distance", "sort"},
			{"sort=alpha", "sort"},
			{"format=xml", "format"},
			{"arobase=5", "arobase"},
		} {
			var p struct{ Param string }
			getJSON(t, base+"/fiches?"+tt.query, http.StatusBadRequest, &p)
			if p.Param != tt.param {
				t.Errorf("%s: param %q, want %q", tt.query, p.Param, tt.param)
			}
		}
	})

	t.Run("demonstration data says so", func(t *testing.T) {
		var r searchBody
		getJSON(t, base+"/fiches?q=budget+participatif", http.StatusOK, &r)
		if r.Total == 0 || r.Items[0].Source != "demo" || !strings.Contains(r.Avertissement, "démonstration") {
			t.Fatalf("total %d, first %+v, notice %q", r.Total, r.Items, r.Avertissement)
		}
	})

	t.Run("cursor pages are stable and complete", func(t *testing.T) {
		var all searchBody
		getJSON(t, base+"/fiches?q=numerique&limit=100", http.StatusOK, &all)
		var got []int64
		cursor := ""
		for page := 0; page < 4; page++ {
			var r searchBody
			getJSON(t, base+"/fiches?q=numerique&limit=25&cursor="+url.QueryEscape(cursor), http.StatusOK, &r)
			for _, it := range r.Items {
				got = append(got, it.ID)
			}
			cursor = r.NextCursor
		}
		var want []int64
		for _, it := range all.Items {
			want = append(want, it.ID)
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("4 pages of 25 differ from one page of 100")
		}
		// A cursor belongs to its search.
		var p struct{ Param string }
		getJSON(t, base+"/fiches?q=ecole&limit=25&cursor="+url.QueryEscape(cursor), http.StatusBadRequest, &p)
	})

	t.Run("facet counts equal SQL counts", func(t *testing.T) {
		var r searchBody
		getJSON(t, base+"/fiches?enjeu=democratie-locale&annee=2022&region=11&limit=1", http.StatusOK, &r)
		total := queryInt(t, conn, `SELECT count(DISTINCT f.id) FROM fiches f JOIN collectivites c ON c.code = f.collectivite
			WHERE c.region = '11' AND EXISTS (SELECT 1 FROM fiche_editions e WHERE e.fiche = f.id AND e.annee = 2022)
			AND EXISTS (SELECT 1 FROM fiche_services s JOIN services sv ON sv.code = s.service WHERE s.fiche = f.id AND sv.enjeu = 'democratie-locale')`)
		if r.Total != total || total == 0 {
			t.Fatalf("total %d, SQL %d", r.Total, total)
		}
		for _, v := range r.Facets["departement"] {
			want := queryInt(t, conn, `SELECT count(DISTINCT f.id) FROM fiches f JOIN collectivites c ON c.code = f.collectivite
				WHERE c.region = '11' AND c.departement = $1 AND EXISTS (SELECT 1 FROM fiche_editions e WHERE e.fiche = f.id AND e.annee = 2022)
				AND EXISTS (SELECT 1 FROM fiche_services s JOIN services sv ON sv.code = s.service WHERE s.fiche = f.id AND sv.enjeu = 'democratie-locale')`, v.Value)
			if v.Count != want {
				t.Errorf("departement %s: %d, SQL %d", v.Value, v.Count, want)
			}
		}
		// The région facet ignores its own filter: every région's count under the other filters.
		for _, v := range r.Facets["region"] {
			want := queryInt(t, conn, `SELECT count(DISTINCT f.id) FROM fiches f JOIN collectivites c ON c.code = f.collectivite
				WHERE c.region = $1 AND EXISTS (SELECT 1 FROM fiche_editions e WHERE e.fiche = f.id AND e.annee = 2022)
				AND EXISTS (SELECT 1 FROM fiche_services s JOIN services sv ON sv.code = s.service WHERE s.fiche = f.id AND sv.enjeu = 'democratie-locale')`, v.Value)
			if v.Count != want {
				t.Errorf("region %s: %d, SQL %d", v.Value, v.Count, want)
			}
		}
		for _, v := range r.Facets["enjeu"] {
			want := queryInt(t, conn, `SELECT count(DISTINCT f.id) FROM fiches f JOIN collectivites c ON c.code = f.collectivite
				WHERE c.region = '11' AND EXISTS (SELECT 1 FROM fiche_editions e WHERE e.fiche = f.id AND e.annee = 2022)
				AND EXISTS (SELECT 1 FROM fiche_services s JOIN services sv ON sv.code = s.service WHERE s.fiche = f.id AND sv.enjeu = $1)`, v.Value)
			if v.Count != want {
				t.Errorf("enjeu %s: %d, SQL %d", v.Value, v.Count, want)
			}
		}
	})

	t.Run("bbox and near agree with PostGIS", func(t *testing.T) {
		var r searchBody
		getJSON(t, base+"/fiches?bbox=2.2,48.7,2.5,48.95&limit=1", http.StatusOK, &r)
		want := queryInt(t, conn, `SELECT count(*) FROM fiches WHERE deleted_at IS NULL AND ST_Intersects(geom, ST_MakeEnvelope(2.2, 48.7, 2.5, 48.95, 4326))`)
		if r.Total != want || want == 0 {
			t.Errorf("bbox: %d, PostGIS %d", r.Total, want)
		}
		// Bleve measures distances on a sphere whose radius follows the latitude: it agrees with
		// PostGIS's spheroid to within 0.3 % of the radius, which is what is checked.
		got := map[int64]bool{}
		for cursor := "start"; cursor != ""; {
			if cursor == "start" {
				cursor = ""
			}
			r = searchBody{}
			getJSON(t, base+"/fiches?near=4.85,45.75&km=25&limit=100&sort=distance&cursor="+url.QueryEscape(cursor), http.StatusOK, &r)
			for _, it := range r.Items {
				got[it.ID] = true
			}
			cursor = r.NextCursor
		}
		rows, err := conn.Query(context.Background(), `SELECT id, ST_Distance(geom::geography, ST_SetSRID(ST_MakePoint(4.85, 45.75), 4326)::geography)
			FROM fiches WHERE deleted_at IS NULL AND ST_DWithin(geom::geography, ST_SetSRID(ST_MakePoint(4.85, 45.75), 4326)::geography, 26000)`)
		if err != nil {
			t.Fatal(err)
		}
		inside := 0
		for rows.Next() {
			var id int64
			var d float64
			if err := rows.Scan(&id, &d); err != nil {
				t.Fatal(err)
			}
			switch {
			case d <= 25000*0.997 && !got[id]:
				t.Errorf("near: fiche %d at %.0f m is missing", id, d)
			case d > 25000*1.003 && got[id]:
				t.Errorf("near: fiche %d at %.0f m is included", id, d)
			}
			if d <= 25000*1.003 {
				inside++
			}
			delete(got, id)
		}
		if len(got) > 0 || inside < 100 {
			t.Errorf("near: %d fiches beyond 26 km included; %d within the radius", len(got), inside)
		}
	})

	t.Run("geojson", func(t *testing.T) {
		var fc struct {
			Type     string
			Features []struct {
				Geometry struct{ Coordinates []float64 }
			}
		}
		getJSON(t, base+"/fiches?q=wifi&format=geojson&limit=5", http.StatusOK, &fc)
		if fc.Type != "FeatureCollection" || len(fc.Features) != 5 || len(fc.Features[0].Geometry.Coordinates) != 2 {
			t.Fatalf("%+v", fc)
		}
	})

	t.Run("detail, connexes, suggest", func(t *testing.T) {
		var d struct {
			ID           int64
			Titre        string
			Collectivite struct{ Code string }
		}
		h := getJSON(t, base+"/fiches/1", http.StatusOK, &d)
		if d.ID != 1 || d.Titre == "" || d.Collectivite.Code == "" {
			t.Fatalf("%+v", d)
		}
		req, _ := http.NewRequest(http.MethodGet, base+"/fiches/1", nil)
		req.Header.Set("If-None-Match", h.Get("ETag"))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		res.Body.Close()
		if res.StatusCode != http.StatusNotModified {
			t.Errorf("If-None-Match: %d, want 304", res.StatusCode)
		}
		getJSON(t, base+"/fiches/999999999", http.StatusNotFound, nil)
		getJSON(t, base+"/fiches/abc", http.StatusBadRequest, nil)

		var c searchBody
		getJSON(t, base+"/fiches/1/connexes", http.StatusOK, &c)
		if len(c.Items) == 0 || len(c.Items) > 10 {
			t.Fatalf("%d connexes", len(c.Items))
		}
		others := true
		for _, it := range c.Items {
			if it.ID == 1 {
				t.Fatal("a fiche is its own connexe")
			}
			if it.Collectivite == d.Collectivite.Code {
				others = false
			} else if !others {
				t.Fatal("a fiche of another collectivité comes after one of the same")
			}
		}
		var s struct {
			Items []struct{ Kind, Value, Label string }
		}
		getJSON(t, base+"/suggest?q=budg", http.StatusOK, &s)
		kinds := map[string]bool{}
		for _, it := range s.Items {
			kinds[it.Kind] = true
		}
		if !kinds["service"] || !kinds["fiche"] || len(s.Items) > 10 {
			t.Fatalf("suggest budg: %+v", s.Items)
		}
		getJSON(t, base+"/suggest?q=bron", http.StatusOK, &s)
		if !slices.ContainsFunc(s.Items, func(it struct{ Kind, Value, Label string }) bool { return it.Value == "69029" }) {
			t.Errorf("suggest bron: %+v", s.Items)
		}
	})
}
