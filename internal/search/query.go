package search

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"

	"github.com/RoaringBitmap/roaring/v2"
	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search"
	"github.com/blevesearch/bleve/v2/search/highlight/highlighter/html"
	"github.com/blevesearch/bleve/v2/search/query"
	"github.com/paulmach/orb"
	"github.com/paulmach/orb/geo"

	"atlaas/internal/atlaas"
)

// facetSize bounds the values returned per facet.
var facetSize = map[string]int{
	atlaas.FacetEnjeu: 20, atlaas.FacetService: 200, atlaas.FacetRegion: 30, atlaas.FacetDepartement: 120,
	atlaas.FacetCollectivite: 20, atlaas.FacetCategorie: 5, atlaas.FacetPopulation: 10, atlaas.FacetArobases: 5,
	atlaas.FacetAnnee: 20, atlaas.FacetMention: 20, atlaas.FacetStatut: 5,
}

// storedFields are returned with each hit.
var storedFields = []string{fieldTitre, fieldSousTitre, atlaas.FacetCollectivite, fieldCollectiviteNom,
	atlaas.FacetService, atlaas.FacetEnjeu, atlaas.FacetAnnee, atlaas.FacetStatut, fieldSource, fieldLon, fieldLat}

// highlightFields get <mark> snippets when the search has text.
var highlightFields = []string{fieldTitre, fieldSousTitre, fieldCollectiviteNom, fieldSynthese}

// Search runs a fiche search: one query for the page and the facets nobody filters on, plus
// one per filtered facet, with that facet's own filter removed (multi-select facets).
func (s *Service) Search(ctx context.Context, f atlaas.FicheFilter) (atlaas.FicheSearchResult, error) {
	var res atlaas.FicheSearchResult
	err := s.withIndex(func(ix *index) error {
		var err error
		res, err = s.search(ctx, ix, f)
		return err
	})
	return res, err
}

// withIndex runs fn on the current index; when the index was swapped and closed under it, it
// runs fn once more on the new one.
func (s *Service) withIndex(fn func(*index) error) error {
	for attempt := 0; ; attempt++ {
		ix := s.cur.Load()
		if ix == nil {
			return errNotReady
		}
		err := fn(ix)
		if attempt == 0 && errors.Is(err, bleve.ErrorIndexClosed) {
			continue
		}
		return err
	}
}

func (s *Service) search(ctx context.Context, ix *index, f atlaas.FicheFilter) (atlaas.FicheSearchResult, error) {
	if err := s.validate(ctx, ix, f); err != nil {
		return atlaas.FicheSearchResult{}, err
	}
	build, err := filterQuery(ix, f)
	if err != nil {
		return atlaas.FicheSearchResult{}, err
	}

	limit := f.Limit
	if limit <= 0 {
		limit = atlaas.DefaultSearchLimit
	}
	req := bleve.NewSearchRequestOptions(build(""), limit+1, 0, false)
	req.Fields = storedFields
	order, err := sortOrder(f)
	if err != nil {
		return atlaas.FicheSearchResult{}, err
	}
	req.SortByCustom(order)
	key := cursorKey(f)
	if f.Cursor != "" {
		after, err := decodeCursor(f.Cursor, key)
		if err != nil {
			return atlaas.FicheSearchResult{}, err
		}
		req.SearchAfter = after
	}
	if strings.TrimSpace(f.Q) != "" {
		req.Highlight = bleve.NewHighlightWithStyle(html.Name)
		req.Highlight.Fields = highlightFields
	}
	table := ix.facets.Load()
	if table == nil {
		for _, facet := range atlaas.Facets {
			if len(f.Filters[facet]) == 0 {
				req.AddFacet(facet, bleve.NewFacetRequest(facet, facetSize[facet]))
			}
		}
	}
	// The page, and meanwhile (with a facet table) the fiches matching the text and geography,
	// whose facets the table counts.
	var (
		matchErr error
		counts   map[string]map[string]int
		wg       sync.WaitGroup
	)
	if table != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var match *roaring.Bitmap
			if match, matchErr = matchBits(ctx, ix, f); matchErr == nil {
				counts, _ = table.counts(f, match)
			}
		}()
	}
	res, err := ix.bleve.SearchInContext(ctx, req)
	wg.Wait()
	if err == nil {
		err = matchErr
	}
	if err != nil {
		return atlaas.FicheSearchResult{}, fmt.Errorf("search: %w", err)
	}

	out := atlaas.FicheSearchResult{Total: int(res.Total), Items: []atlaas.FicheHit{}, Facets: map[string][]atlaas.FacetValue{}}
	for i, h := range res.Hits {
		if i == limit {
			out.NextCursor = encodeCursor(sortValues(res.Hits[limit-1]), key)
			break
		}
		out.Items = append(out.Items, hit(h, f))
	}
	if table == nil {
		counts = map[string]map[string]int{}
		for name, fr := range res.Facets {
			counts[name] = termCounts(fr)
		}
		for _, facet := range atlaas.Facets {
			if len(f.Filters[facet]) == 0 {
				continue
			}
			c, err := s.facetCounts(ctx, ix, f, facet, build(facet))
			if err != nil {
				return atlaas.FicheSearchResult{}, err
			}
			counts[facet] = c
		}
	}
	for _, facet := range atlaas.Facets {
		out.Facets[facet] = s.facetValues(ctx, facet, counts[facet], f.Filters[facet])
	}
	return out, nil
}

// filterQuery returns the query of a filter: its text, facets and geography; build(facet)
// leaves that facet's own filter out, build("") keeps them all.
func filterQuery(ix *index, f atlaas.FicheFilter) (build func(without string) query.Query, err error) {
	text, err := textQuery(ix.bleve, f.Q)
	if err != nil {
		return nil, err
	}
	return func(without string) query.Query {
		parts := []query.Query{text}
		for _, facet := range atlaas.Facets {
			if facet != without {
				if q := facetFilter(f, facet); q != nil {
					parts = append(parts, q)
				}
			}
		}
		if q := geoFilter(f); q != nil {
			parts = append(parts, q)
		}
		return bleve.NewConjunctionQuery(parts...)
	}, nil
}

// MatchingIDs returns the ids of every fiche matching f (text, facets and geography; its sort,
// limit and cursor are ignored), ascending. The database paths (tiles, exports, OGC items) use
// it to resolve a text search, then apply the same filters in SQL.
func (s *Service) MatchingIDs(ctx context.Context, f atlaas.FicheFilter) ([]int64, error) {
	f.Limit, f.Cursor = 0, ""
	var ids []int64
	err := s.withIndex(func(ix *index) error {
		if err := s.validate(ctx, ix, f); err != nil {
			return err
		}
		build, err := filterQuery(ix, f)
		if err != nil {
			return err
		}
		q := build("")
		count, err := ix.bleve.SearchInContext(ctx, bleve.NewSearchRequestOptions(q, 0, 0, false))
		if err != nil {
			return fmt.Errorf("matching ids: %w", err)
		}
		req := bleve.NewSearchRequestOptions(q, int(count.Total), 0, false)
		req.Score = "none"
		res, err := ix.bleve.SearchInContext(ctx, req)
		if err != nil {
			return fmt.Errorf("matching ids: %w", err)
		}
		ids = make([]int64, 0, len(res.Hits))
		for _, h := range res.Hits {
			id, err := strconv.ParseInt(h.ID, 10, 64)
			if err != nil {
				return fmt.Errorf("matching ids: document id %q: %w", h.ID, err)
			}
			ids = append(ids, id)
		}
		return nil
	})
	slices.Sort(ids)
	return ids, err
}

// matchBits returns the fiches matching f's text and geography, nil when it has neither (every
// fiche matches).
func matchBits(ctx context.Context, ix *index, f atlaas.FicheFilter) (*roaring.Bitmap, error) {
	geo := geoFilter(f)
	if strings.TrimSpace(f.Q) == "" && geo == nil {
		return nil, nil
	}
	q, err := textQuery(ix.bleve, f.Q)
	if err != nil {
		return nil, err
	}
	if geo != nil {
		q = bleve.NewConjunctionQuery(q, geo)
	}
	n, err := ix.bleve.DocCount()
	if err != nil {
		return nil, err
	}
	req := bleve.NewSearchRequestOptions(q, int(n), 0, false)
	req.Score = "none"
	res, err := ix.bleve.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	bm := roaring.New()
	for _, h := range res.Hits {
		id, err := strconv.ParseUint(h.ID, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("document id %q: %w", h.ID, err)
		}
		bm.Add(uint32(id))
	}
	return bm, nil
}

func termCounts(fr *search.FacetResult) map[string]int {
	out := map[string]int{}
	if fr == nil || fr.Terms == nil {
		return out
	}
	for _, t := range fr.Terms.Terms() {
		out[t.Term] = t.Count
	}
	return out
}

// facetCounts counts a filtered facet's values under every other filter. The @ level, once
// éditions are chosen, counts the level at those éditions.
func (s *Service) facetCounts(ctx context.Context, ix *index, f atlaas.FicheFilter, facet string, q query.Query) (map[string]int, error) {
	years := f.Filters[atlaas.FacetAnnee]
	if facet == atlaas.FacetArobases && len(years) > 0 {
		out := map[string]int{}
		for level := 1; level <= 5; level++ {
			l := strconv.Itoa(level)
			req := bleve.NewSearchRequestOptions(bleve.NewConjunctionQuery(q, levelAt(years, []string{l})), 0, 0, false)
			res, err := ix.bleve.SearchInContext(ctx, req)
			if err != nil {
				return nil, err
			}
			if res.Total > 0 {
				out[l] = int(res.Total)
			}
		}
		return out, nil
	}
	req := bleve.NewSearchRequestOptions(q, 0, 0, false)
	req.AddFacet(facet, bleve.NewFacetRequest(facet, facetSize[facet]))
	res, err := ix.bleve.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	return termCounts(res.Facets[facet]), nil
}

// facetValues orders a facet's counts (selected values first, then by count) with their labels.
func (s *Service) facetValues(ctx context.Context, facet string, counts map[string]int, selected []string) []atlaas.FacetValue {
	values := make([]atlaas.FacetValue, 0, len(counts)+len(selected))
	seen := map[string]bool{}
	for _, v := range selected {
		seen[v] = true
		values = append(values, atlaas.FacetValue{Value: v, Count: counts[v], Selected: true})
	}
	for v, n := range counts {
		if !seen[v] {
			values = append(values, atlaas.FacetValue{Value: v, Count: n})
		}
	}
	slices.SortStableFunc(values, func(a, b atlaas.FacetValue) int {
		switch {
		case a.Selected != b.Selected:
			if a.Selected {
				return -1
			}
			return 1
		case a.Count != b.Count:
			return b.Count - a.Count
		}
		return strings.Compare(a.Value, b.Value)
	})
	labels := s.facetLabels(ctx, facet, values)
	for i := range values {
		values[i].Label = labels[values[i].Value]
		if values[i].Label == "" {
			values[i].Label = values[i].Value
		}
	}
	return values
}

// facetFilter is the filter of one facet: any of its selected values.
func facetFilter(f atlaas.FicheFilter, facet string) query.Query {
	values := f.Filters[facet]
	if len(values) == 0 {
		return nil
	}
	if facet == atlaas.FacetArobases && len(f.Filters[atlaas.FacetAnnee]) > 0 {
		return levelAt(f.Filters[atlaas.FacetAnnee], values)
	}
	return anyTerm(facet, values)
}

// levelAt matches fiches whose collectivité had one of the levels at one of the éditions.
func levelAt(years, levels []string) query.Query {
	var pairs []string
	for _, y := range years {
		for _, l := range levels {
			pairs = append(pairs, y+":"+l)
		}
	}
	return anyTerm(fieldArobasesAnnee, pairs)
}

func anyTerm(field string, values []string) query.Query {
	qs := make([]query.Query, 0, len(values))
	for _, v := range values {
		t := bleve.NewTermQuery(v)
		t.SetField(field)
		qs = append(qs, t)
	}
	return bleve.NewDisjunctionQuery(qs...)
}

func geoFilter(f atlaas.FicheFilter) query.Query {
	var parts []query.Query
	if b := f.BBox; b != nil {
		q := bleve.NewGeoBoundingBoxQuery(b.Min.Lon(), b.Max.Lat(), b.Max.Lon(), b.Min.Lat())
		q.SetField(fieldGeo)
		parts = append(parts, q)
	}
	if p := f.Near; p != nil {
		q := bleve.NewGeoDistanceQuery(p.Lon(), p.Lat(), strconv.FormatFloat(f.Km, 'f', -1, 64)+"km")
		q.SetField(fieldGeo)
		parts = append(parts, q)
	}
	if len(parts) == 0 {
		return nil
	}
	return bleve.NewConjunctionQuery(parts...)
}

// textQuery turns the user's text into a query: quoted phrases must appear as such; every other
// word must match one of the text fields, exactly (after French analysis), with one typo when
// it has five letters or more, or, for the last word as it is being typed, as a prefix.
func textQuery(b bleve.Index, q string) (query.Query, error) {
	q = strings.TrimSpace(q)
	if q == "" {
		return bleve.NewMatchAllQuery(), nil
	}
	var parts []query.Query
	phrases, rest := splitPhrases(q)
	for _, p := range phrases {
		var alts []query.Query
		for _, f := range textFields {
			m := bleve.NewMatchPhraseQuery(p)
			m.SetField(f.name)
			m.SetBoost(f.boost)
			alts = append(alts, m)
		}
		parts = append(parts, bleve.NewDisjunctionQuery(alts...))
	}
	words := b.Mapping().AnalyzerNamed(analyzerWords)
	french := b.Mapping().AnalyzerNamed(analyzerFrench)
	if words == nil || french == nil {
		return nil, fmt.Errorf("search: analyzers missing from the index mapping")
	}
	tokens := words.Analyze([]byte(rest))
	typing := !strings.HasSuffix(q, " ") && !strings.HasSuffix(q, `"`)
	for i, t := range tokens {
		word := string(t.Term)
		last := typing && i == len(tokens)-1
		stem := stemOf(french, rest[t.Start:t.End])
		var alts []query.Query
		if stem != "" {
			long := utf8.RuneCountInString(word) >= 5
			for _, f := range textFields {
				tq := bleve.NewTermQuery(stem)
				tq.SetField(f.name)
				tq.SetBoost(f.boost)
				alts = append(alts, tq)
				if long {
					fq := bleve.NewFuzzyQuery(stem)
					fq.SetFuzziness(1)
					fq.SetField(f.name)
					fq.SetBoost(f.boost * 0.4)
					alts = append(alts, fq)
				}
			}
		}
		if stem != "" {
			// The word itself in the title, before stemming, ranks first: stemming makes
			// "conseiller" and "conseil", "médiateur" and "médiation" one term, and the
			// fiches about a conseiller numérique should come before those about a conseil.
			// As a prefix, so that plurals of the word count too.
			wq := bleve.NewPrefixQuery(word)
			wq.SetField(fieldTitreMots)
			wq.SetBoost(2)
			alts = append(alts, wq)
		}
		if last && utf8.RuneCountInString(word) >= 2 {
			pq := bleve.NewPrefixQuery(word)
			pq.SetField(fieldTitreMots)
			pq.SetBoost(1)
			alts = append(alts, pq)
		}
		if len(alts) == 0 {
			continue // a stop word
		}
		parts = append(parts, bleve.NewDisjunctionQuery(alts...))
	}
	if len(parts) == 0 {
		return bleve.NewMatchAllQuery(), nil
	}
	return bleve.NewConjunctionQuery(parts...), nil
}

// stemOf analyses one word as the text fields are: "" for a stop word.
func stemOf(a analysis.Analyzer, word string) string {
	ts := a.Analyze([]byte(word))
	if len(ts) == 0 {
		return ""
	}
	return string(ts[0].Term)
}

// splitPhrases takes the "quoted phrases" out of q.
func splitPhrases(q string) (phrases []string, rest string) {
	var b strings.Builder
	for {
		i := strings.IndexByte(q, '"')
		if i < 0 {
			b.WriteString(q)
			break
		}
		j := strings.IndexByte(q[i+1:], '"')
		if j < 0 {
			b.WriteString(q[:i] + " " + q[i+1:]) // an unclosed quote: plain words
			break
		}
		b.WriteString(q[:i] + " ")
		if p := strings.TrimSpace(q[i+1 : i+1+j]); p != "" {
			phrases = append(phrases, p)
		}
		q = q[i+2+j:]
	}
	return phrases, b.String()
}

// sortOrder is the order of a search; the document id breaks ties so that pages are stable.
func sortOrder(f atlaas.FicheFilter) (search.SortOrder, error) {
	id := &search.SortDocID{}
	switch f.Sort {
	case "", atlaas.SortRelevance:
		return search.SortOrder{&search.SortScore{Desc: true}, id}, nil
	case atlaas.SortRecent:
		return search.SortOrder{&search.SortField{Field: fieldUpdated, Desc: true, Type: search.SortFieldAsDate, Missing: search.SortFieldMissingLast}, id}, nil
	case atlaas.SortDistance:
		if f.Near == nil {
			return nil, atlaas.ParamErrorf(atlaas.EINVALID, "sort", "Le tri par distance demande le paramètre near=lon,lat.")
		}
		d, err := search.NewSortGeoDistance(fieldGeo, "km", f.Near.Lon(), f.Near.Lat(), false)
		if err != nil {
			return nil, err
		}
		return search.SortOrder{d, id}, nil
	}
	return nil, atlaas.ParamErrorf(atlaas.EINVALID, "sort", "Tri inconnu %q : pertinence, recent ou distance.", f.Sort)
}

// cursor is the opaque position after a page: the sort values of its last hit, and a digest of
// the search it belongs to, so that it cannot be replayed on another search.
type cursor struct {
	After []string `json:"a"`
	Key   string   `json:"k"`
}

func cursorKey(f atlaas.FicheFilter) string {
	h := sha256.New()
	fmt.Fprintf(h, "%q|%s|%v|%v|%v|", f.Q, f.Sort, f.BBox, f.Near, f.Km)
	for _, facet := range atlaas.Facets {
		fmt.Fprintf(h, "%s=%q|", facet, f.Filters[facet])
	}
	return base64.RawURLEncoding.EncodeToString(h.Sum(nil)[:9])
}

// sortValues are a hit's sort values as search_after takes them back: decoded, with the score
// itself in place of Bleve's "_score" placeholder.
func sortValues(h *search.DocumentMatch) []string {
	out := slices.Clone(h.DecodedSort)
	if len(out) == 0 {
		out = slices.Clone(h.Sort)
	}
	for i, v := range out {
		if v == "_score" {
			out[i] = strconv.FormatFloat(h.Score, 'g', -1, 64)
		}
	}
	return out
}

func encodeCursor(after []string, key string) string {
	b, _ := json.Marshal(cursor{After: after, Key: key}) //nolint:errcheck // strings always marshal
	return base64.RawURLEncoding.EncodeToString(b)
}

func decodeCursor(s, key string) ([]string, error) {
	bad := atlaas.ParamErrorf(atlaas.EINVALID, "cursor", "Curseur invalide : reprenez la valeur next_cursor d'une réponse à la même recherche.")
	b, err := base64.RawURLEncoding.DecodeString(s)
	if err != nil {
		return nil, bad
	}
	var c cursor
	if err := json.Unmarshal(b, &c); err != nil || c.Key != key || len(c.After) != 2 {
		return nil, bad
	}
	return c.After, nil
}

// hit maps a Bleve hit to the domain.
func hit(h *search.DocumentMatch, f atlaas.FicheFilter) atlaas.FicheHit {
	id, _ := strconv.ParseInt(h.ID, 10, 64) //nolint:errcheck // ids are ours, always numbers
	out := atlaas.FicheHit{
		ID:              id,
		Titre:           str(h.Fields[fieldTitre]),
		SousTitre:       str(h.Fields[fieldSousTitre]),
		Collectivite:    str(h.Fields[atlaas.FacetCollectivite]),
		CollectiviteNom: str(h.Fields[fieldCollectiviteNom]),
		Services:        strs(h.Fields[atlaas.FacetService]),
		Enjeux:          strs(h.Fields[atlaas.FacetEnjeu]),
		Statut:          str(h.Fields[atlaas.FacetStatut]),
		Source:          str(h.Fields[fieldSource]),
		Score:           h.Score,
	}
	for _, y := range strs(h.Fields[atlaas.FacetAnnee]) {
		if n, err := strconv.Atoi(y); err == nil {
			out.Annees = append(out.Annees, n)
		}
	}
	slices.Sort(out.Annees)
	lon, okLon := h.Fields[fieldLon].(float64)
	lat, okLat := h.Fields[fieldLat].(float64)
	if okLon && okLat {
		p := orb.Point{lon, lat}
		out.Point = &p
		if f.Near != nil {
			d := math.Round(geo.Distance(*f.Near, p)/10) / 100
			out.DistanceKm = &d
		}
	}
	if len(h.Fragments) > 0 {
		out.Highlights = map[string][]string(h.Fragments)
	}
	return out
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// strs reads a stored field that holds one value or several.
func strs(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		out := make([]string, 0, len(x))
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return []string{}
}
