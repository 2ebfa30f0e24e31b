package httpapi

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/paulmach/orb"

	"atlaas/internal/atlaas"
)

// query reads the query string, refusing parameters the endpoint does not know: a misspelt
// filter silently ignored would return wrong results that look right.
type query struct {
	values url.Values
}

func newQuery(raw string, allowed ...string) (query, error) {
	values, err := url.ParseQuery(raw)
	if err != nil {
		return query{}, atlaas.Errorf(atlaas.EINVALID, "La chaîne de requête est mal formée.")
	}
	known := map[string]bool{}
	for _, a := range allowed {
		known[a] = true
	}
	for k := range values {
		if !known[k] {
			return query{}, atlaas.ParamErrorf(atlaas.EINVALID, k, "Paramètre inconnu « %s » ; paramètres acceptés : %s.", k, strings.Join(allowed, ", "))
		}
	}
	return query{values: values}, nil
}

// list reads a parameter given several times or as comma-separated values.
func (q query) list(name string) []string {
	var out []string
	for _, v := range q.values[name] {
		for _, part := range strings.Split(v, ",") {
			if p := strings.TrimSpace(part); p != "" {
				out = append(out, p)
			}
		}
	}
	return out
}

func (q query) get(name string) string { return strings.TrimSpace(q.values.Get(name)) }

// intIn reads an integer parameter within [lo, hi], def when absent.
func (q query) intIn(name string, lo, hi, def int) (int, error) {
	s := q.get(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < lo || n > hi {
		return 0, atlaas.ParamErrorf(atlaas.EINVALID, name, "%s doit être un entier entre %d et %d.", name, lo, hi)
	}
	return n, nil
}

// floats reads n comma-separated numbers.
func (q query) floats(name string, n int) ([]float64, error) {
	parts := strings.Split(q.get(name), ",")
	if len(parts) != n {
		return nil, atlaas.ParamErrorf(atlaas.EINVALID, name, "%s attend %d nombres séparés par des virgules.", name, n)
	}
	out := make([]float64, n)
	for i, p := range parts {
		f, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
		if err != nil || f != f {
			return nil, atlaas.ParamErrorf(atlaas.EINVALID, name, "%s : « %s » n'est pas un nombre.", name, p)
		}
		out[i] = f
	}
	return out, nil
}

func validLonLat(lon, lat float64) bool {
	return lon >= -180 && lon <= 180 && lat >= -90 && lat <= 90
}

// bbox reads minLon,minLat,maxLon,maxLat in WGS 84.
func (q query) bbox(name string) (*orb.Bound, error) {
	if q.get(name) == "" {
		return nil, nil
	}
	f, err := q.floats(name, 4)
	if err != nil {
		return nil, err
	}
	if !validLonLat(f[0], f[1]) || !validLonLat(f[2], f[3]) {
		return nil, atlaas.ParamErrorf(atlaas.EINVALID, name, "%s : longitudes entre -180 et 180, latitudes entre -90 et 90.", name)
	}
	if f[0] > f[2] || f[1] > f[3] {
		return nil, atlaas.ParamErrorf(atlaas.EINVALID, name, "%s : attendu minLon,minLat,maxLon,maxLat avec min ≤ max.", name)
	}
	return &orb.Bound{Min: orb.Point{f[0], f[1]}, Max: orb.Point{f[2], f[3]}}, nil
}

// point reads lon,lat.
func (q query) point(name string) (*orb.Point, error) {
	if q.get(name) == "" {
		return nil, nil
	}
	f, err := q.floats(name, 2)
	if err != nil {
		return nil, err
	}
	if !validLonLat(f[0], f[1]) {
		return nil, atlaas.ParamErrorf(atlaas.EINVALID, name, "%s : attendu lon,lat (longitude entre -180 et 180, latitude entre -90 et 90).", name)
	}
	return &orb.Point{f[0], f[1]}, nil
}

// selectionParams are the parameters that choose fiches: text, facets and geography.
func selectionParams(extra ...string) []string {
	return append(append([]string{"q", "bbox", "near", "km"}, atlaas.Facets...), extra...)
}

// ficheFilterParams are the parameters of a fiche search.
func ficheFilterParams(extra ...string) []string {
	return selectionParams(append([]string{"sort", "limit", "cursor"}, extra...)...)
}

// ficheFilter reads a fiche search from the query string.
func ficheFilter(q query) (atlaas.FicheFilter, error) {
	f, err := selectionFilter(q)
	if err != nil {
		return f, err
	}
	f.Sort, f.Cursor = q.get("sort"), q.get("cursor")
	if f.Limit, err = q.intIn("limit", 1, atlaas.MaxSearchLimit, atlaas.DefaultSearchLimit); err != nil {
		return f, err
	}
	switch f.Sort {
	case "", atlaas.SortRelevance, atlaas.SortRecent, atlaas.SortDistance:
	default:
		return f, atlaas.ParamErrorf(atlaas.EINVALID, "sort", "Tri inconnu « %s » : pertinence, recent ou distance.", f.Sort)
	}
	return f, nil
}

// selectionFilter reads the parameters of selectionParams: text, facets and geography.
func selectionFilter(q query) (atlaas.FicheFilter, error) {
	f := atlaas.FicheFilter{Q: q.get("q"), Filters: map[string][]string{}}
	if utf8.RuneCountInString(f.Q) > atlaas.MaxQueryLength {
		return f, atlaas.ParamErrorf(atlaas.EINVALID, "q", "La recherche dépasse %d caractères.", atlaas.MaxQueryLength)
	}
	for _, facet := range atlaas.Facets {
		if v := q.list(facet); len(v) > 0 {
			f.Filters[facet] = v
		}
	}
	var err error
	if f.BBox, err = q.bbox("bbox"); err != nil {
		return f, err
	}
	if f.Near, err = q.point("near"); err != nil {
		return f, err
	}
	if km := q.get("km"); km != "" {
		if f.Near == nil {
			return f, atlaas.ParamErrorf(atlaas.EINVALID, "km", "km (rayon) va avec near=lon,lat.")
		}
		v, err := strconv.ParseFloat(km, 64)
		if err != nil || v <= 0 || v > 1000 {
			return f, atlaas.ParamErrorf(atlaas.EINVALID, "km", "km doit être un nombre entre 0 et 1000.")
		}
		f.Km = v
	} else if f.Near != nil {
		f.Km = 10
	}
	return f, nil
}

// ficheSelection checks a filter's facet values and resolves its text into the ids of the
// matching fiches, for the paths that select fiches in the database.
func (s *Server) ficheSelection(ctx context.Context, f atlaas.FicheFilter) (atlaas.FicheSelection, error) {
	if err := s.searcher.Validate(ctx, f); err != nil {
		return atlaas.FicheSelection{}, err
	}
	sel := atlaas.FicheSelection{Filter: f}
	if strings.TrimSpace(f.Q) == "" {
		return sel, nil
	}
	ids, err := s.searcher.MatchingIDs(ctx, f)
	if err != nil {
		return sel, err
	}
	if ids == nil {
		ids = []int64{}
	}
	sel.IDs = ids
	return sel, nil
}
