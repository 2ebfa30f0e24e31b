// Package reference assembles the real data Atlaas ships with — French geography, the label's
// référentiel and its published facts, all embedded in package geodata — into domain values.
package reference

import (
	"encoding/json"
	"fmt"

	"github.com/paulmach/orb"

	"atlaas/geodata"
	"atlaas/internal/atlaas"
)

// Load returns the reference data. villageThreshold is the population under which a commune is
// a village.
func Load(villageThreshold int) (atlaas.Reference, error) {
	var ref atlaas.Reference
	var err error
	if ref.Regions, err = regions(); err != nil {
		return ref, err
	}
	if ref.Departements, err = departements(); err != nil {
		return ref, err
	}
	if ref.Collectivites, err = collectivites(villageThreshold); err != nil {
		return ref, err
	}
	if err := label(&ref); err != nil {
		return ref, err
	}
	return ref, nil
}

// geometries indexes the MultiPolygon of each feature of a GeoJSON FeatureCollection by code.
func geometries(fc []byte) (map[string]json.RawMessage, error) {
	var doc struct {
		Features []struct {
			Properties struct {
				Code string `json:"code"`
			} `json:"properties"`
			Geometry json.RawMessage `json:"geometry"`
		} `json:"features"`
	}
	if err := json.Unmarshal(fc, &doc); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(doc.Features))
	for _, f := range doc.Features {
		out[f.Properties.Code] = f.Geometry
	}
	return out, nil
}

func regions() ([]atlaas.Region, error) {
	rs, err := geodata.Regions()
	if err != nil {
		return nil, err
	}
	geoms, err := geometries(geodata.RegionsGeoJSON())
	if err != nil {
		return nil, fmt.Errorf("regions.geojson: %w", err)
	}
	out := make([]atlaas.Region, 0, len(rs))
	for _, r := range rs {
		out = append(out, atlaas.Region{Code: r.Code, Nom: r.Nom, Geometry: geoms[r.Code]})
	}
	return out, nil
}

func departements() ([]atlaas.Departement, error) {
	ds, err := geodata.Departements()
	if err != nil {
		return nil, err
	}
	geoms, err := geometries(geodata.DepartementsGeoJSON())
	if err != nil {
		return nil, fmt.Errorf("departements.geojson: %w", err)
	}
	out := make([]atlaas.Departement, 0, len(ds))
	for _, d := range ds {
		out = append(out, atlaas.Departement{Code: d.Code, Nom: d.Nom, Region: d.Region, Geometry: geoms[d.Code]})
	}
	return out, nil
}

// collectivites returns every EPCI, then every commune. An EPCI lies in the département and
// région of its most populous member.
func collectivites(villageThreshold int) ([]atlaas.Collectivite, error) {
	communes, err := geodata.Communes()
	if err != nil {
		return nil, err
	}
	epcis, err := geodata.EPCIs()
	if err != nil {
		return nil, err
	}
	largest := map[string]geodata.Commune{}
	for _, c := range communes {
		if c.EPCI == "" {
			continue
		}
		if l, ok := largest[c.EPCI]; !ok || c.Population > l.Population {
			largest[c.EPCI] = c
		}
	}
	out := make([]atlaas.Collectivite, 0, len(epcis)+len(communes))
	for _, e := range epcis {
		c := atlaas.Collectivite{
			Code: e.SIREN, Kind: atlaas.KindEPCI, Nom: e.Nom,
			Categorie:  atlaas.CategorieOf(atlaas.KindEPCI, e.Population, villageThreshold),
			Population: e.Population, SIREN: e.SIREN,
			Departement: largest[e.SIREN].Departement, Region: largest[e.SIREN].Region,
			Precision: atlaas.PrecisionNone,
		}
		if e.HasPoint {
			c.Point, c.Precision = &orb.Point{e.Lon, e.Lat}, atlaas.PrecisionDerived
		}
		out = append(out, c)
	}
	for _, m := range communes {
		c := atlaas.Collectivite{
			Code: m.Insee, Kind: atlaas.KindCommune, Nom: m.Nom,
			Categorie:  atlaas.CategorieOf(atlaas.KindCommune, m.Population, villageThreshold),
			Population: m.Population, Departement: m.Departement, Region: m.Region, EPCI: m.EPCI,
			SIREN: m.SIREN, CodesPostaux: m.CodesPostaux, Precision: atlaas.PrecisionNone,
		}
		if m.HasPoint {
			c.Point, c.Precision = &orb.Point{m.Lon, m.Lat}, atlaas.PrecisionGeonames
		}
		out = append(out, c)
	}
	return out, nil
}

// label adds the référentiel, the éditions and the published palmarès and @ levels.
func label(ref *atlaas.Reference) error {
	r, err := geodata.Referentiel()
	if err != nil {
		return err
	}
	l, err := geodata.Label()
	if err != nil {
		return err
	}
	for i, c := range r.Categories {
		ref.Categories = append(ref.Categories, atlaas.Categorie{Code: c.Code, Nom: c.Nom, Ordre: i})
	}
	for i, e := range r.Enjeux {
		ref.Enjeux = append(ref.Enjeux, atlaas.Enjeu{Code: e.Code, Nom: e.Nom, Categorie: e.Categorie,
			Description: e.Description, Hypothese: e.Hypothese, Ordre: i})
	}
	for i, s := range r.Services {
		ref.Services = append(ref.Services, atlaas.Service{Code: s.Code, Nom: s.Nom, Description: s.Description,
			Enjeu: s.Enjeu, Editions: s.Editions, Ordre: i})
	}
	for _, m := range r.Mentions {
		ref.Mentions = append(ref.Mentions, atlaas.Mention{Code: m.Code, Nom: m.Nom, Kind: m.Type})
	}

	known := make(map[string]bool, len(ref.Collectivites))
	for _, c := range ref.Collectivites {
		known[c.Code] = true
	}
	for _, e := range l.Editions {
		chiffres, err := json.Marshal(e.Chiffres)
		if err != nil {
			return err
		}
		sources, err := json.Marshal(e.Sources)
		if err != nil {
			return err
		}
		ed := atlaas.Edition{Annee: e.Annee, Numero: e.Numero, CeremonieMois: e.Mois, Lieu: e.Lieu,
			Chiffres: chiffres, Sources: sources}
		if d, ok := e.CeremonyDate(); ok {
			ed.CeremonieDate = d
		}
		ref.Editions = append(ref.Editions, ed)
		for _, p := range e.Palmares {
			code := p.Collectivite.Code
			if !known[code] {
				code = "" // kept by its published name only
			}
			ref.Palmares = append(ref.Palmares, atlaas.PalmaresEntry{Annee: e.Annee, Mention: p.Distinction,
				Collectivite: code, NomPublie: p.Collectivite.Nom, Source: atlaas.SourcePublie})
		}
		for _, a := range e.Arobases {
			if !known[a.Collectivite.Code] {
				return fmt.Errorf("label.json: %d: published @ level of unknown collectivité %q", e.Annee, a.Collectivite.Nom)
			}
			ref.Participations = append(ref.Participations, atlaas.Participation{
				Collectivite: a.Collectivite.Code, Annee: e.Annee, Arobases: a.Arobases,
				Nouveau: a.Nouveau != nil && *a.Nouveau, Source: atlaas.SourcePublie})
		}
	}
	return nil
}
