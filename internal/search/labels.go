package search

import (
	"context"
	"regexp"
	"unicode/utf8"

	"atlaas/internal/atlaas"
)

var collectiviteCode = regexp.MustCompile(`^([0-9][0-9AB][0-9]{3}|[0-9]{9})$`)

// validate refuses what no fiche could match because it does not exist: an unknown facet value
// is a mistake to report, not an empty result.
func (s *Service) validate(ctx context.Context, ix *index, f atlaas.FicheFilter) error {
	if utf8.RuneCountInString(f.Q) > atlaas.MaxQueryLength {
		return atlaas.ParamErrorf(atlaas.EINVALID, "q", "La recherche dépasse %d caractères.", atlaas.MaxQueryLength)
	}
	if f.Limit < 0 || f.Limit > atlaas.MaxSearchLimit {
		return atlaas.ParamErrorf(atlaas.EINVALID, "limit", "limit doit être compris entre 1 et %d.", atlaas.MaxSearchLimit)
	}
	s.labelsMu.RLock()
	labels := s.labels
	s.labelsMu.RUnlock()
	for _, facet := range atlaas.Facets {
		values := f.Filters[facet]
		if len(values) == 0 {
			continue
		}
		if facet == atlaas.FacetCollectivite {
			names, err := s.collectiviteNames(ctx, values)
			if err != nil {
				return err
			}
			for _, v := range values {
				if !collectiviteCode.MatchString(v) || names[v] == "" {
					return atlaas.ParamErrorf(atlaas.EINVALID, facet, "Collectivité inconnue : « %s » (code INSEE ou SIREN attendu).", v)
				}
			}
			continue
		}
		for _, v := range values {
			if _, ok := labels[facet][v]; !ok {
				return atlaas.ParamErrorf(atlaas.EINVALID, facet, "Valeur inconnue pour %s : « %s ».", facet, v)
			}
		}
	}
	return nil
}

// Validate checks a filter's text length and facet values the way a search does, without the
// index (which may still be building): the database paths (tiles, exports, OGC items) use it.
// Its limit and cursor are not checked: those paths have their own.
func (s *Service) Validate(ctx context.Context, f atlaas.FicheFilter) error {
	if err := s.loadLabels(ctx); err != nil {
		return err
	}
	f.Limit = 0
	return s.validate(ctx, nil, f)
}

// facetLabels returns the French label of each value of a facet.
func (s *Service) facetLabels(ctx context.Context, facet string, values []atlaas.FacetValue) map[string]string {
	if facet == atlaas.FacetCollectivite {
		codes := make([]string, 0, len(values))
		for _, v := range values {
			codes = append(codes, v.Value)
		}
		names, err := s.collectiviteNames(ctx, codes)
		if err != nil {
			s.logger.Warn("search: collectivité names", "err", err)
		}
		return names
	}
	s.labelsMu.RLock()
	defer s.labelsMu.RUnlock()
	return s.labels[facet]
}

// collectiviteNames returns the names of the collectivités among codes, from a cache filled from
// the source as codes are asked for.
func (s *Service) collectiviteNames(ctx context.Context, codes []string) (map[string]string, error) {
	out := make(map[string]string, len(codes))
	var missing []string
	s.namesMu.RLock()
	for _, c := range codes {
		if n, ok := s.names[c]; ok {
			out[c] = n
		} else {
			missing = append(missing, c)
		}
	}
	s.namesMu.RUnlock()
	if len(missing) == 0 {
		return out, nil
	}
	found, err := s.src.CollectiviteNames(ctx, missing)
	if err != nil {
		return out, err
	}
	s.namesMu.Lock()
	if s.names == nil {
		s.names = map[string]string{}
	}
	for _, c := range missing {
		s.names[c] = found[c] // "" remembers an unknown code too
		out[c] = found[c]
	}
	s.namesMu.Unlock()
	return out, nil
}
