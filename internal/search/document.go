package search

import (
	"strconv"
	"time"

	"atlaas/internal/atlaas"
)

// document turns a fiche into the map Bleve indexes.
func document(d atlaas.FicheDocument) map[string]any {
	annees := make([]string, 0, len(d.Annees))
	for _, y := range d.Annees {
		annees = append(annees, strconv.Itoa(y))
	}
	var levels, pairs []string
	seen := map[int]bool{}
	for _, y := range d.Annees {
		level, ok := d.Arobases[y]
		if !ok {
			continue
		}
		pairs = append(pairs, strconv.Itoa(y)+":"+strconv.Itoa(level))
		if !seen[level] {
			seen[level] = true
			levels = append(levels, strconv.Itoa(level))
		}
	}
	doc := map[string]any{
		fieldTitre:               d.Titre,
		fieldTitreMots:           d.Titre,
		fieldSousTitre:           d.SousTitre,
		fieldSynthese:            d.Synthese,
		fieldActions:             d.Actions,
		fieldResultats:           d.Resultats,
		fieldCollectiviteNom:     d.CollectiviteNom,
		fieldNomMots:             d.CollectiviteNom,
		atlaas.FacetEnjeu:        d.Enjeux,
		atlaas.FacetService:      d.Services,
		atlaas.FacetRegion:       d.Region,
		atlaas.FacetDepartement:  d.Departement,
		atlaas.FacetCollectivite: d.Collectivite,
		atlaas.FacetCategorie:    d.Categorie,
		atlaas.FacetPopulation:   atlaas.PopulationBand(d.Population),
		atlaas.FacetArobases:     levels,
		fieldArobasesAnnee:       pairs,
		atlaas.FacetAnnee:        annees,
		atlaas.FacetMention:      d.Mentions,
		atlaas.FacetStatut:       d.Statut,
		fieldSource:              d.Source,
		fieldUpdated:             d.UpdatedAt.UTC().Format(time.RFC3339),
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
