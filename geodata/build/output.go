package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"strings"
)

// outFile is one generated file, by name within the output directory.
type outFile struct {
	Name string
	Data []byte
}

// formatGrid writes a grid value as degrees with exactly five decimals, as the CSV files want.
func formatGrid(v int64) string {
	sign := ""
	if v < 0 {
		sign, v = "-", -v
	}
	return fmt.Sprintf("%s%d.%05d", sign, v/gridScale, v%gridScale)
}

// formatCoord writes a grid value as degrees with trailing zeros trimmed, for GeoJSON.
func formatCoord(v int64) string {
	s := formatGrid(v)
	s = strings.TrimRight(s, "0")
	return strings.TrimSuffix(s, ".")
}

// writeCSV renders a header and rows with "\n" line ends and RFC 4180 quoting where needed.
func writeCSV(header []string, rows [][]string) ([]byte, error) {
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	if err := w.Write(header); err != nil {
		return nil, fmt.Errorf("write csv header: %w", err)
	}
	if err := w.WriteAll(rows); err != nil {
		return nil, fmt.Errorf("write csv rows: %w", err)
	}
	return buf.Bytes(), nil
}

func regionsCSV(a admin) ([]byte, error) {
	rows := make([][]string, 0, len(a.Regions))
	for _, r := range a.Regions {
		rows = append(rows, []string{r.Code, r.Nom})
	}
	return writeCSV([]string{"code", "nom"}, rows)
}

func departementsCSV(a admin) ([]byte, error) {
	rows := make([][]string, 0, len(a.Departements))
	for _, d := range a.Departements {
		rows = append(rows, []string{d.Code, d.Nom, d.Region})
	}
	return writeCSV([]string{"code", "nom", "region"}, rows)
}

func optInt(v *int) string {
	if v == nil {
		return ""
	}
	return strconv.Itoa(*v)
}

func communesCSV(a admin, matches map[string]match) ([]byte, error) {
	epciOf := a.epciOf()
	rows := make([][]string, 0, len(a.Communes))
	for _, c := range a.Communes {
		lat, lon, id := "", "", ""
		if m, ok := matches[c.Code]; ok {
			lat, lon, id = formatGrid(m.Place.Lat), formatGrid(m.Place.Lon), strconv.Itoa(m.Place.ID)
		}
		rows = append(rows, []string{
			c.Code, c.Nom, c.Departement, c.Region, epciOf[c.Code], c.Siren,
			optInt(c.Population), strings.Join(c.CodesPostaux, " "), lat, lon, id,
		})
	}
	return writeCSV([]string{"insee", "nom", "departement", "region", "epci", "siren", "population",
		"codes_postaux", "lat", "lon", "geonames_id"}, rows)
}

// epciCentre is the population-weighted mean of the member points, computed in integers so the
// result does not depend on floating-point contraction; when no member with a point has a
// population, every point weighs the same. ok is false when no member has a point.
func epciCentre(e epci, pop map[string]int64, matches map[string]match) (lat, lon int64, ok bool) {
	var sumW, sumLat, sumLon, n, rawLat, rawLon int64
	for _, m := range e.Membres {
		mt, found := matches[m.Code]
		if !found {
			continue
		}
		w := pop[m.Code]
		sumW += w
		sumLat += w * mt.Place.Lat
		sumLon += w * mt.Place.Lon
		n++
		rawLat += mt.Place.Lat
		rawLon += mt.Place.Lon
	}
	switch {
	case n == 0:
		return 0, 0, false
	case sumW == 0:
		return divRound(rawLat, n), divRound(rawLon, n), true
	}
	return divRound(sumLat, sumW), divRound(sumLon, sumW), true
}

// divRound divides rounding half away from zero; d > 0.
func divRound(n, d int64) int64 {
	if n < 0 {
		return -((-n + d/2) / d)
	}
	return (n + d/2) / d
}

// epciStats counts EPCI centres.
type epciStats struct{ Total, WithPoint, PopulationFromSum int }

func epciCSV(a admin, matches map[string]match) ([]byte, epciStats, error) {
	pop := make(map[string]int64, len(a.Communes))
	for _, c := range a.Communes {
		if c.Population != nil {
			pop[c.Code] = int64(*c.Population)
		}
	}
	var st epciStats
	rows := make([][]string, 0, len(a.EPCIs))
	for _, e := range a.EPCIs {
		st.Total++
		population := optInt(e.Population)
		if e.Population == nil {
			st.PopulationFromSum++
			var sum int64
			for _, m := range e.Membres {
				sum += pop[m.Code]
			}
			population = strconv.FormatInt(sum, 10)
		}
		lat, lon := "", ""
		if la, lo, ok := epciCentre(e, pop, matches); ok {
			st.WithPoint++
			lat, lon = formatGrid(la), formatGrid(lo)
		}
		rows = append(rows, []string{e.Siren, e.Nom, e.Type, population, strconv.Itoa(len(e.Membres)), lat, lon})
	}
	data, err := writeCSV([]string{"siren", "nom", "type", "population", "membres", "lat", "lon"}, rows)
	return data, st, err
}

// feature is one GeoJSON feature: properties in a fixed order and a MultiPolygon.
type feature struct {
	Props [][2]string
	Geom  []polygon
}

// featureCollection renders features one per line, coordinates as written by formatCoord, rings
// closed (first vertex repeated), shells counter-clockwise and holes clockwise (RFC 7946).
func featureCollection(features []feature) ([]byte, error) {
	var b bytes.Buffer
	b.WriteString(`{"type":"FeatureCollection","features":[` + "\n")
	for i, f := range features {
		b.WriteString(`{"type":"Feature","properties":{`)
		for j, kv := range f.Props {
			if j > 0 {
				b.WriteByte(',')
			}
			if err := writeJSONString(&b, kv[0]); err != nil {
				return nil, err
			}
			b.WriteByte(':')
			if err := writeJSONString(&b, kv[1]); err != nil {
				return nil, err
			}
		}
		b.WriteString(`},"geometry":{"type":"MultiPolygon","coordinates":`)
		writeMultiPolygon(&b, f.Geom)
		b.WriteString("}}")
		if i < len(features)-1 {
			b.WriteByte(',')
		}
		b.WriteByte('\n')
	}
	b.WriteString("]}\n")
	return b.Bytes(), nil
}

// writeJSONString writes s as a JSON string without HTML escaping.
func writeJSONString(b *bytes.Buffer, s string) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		return fmt.Errorf("encode %q: %w", s, err)
	}
	b.Truncate(b.Len() - 1) // Encode appends a newline
	return nil
}

func writeMultiPolygon(b *bytes.Buffer, polys []polygon) {
	b.WriteByte('[')
	for i, p := range polys {
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		for j, r := range p {
			if j > 0 {
				b.WriteByte(',')
			}
			writeRing(b, r)
		}
		b.WriteByte(']')
	}
	b.WriteByte(']')
}

func writeRing(b *bytes.Buffer, r ring) {
	b.WriteByte('[')
	for i := 0; i <= len(r); i++ {
		p := r[i%len(r)]
		if i > 0 {
			b.WriteByte(',')
		}
		b.WriteByte('[')
		b.WriteString(formatCoord(p.X))
		b.WriteByte(',')
		b.WriteString(formatCoord(p.Y))
		b.WriteByte(']')
	}
	b.WriteByte(']')
}

// departementFeatures pairs each département with its dissolved shape, in code order.
func departementFeatures(a admin, shapes map[string][]polygon) []feature {
	out := make([]feature, 0, len(a.Departements))
	for _, d := range a.Departements {
		out = append(out, feature{
			Props: [][2]string{{"code", d.Code}, {"nom", d.Nom}, {"region", d.Region}},
			Geom:  shapes[d.Code],
		})
	}
	return out
}

// regionGroups gathers the département shapes of each région, départements in code order.
func regionGroups(a admin, depShapes map[string][]polygon) map[string][]polygon {
	groups := make(map[string][]polygon)
	deps := append([]departement(nil), a.Departements...)
	sort.Slice(deps, func(i, j int) bool { return deps[i].Code < deps[j].Code })
	for _, d := range deps {
		groups[d.Region] = append(groups[d.Region], depShapes[d.Code]...)
	}
	return groups
}

func regionFeatures(a admin, shapes map[string][]polygon) []feature {
	out := make([]feature, 0, len(a.Regions))
	for _, r := range a.Regions {
		out = append(out, feature{Props: [][2]string{{"code", r.Code}, {"nom", r.Nom}}, Geom: shapes[r.Code]})
	}
	return out
}
