// Package search is the full-text index of the fiches: a Bleve index on disk, derived from
// PostGIS and rebuilt from it at will, with French analysis, facets, geography and paging. It is
// the only package that imports bleve.
package search

import (
	"slices"

	"github.com/blevesearch/bleve/v2"
	"github.com/blevesearch/bleve/v2/analysis"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/custom"
	"github.com/blevesearch/bleve/v2/analysis/analyzer/keyword"
	"github.com/blevesearch/bleve/v2/analysis/char/asciifolding"
	"github.com/blevesearch/bleve/v2/analysis/lang/fr"
	"github.com/blevesearch/bleve/v2/analysis/token/lowercase"
	"github.com/blevesearch/bleve/v2/analysis/tokenizer/unicode"
	"github.com/blevesearch/bleve/v2/mapping"
	"github.com/blevesearch/bleve/v2/registry"

	"atlaas/internal/atlaas"
)

const (
	// analyzerFrench: lowercase, elision (l'école → école), French stop words, accents folded,
	// light French stemming. Folding comes before stemming so that a word typed with or without
	// its accents gives the same stem.
	analyzerFrench = "atlaas_fr"
	// analyzerWords: lowercase and accents folded, no stemming: for prefixes as you type.
	analyzerWords = "atlaas_words"
	foldFilter    = "atlaas_fold"
)

// fold is a token filter folding each token to ASCII. Bleve ships ASCII folding only as a char
// filter, which shifts byte offsets and so breaks highlighting; folding tokens keeps them.
type fold struct {
	folder *asciifolding.AsciiFoldingFilter
}

func (f fold) Filter(input analysis.TokenStream) analysis.TokenStream {
	for _, t := range input {
		t.Term = f.folder.Filter(t.Term)
	}
	return input
}

func init() {
	err := registry.RegisterTokenFilter(foldFilter, func(map[string]any, *registry.Cache) (analysis.TokenFilter, error) {
		return fold{asciifolding.New()}, nil
	})
	if err != nil {
		// Bleve's registry is global and filled at init, as Bleve's own filters are: a clash of
		// names is a programming error every test would show.
		panic(err)
	}
}

// facetFields are the keyword fields of the facets; each is named after its facet.
func facetFields() []string { return atlaas.Facets }

// Document fields. Text fields are analysed in French; the others are exact keywords.
const (
	fieldTitre           = "titre"
	fieldTitreMots       = "titre_mots"
	fieldNomMots         = "collectivite_mots"
	fieldSousTitre       = "sous_titre"
	fieldSynthese        = "synthese"
	fieldActions         = "actions"
	fieldResultats       = "resultats"
	fieldCollectiviteNom = "collectivite_nom"
	fieldArobasesAnnee   = "arobases_annee" // "2022:5": the @ level at an édition
	fieldSource          = "source"
	fieldGeo             = "geo"
	fieldUpdated         = "updated"
	fieldDateDebut       = "date_debut"
	fieldLon             = "lon" // stored only, to place hits without a database round trip
	fieldLat             = "lat"
)

// textFields and their weight in relevance: the title counts most.
var textFields = []struct {
	name  string
	boost float64
}{
	{fieldTitre, 3},
	{fieldSousTitre, 1.5},
	{fieldCollectiviteNom, 1.5},
	{fieldSynthese, 1},
	{fieldActions, 0.7},
	{fieldResultats, 0.5},
}

// newMapping returns the index mapping of fiche documents.
func newMapping() (mapping.IndexMapping, error) {
	im := bleve.NewIndexMapping()
	err := im.AddCustomAnalyzer(analyzerFrench, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, fr.ElisionName, fr.StopName, foldFilter, fr.SnowballStemmerName},
	})
	if err != nil {
		return nil, err
	}
	err = im.AddCustomAnalyzer(analyzerWords, map[string]any{
		"type":          custom.Name,
		"tokenizer":     unicode.Name,
		"token_filters": []any{lowercase.Name, fr.ElisionName, foldFilter},
	})
	if err != nil {
		return nil, err
	}

	doc := bleve.NewDocumentMapping()
	text := func(analyzer string) *mapping.FieldMapping {
		f := bleve.NewTextFieldMapping()
		f.Analyzer = analyzer
		f.Store = true
		f.IncludeTermVectors = true
		return f
	}
	for _, f := range textFields {
		m := text(analyzerFrench)
		if !slices.Contains(highlightFields, f.name) {
			// Searched, never shown nor highlighted: no stored copy, no term vectors.
			m.Store, m.IncludeTermVectors = false, false
		}
		doc.AddFieldMappingsAt(f.name, m)
	}
	words := text(analyzerWords)
	words.Store = false
	doc.AddFieldMappingsAt(fieldTitreMots, words)
	doc.AddFieldMappingsAt(fieldNomMots, words)

	kw := bleve.NewKeywordFieldMapping()
	kw.Analyzer = keyword.Name
	kw.Store = true
	kw.IncludeTermVectors = false
	kw.DocValues = true
	for _, f := range append(facetFields(), fieldArobasesAnnee, fieldSource) {
		doc.AddFieldMappingsAt(f, kw)
	}
	geo := bleve.NewGeoPointFieldMapping()
	geo.Store = true
	doc.AddFieldMappingsAt(fieldGeo, geo)
	for _, f := range []string{fieldLon, fieldLat} {
		n := bleve.NewNumericFieldMapping()
		n.Index = false
		n.Store = true
		n.DocValues = false
		doc.AddFieldMappingsAt(f, n)
	}
	for _, f := range []string{fieldUpdated, fieldDateDebut} {
		dt := bleve.NewDateTimeFieldMapping()
		dt.Store = true
		doc.AddFieldMappingsAt(f, dt)
	}
	im.DefaultMapping = doc
	im.DefaultAnalyzer = analyzerFrench
	im.StoreDynamic = false
	im.IndexDynamic = false
	im.DocValuesDynamic = false
	return im, nil
}
