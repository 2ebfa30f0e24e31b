package search

import (
	"context"
	"slices"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/search/query"

	"atlaas/internal/atlaas"
)

// MaxConnexes bounds the "actions connexes" of a fiche.
const MaxConnexes = 10

// Connexes returns fiches related to d: sharing its services (most), its enjeux, the salient
// words of its title and summary, and nearby ones; those of other collectivités first, never d
// itself.
func (s *Service) Connexes(ctx context.Context, d atlaas.FicheDocument) ([]atlaas.FicheHit, error) {
	var out []atlaas.FicheHit
	err := s.withIndex(func(ix *index) error {
		var err error
		out, err = connexes(ctx, ix, d)
		return err
	})
	return out, err
}

func connexes(ctx context.Context, ix *index, d atlaas.FicheDocument) ([]atlaas.FicheHit, error) {
	should := []query.Query{}
	add := func(field, term string, boost float64) {
		t := bleve.NewTermQuery(term)
		t.SetField(field)
		t.SetBoost(boost)
		should = append(should, t)
	}
	for _, sv := range d.Services {
		add(atlaas.FacetService, sv, 4)
	}
	for _, e := range d.Enjeux {
		add(atlaas.FacetEnjeu, e, 1)
	}
	french := ix.bleve.Mapping().AnalyzerNamed(analyzerFrench)
	seen := map[string]bool{}
	for _, text := range []string{d.Titre, d.SousTitre, d.Synthese} {
		for _, t := range tokenTerms(french.Analyze([]byte(text))) {
			if len(t) < 4 || seen[t] || len(seen) >= 25 {
				continue
			}
			seen[t] = true
			add(fieldTitre, t, 1.5)
			add(fieldSynthese, t, 0.8)
		}
	}
	if d.Point != nil {
		g := bleve.NewGeoDistanceQuery(d.Point.Lon(), d.Point.Lat(), "30km")
		g.SetField(fieldGeo)
		g.SetBoost(2)
		should = append(should, g)
	}
	q := bleve.NewBooleanQuery()
	q.AddShould(should...)
	q.SetMinShould(1)
	q.AddMustNot(bleve.NewDocIDQuery([]string{docID(d.ID)}))
	req := bleve.NewSearchRequestOptions(q, 4*MaxConnexes, 0, false)
	req.Fields = storedFields
	res, err := ix.bleve.SearchInContext(ctx, req)
	if err != nil {
		return nil, err
	}
	hits := make([]atlaas.FicheHit, 0, len(res.Hits))
	for _, h := range res.Hits {
		hits = append(hits, hit(h, atlaas.FicheFilter{}))
	}
	// Peers' ideas first: the fiches of the same collectivité come after the others.
	slices.SortStableFunc(hits, func(a, b atlaas.FicheHit) int {
		ao, bo := a.Collectivite == d.Collectivite, b.Collectivite == d.Collectivite
		switch {
		case ao == bo:
			return 0
		case bo:
			return -1
		}
		return 1
	})
	return hits[:min(len(hits), MaxConnexes)], nil
}
