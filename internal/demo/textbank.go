package demo

import (
	"bytes"
	"embed"
	"encoding/json"
	"fmt"
	"maps"
)

// The phrase banks the fiches are written from: per service numérique, titles, subtitles,
// summaries, actions, results and tools; and common lists (audiences, partners, advice…).
//
//go:embed textbank_a.json textbank_b.json
var textFS embed.FS

type serviceText struct {
	Titres     []string `json:"titres"`
	SousTitres []string `json:"sous_titres"`
	Syntheses  []string `json:"syntheses"`
	Actions    []string `json:"actions"`
	Resultats  []string `json:"resultats"`
	Outils     []string `json:"outils"`
}

type commonText struct {
	Publics         []string `json:"publics"`
	Partenaires     []string `json:"partenaires"`
	Prestataires    []string `json:"prestataires"`
	Recommandations []string `json:"recommandations"`
	Qualificatifs   []string `json:"qualificatifs"`
	Lieux           []string `json:"lieux"`
}

type textBank struct {
	Services map[string]serviceText `json:"services"`
	Commun   *commonText            `json:"commun,omitempty"`
}

// loadTextBank merges the embedded banks; exactly one of them holds the common lists.
func loadTextBank() (textBank, error) {
	bank := textBank{Services: map[string]serviceText{}}
	for _, name := range []string{"textbank_a.json", "textbank_b.json"} {
		b, err := textFS.ReadFile(name)
		if err != nil {
			return bank, err
		}
		var part textBank
		dec := json.NewDecoder(bytes.NewReader(b))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&part); err != nil {
			return bank, fmt.Errorf("demo: %s: %w", name, err)
		}
		for code := range part.Services {
			if _, dup := bank.Services[code]; dup {
				return bank, fmt.Errorf("demo: %s: service %s is in two banks", name, code)
			}
		}
		maps.Copy(bank.Services, part.Services)
		if part.Commun != nil {
			bank.Commun = part.Commun
		}
	}
	if bank.Commun == nil {
		return bank, fmt.Errorf("demo: no common phrase bank")
	}
	return bank, nil
}
