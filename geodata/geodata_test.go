package geodata

import (
	"encoding/json"
	"math"
	"testing"
)

func mustGeo[T any](t *testing.T, load func() ([]T, error)) []T {
	t.Helper()
	v, err := load()
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestGeoCounts(t *testing.T) {
	communes := mustGeo(t, Communes)
	withPoint := 0
	for _, c := range communes {
		if c.HasPoint {
			withPoint++
		}
	}
	epcis := mustGeo(t, EPCIs)
	epciWithPoint := 0
	for _, e := range epcis {
		if e.HasPoint {
			epciWithPoint++
		}
	}
	tests := []struct {
		name     string
		got      int
		min, max int
	}{
		{"régions (18 + 8 collectivités d'outre-mer)", len(mustGeo(t, Regions)), 26, 26},
		{"départements (101 + 8 collectivités)", len(mustGeo(t, Departements)), 109, 109},
		{"communes", len(communes), 34000, 36000},
		{"communes with a GeoNames point", withPoint, 8000, 9000},
		{"EPCI", len(epcis), 1200, 1300},
		{"EPCI with a point", epciWithPoint, 1150, 1300},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.got < tt.min || tt.got > tt.max {
				t.Errorf("got %d, want %d–%d", tt.got, tt.min, tt.max)
			}
		})
	}
}

// distanceKm is the haversine distance between two WGS 84 points.
func distanceKm(lat1, lon1, lat2, lon2 float64) float64 {
	const r = 6371.0
	rad := math.Pi / 180
	dLat, dLon := (lat2-lat1)*rad, (lon2-lon1)*rad
	a := math.Sin(dLat/2)*math.Sin(dLat/2) + math.Cos(lat1*rad)*math.Cos(lat2*rad)*math.Sin(dLon/2)*math.Sin(dLon/2)
	return 2 * r * math.Asin(math.Sqrt(a))
}

func TestKnownCommunes(t *testing.T) {
	byCode := make(map[string]Commune)
	for _, c := range mustGeo(t, Communes) {
		byCode[c.Insee] = c
	}
	tests := []struct {
		insee, nom, dep, region string
		lat, lon                float64
	}{
		{"69029", "Bron", "69", "84", 45.74, 4.91},
		{"75056", "Paris", "75", "11", 48.8566, 2.3522},
		{"2A004", "Ajaccio", "2A", "94", 41.9192, 8.7386},
		{"97411", "Saint-Denis", "974", "04", -20.8823, 55.4504},
	}
	for _, tt := range tests {
		t.Run(tt.nom, func(t *testing.T) {
			c, ok := byCode[tt.insee]
			if !ok {
				t.Fatalf("commune %s missing", tt.insee)
			}
			if c.Nom != tt.nom || c.Departement != tt.dep || c.Region != tt.region {
				t.Errorf("got %s (%s, %s), want %s (%s, %s)", c.Nom, c.Departement, c.Region, tt.nom, tt.dep, tt.region)
			}
			if !c.HasPoint {
				t.Fatal("no point")
			}
			if d := distanceKm(c.Lat, c.Lon, tt.lat, tt.lon); d > 2 {
				t.Errorf("point %.5f,%.5f is %.1f km from %.4f,%.4f", c.Lat, c.Lon, d, tt.lat, tt.lon)
			}
		})
	}
}

func TestGeoReferences(t *testing.T) {
	regions := make(map[string]bool)
	for _, r := range mustGeo(t, Regions) {
		regions[r.Code] = true
	}
	depRegion := make(map[string]string)
	for _, d := range mustGeo(t, Departements) {
		if !regions[d.Region] {
			t.Errorf("département %s: unknown région %q", d.Code, d.Region)
		}
		depRegion[d.Code] = d.Region
	}
	epciMembers := make(map[string]int)
	for _, e := range mustGeo(t, EPCIs) {
		epciMembers[e.SIREN] = e.Membres
	}
	counted := make(map[string]int)
	seen := make(map[string]bool)
	for _, c := range mustGeo(t, Communes) {
		if seen[c.Insee] {
			t.Errorf("commune %s listed twice", c.Insee)
		}
		seen[c.Insee] = true
		region, ok := depRegion[c.Departement]
		if !ok {
			t.Errorf("commune %s: unknown département %q", c.Insee, c.Departement)
		} else if region != c.Region {
			t.Errorf("commune %s: région %q, its département is in %q", c.Insee, c.Region, region)
		}
		if c.EPCI != "" {
			if _, ok := epciMembers[c.EPCI]; !ok {
				t.Errorf("commune %s: unknown EPCI %q", c.Insee, c.EPCI)
			}
			counted[c.EPCI]++
		}
	}
	for siren, n := range epciMembers {
		if counted[siren] != n {
			t.Errorf("EPCI %s: %d members declared, %d communes point to it", siren, n, counted[siren])
		}
	}
}

// territory is a bounding box (degrees) a point of the given départements must fall in.
type territory struct {
	name           string
	minLat, maxLat float64
	minLon, maxLon float64
	departements   []string // nil: metropolitan France and Corsica
}

var territories = []territory{
	{"Guadeloupe", 15.8, 16.6, -61.9, -60.9, []string{"971"}},
	{"Martinique", 14.3, 14.9, -61.3, -60.8, []string{"972"}},
	{"Guyane", 2.1, 5.8, -54.7, -51.6, []string{"973"}},
	{"La Réunion", -21.4, -20.8, 55.2, 55.9, []string{"974"}},
	{"Saint-Pierre-et-Miquelon", 46.7, 47.2, -56.5, -56.1, []string{"975"}},
	{"Mayotte", -13.1, -12.6, 44.9, 45.4, []string{"976"}},
	{"Saint-Barthélemy", 17.8, 18.0, -63.0, -62.7, []string{"977"}},
	{"Saint-Martin", 18.0, 18.2, -63.2, -62.9, []string{"978"}},
	{"Terres australes", -50.0, -10.0, 39.0, 78.0, []string{"984"}},
	{"Wallis-et-Futuna", -14.5, -13.1, -178.3, -176.0, []string{"986"}},
	{"Polynésie française", -28.0, -7.0, -155.0, -134.0, []string{"987"}},
	{"Nouvelle-Calédonie", -23.0, -19.0, 163.0, 169.0, []string{"988"}},
	{"Clipperton", 10.2, 10.4, -109.3, -109.1, []string{"989"}},
	{"Métropole", 41.3, 51.1, -5.2, 9.6, nil},
}

// territoryOf returns the box for a département code.
func territoryOf(dep string) territory {
	for _, tr := range territories {
		for _, d := range tr.departements {
			if d == dep {
				return tr
			}
		}
	}
	return territories[len(territories)-1]
}

func (tr territory) contains(lat, lon float64) bool {
	return lat >= tr.minLat && lat <= tr.maxLat && lon >= tr.minLon && lon <= tr.maxLon
}

func TestCommunePoints(t *testing.T) {
	ids := make(map[int]string)
	for _, c := range mustGeo(t, Communes) {
		if !c.HasPoint {
			if c.Lat != 0 || c.Lon != 0 || c.GeonamesID != 0 {
				t.Errorf("commune %s has no point but lat %v lon %v geonames %d", c.Insee, c.Lat, c.Lon, c.GeonamesID)
			}
			continue
		}
		if c.GeonamesID <= 0 {
			t.Errorf("commune %s has a point without GeoNames id", c.Insee)
		}
		if other, dup := ids[c.GeonamesID]; dup {
			t.Errorf("GeoNames place %d gives the point of both %s and %s", c.GeonamesID, other, c.Insee)
		}
		ids[c.GeonamesID] = c.Insee
		if tr := territoryOf(c.Departement); !tr.contains(c.Lat, c.Lon) {
			t.Errorf("commune %s (%s): point %.5f,%.5f outside %s", c.Insee, c.Departement, c.Lat, c.Lon, tr.name)
		}
	}
}

func TestEPCIPoints(t *testing.T) {
	for _, e := range mustGeo(t, EPCIs) {
		if e.Membres < 1 {
			t.Errorf("EPCI %s has %d members", e.SIREN, e.Membres)
		}
		if !e.HasPoint {
			continue
		}
		inside := false
		for _, tr := range territories {
			inside = inside || tr.contains(e.Lat, e.Lon)
		}
		if !inside {
			t.Errorf("EPCI %s centre %.5f,%.5f outside France", e.SIREN, e.Lat, e.Lon)
		}
	}
}

// testFeatureCollection is the part of the GeoJSON the tests look at.
type testFeatureCollection struct {
	Type     string `json:"type"`
	Features []struct {
		Properties map[string]string `json:"properties"`
		Geometry   struct {
			Type        string           `json:"type"`
			Coordinates [][][][2]float64 `json:"coordinates"`
		} `json:"geometry"`
	} `json:"features"`
}

func TestBoundaries(t *testing.T) {
	deps := mustGeo(t, Departements)
	regions := mustGeo(t, Regions)
	tests := []struct {
		name  string
		data  []byte
		codes []string
		props []string
	}{
		{"départements", DepartementsGeoJSON(), codesOf(deps, func(d Departement) string { return d.Code }), []string{"code", "nom", "region"}},
		{"régions", RegionsGeoJSON(), codesOf(regions, func(r Region) string { return r.Code }), []string{"code", "nom"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var fc testFeatureCollection
			if err := json.Unmarshal(tt.data, &fc); err != nil {
				t.Fatal(err)
			}
			if fc.Type != "FeatureCollection" || len(fc.Features) != len(tt.codes) {
				t.Fatalf("type %q with %d features, want FeatureCollection with %d", fc.Type, len(fc.Features), len(tt.codes))
			}
			for i, f := range fc.Features {
				code := f.Properties["code"]
				if code != tt.codes[i] {
					t.Errorf("feature %d has code %q, want %q", i, code, tt.codes[i])
				}
				if len(f.Properties) != len(tt.props) {
					t.Errorf("%s: properties %v, want %v", code, f.Properties, tt.props)
				}
				if f.Geometry.Type != "MultiPolygon" || len(f.Geometry.Coordinates) == 0 {
					t.Errorf("%s: geometry %s with %d polygons", code, f.Geometry.Type, len(f.Geometry.Coordinates))
				}
				checkPolygons(t, code, f.Geometry.Coordinates)
			}
		})
	}
}

func codesOf[T any](items []T, code func(T) string) []string {
	out := make([]string, len(items))
	for i, it := range items {
		out[i] = code(it)
	}
	return out
}

// checkPolygons checks closure, size and RFC 7946 orientation of every ring.
func checkPolygons(t *testing.T, code string, polys [][][][2]float64) {
	t.Helper()
	for i, p := range polys {
		for j, r := range p {
			if len(r) < 4 || r[0] != r[len(r)-1] {
				t.Errorf("%s polygon %d ring %d: %d positions, closed %v", code, i, j, len(r), r[0] == r[len(r)-1])
				continue
			}
			area := 0.0
			for k := 0; k+1 < len(r); k++ {
				area += r[k][0]*r[k+1][1] - r[k+1][0]*r[k][1]
			}
			if (j == 0) != (area > 0) {
				t.Errorf("%s polygon %d ring %d: wrong orientation (area %g)", code, i, j, area/2)
			}
		}
	}
}
