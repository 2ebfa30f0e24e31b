package search

// DisableFacetTable makes the service count facets in the index, as it does when fiche ids do
// not fit the in-memory table, so that tests can compare both ways.
func DisableFacetTable(s *Service) {
	if ix := s.cur.Load(); ix != nil {
		ix.facets.Store(nil)
	}
}
