package search

import (
	"context"
	"slices"
	"strings"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/search/query"

	"atlaas/internal/atlaas"
)

// MaxSuggestions bounds the suggestions of the search box.
const MaxSuggestions = 10

// Suggest completes what is being typed in the search box: collectivités that have fiches,
// services of the référentiel and fiche titles, matched word by word, accents ignored, the last
// word as a prefix.
func (s *Service) Suggest(ctx context.Context, q string) ([]atlaas.Suggestion, error) {
	var out []atlaas.Suggestion
	err := s.withIndex(func(ix *index) error {
		var err error
		out, err = s.suggest(ctx, ix, q)
		return err
	})
	return out, err
}

func (s *Service) suggest(ctx context.Context, ix *index, q string) ([]atlaas.Suggestion, error) {
	words := ix.bleve.Mapping().AnalyzerNamed(analyzerWords)
	terms := tokenTerms(words.Analyze([]byte(q)))
	out := []atlaas.Suggestion{}
	if len(terms) == 0 {
		return out, nil
	}
	prefixQuery := func(field string) query.Query {
		parts := make([]query.Query, 0, len(terms))
		for i, t := range terms {
			var p query.FieldableQuery
			if i == len(terms)-1 {
				p = bleve.NewPrefixQuery(t)
			} else {
				p = bleve.NewTermQuery(t)
			}
			p.SetField(field)
			parts = append(parts, p)
		}
		return bleve.NewConjunctionQuery(parts...)
	}

	// Collectivités, by their number of fiches.
	req := bleve.NewSearchRequestOptions(prefixQuery(fieldNomMots), 0, 0, false)
	req.AddFacet("c", bleve.NewFacetRequest(atlaas.FacetCollectivite, 4))
	res, err := ix.bleve.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	var codes []string
	if fr := res.Facets["c"]; fr != nil && fr.Terms != nil {
		for _, t := range fr.Terms.Terms() {
			codes = append(codes, t.Term)
		}
	}
	names, err := s.collectiviteNames(ctx, codes)
	if err != nil {
		return nil, err
	}
	for _, c := range codes {
		out = append(out, atlaas.Suggestion{Kind: "collectivite", Value: c, Label: names[c]})
	}

	// Services, from the référentiel's labels.
	s.labelsMu.RLock()
	services := s.labels[atlaas.FacetService]
	s.labelsMu.RUnlock()
	var matched []atlaas.Suggestion
	for code, label := range services {
		if wordsMatch(tokenTerms(words.Analyze([]byte(label))), terms) {
			matched = append(matched, atlaas.Suggestion{Kind: "service", Value: code, Label: label})
		}
	}
	slices.SortFunc(matched, func(a, b atlaas.Suggestion) int { return strings.Compare(a.Label, b.Label) })
	out = append(out, matched[:min(3, len(matched))]...)

	// Fiche titles, best first, each title once.
	req = bleve.NewSearchRequestOptions(prefixQuery(fieldTitreMots), 20, 0, false)
	req.Fields = []string{fieldTitre}
	res, err = ix.bleve.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	for _, h := range res.Hits {
		t := str(h.Fields[fieldTitre])
		if t == "" || seen[t] || len(out) >= MaxSuggestions {
			continue
		}
		seen[t] = true
		out = append(out, atlaas.Suggestion{Kind: "fiche", Value: h.ID, Label: t})
	}
	return out[:min(len(out), MaxSuggestions)], nil
}

func tokenTerms(ts analysis.TokenStream) []string {
	out := make([]string, 0, len(ts))
	for _, t := range ts {
		out = append(out, string(t.Term))
	}
	return out
}

// wordsMatch reports whether every typed word is a word of the label, the last one as a prefix.
func wordsMatch(label, typed []string) bool {
	for i, t := range typed {
		found := false
		for _, w := range label {
			if w == t || (i == len(typed)-1 && strings.HasPrefix(w, t)) {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
