package search

import (
	"strconv"
	"time"

	"atlaas/internal/atlaas"
)

// document turns a fiche into the map Bleve indexes.
func document(d atlaas.FicheDocument) map[string]any {
	doc := map[string]any{
		fieldTitre:           d.Titre,
		fieldTitreMots:       d.Titre,
		fieldSousTitre:       d.SousTitre,
		fieldSynthese:        d.Synthese,
		fieldActions:         d.Actions,
		fieldResultats:       d.Resultats,
		fieldCollectiviteNom: d.CollectiviteNom,
		fieldNomMots:         d.CollectiviteNom,
		fieldSource:          d.Source,
		fieldUpdated:         d.UpdatedAt.UTC().Format(time.RFC3339),
	}
	for field, values := range facetValuesOf(d) {
		doc[field] = values
	}
	if d.Point != nil {
		doc[fieldGeo] = []float64{d.Point.Lon(), d.Point.Lat()}
		doc[fieldLon], doc[fieldLat] = d.Point.Lon(), d.Point.Lat()
	}
	if !d.DateDebut.IsZero() {
		doc[fieldDateDebut] = d.DateDebut.UTC().Format(time.RFC3339)
	}
	return doc
}

func docID(id int64) string { return strconv.FormatInt(id, 10) }
