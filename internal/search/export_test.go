package search

// DisableFacetTable makes the service count facets in the index, as it does when fiche ids do
// not fit the in-memory table, so that tests can compare both ways.
func DisableFacetTable(s *Service) {
	if ix := s.cur.Load(); ix != nil {
		ix.facets.Store(nil)
	}
}

// SetMappingVersion marks the current index of dir as made by another mapping version.
func SetMappingVersion(dir string, v int64) error {
	name, err := currentName(dir)
	if err != nil {
		return err
	}
	ix, err := openIndex(dir, name)
	if err != nil {
		return err
	}
	if err := ix.bleve.SetInternal(keyMapping, putInt(v)); err != nil {
		ix.bleve.Close()
		return err
	}
	return ix.bleve.Close()
}

// CurrentIndex names the current index of dir.
func CurrentIndex(dir string) (string, error) { return currentName(dir) }
