package main

import (
	"encoding/json"
	"fmt"
	"sort"
)

// region, departement, commune and epci are the rows we keep from @etalab/decoupage-administratif.
type region struct {
	Code string `json:"code"`
	Nom  string `json:"nom"`
}

type departement struct {
	Code   string `json:"code"`
	Nom    string `json:"nom"`
	Region string `json:"region"`
}

type commune struct {
	Code         string   `json:"code"`
	Nom          string   `json:"nom"`
	Type         string   `json:"type"`
	Departement  string   `json:"departement"`
	Region       string   `json:"region"`
	Siren        string   `json:"siren"`
	CodesPostaux []string `json:"codesPostaux"`
	// Population is the population municipale; nil for the few overseas communes the package
	// gives none (the districts of the Terres australes).
	Population *int `json:"population"`
}

type epci struct {
	Siren string `json:"code"`
	Nom   string `json:"nom"`
	Type  string `json:"type"`
	// Population is the DGCL populationMunicipale of the EPCI file.
	Population *int `json:"populationMunicipale"`
	Membres    []struct {
		Code string `json:"code"`
	} `json:"membres"`
}

// admin is the administrative geography, each list sorted by code.
type admin struct {
	Regions      []region
	Departements []departement
	Communes     []commune
	EPCIs        []epci
}

// Entries of the decoupage-administratif tarball we read.
const (
	fileRegions      = "package/data/regions.json"
	fileDepartements = "package/data/departements.json"
	fileCommunes     = "package/data/communes.json"
	fileEPCI         = "package/data/epci.json"
)

// parseAdmin decodes the four JSON files, keeps only current communes and checks that every
// reference (commune → département → région, EPCI member → commune) resolves.
func parseAdmin(files map[string][]byte) (admin, error) {
	var a admin
	if err := json.Unmarshal(files[fileRegions], &a.Regions); err != nil {
		return a, fmt.Errorf("decode %s: %w", fileRegions, err)
	}
	if err := json.Unmarshal(files[fileDepartements], &a.Departements); err != nil {
		return a, fmt.Errorf("decode %s: %w", fileDepartements, err)
	}
	var all []commune
	if err := json.Unmarshal(files[fileCommunes], &all); err != nil {
		return a, fmt.Errorf("decode %s: %w", fileCommunes, err)
	}
	for _, c := range all {
		if c.Type == "commune-actuelle" {
			a.Communes = append(a.Communes, c)
		}
	}
	if err := json.Unmarshal(files[fileEPCI], &a.EPCIs); err != nil {
		return a, fmt.Errorf("decode %s: %w", fileEPCI, err)
	}
	sort.Slice(a.Regions, func(i, j int) bool { return a.Regions[i].Code < a.Regions[j].Code })
	sort.Slice(a.Departements, func(i, j int) bool { return a.Departements[i].Code < a.Departements[j].Code })
	sort.Slice(a.Communes, func(i, j int) bool { return a.Communes[i].Code < a.Communes[j].Code })
	sort.Slice(a.EPCIs, func(i, j int) bool { return a.EPCIs[i].Siren < a.EPCIs[j].Siren })
	for i := range a.Communes {
		sort.Strings(a.Communes[i].CodesPostaux)
	}
	return a, a.checkReferences()
}

// checkReferences fails on duplicate codes and dangling references, and on a commune that is a
// member of two EPCI.
func (a admin) checkReferences() error {
	regions := make(map[string]bool)
	for _, r := range a.Regions {
		if regions[r.Code] {
			return fmt.Errorf("région %s listed twice", r.Code)
		}
		regions[r.Code] = true
	}
	deps := make(map[string]bool)
	for _, d := range a.Departements {
		if deps[d.Code] {
			return fmt.Errorf("département %s listed twice", d.Code)
		}
		if !regions[d.Region] {
			return fmt.Errorf("département %s: unknown région %q", d.Code, d.Region)
		}
		deps[d.Code] = true
	}
	communes := make(map[string]bool)
	for _, c := range a.Communes {
		if communes[c.Code] {
			return fmt.Errorf("commune %s listed twice", c.Code)
		}
		if !deps[c.Departement] || !regions[c.Region] {
			return fmt.Errorf("commune %s: unknown département %q or région %q", c.Code, c.Departement, c.Region)
		}
		communes[c.Code] = true
	}
	member := make(map[string]string)
	for _, e := range a.EPCIs {
		for _, m := range e.Membres {
			if !communes[m.Code] {
				return fmt.Errorf("EPCI %s: member %s is not a current commune", e.Siren, m.Code)
			}
			if other, ok := member[m.Code]; ok {
				return fmt.Errorf("commune %s is a member of EPCI %s and %s", m.Code, other, e.Siren)
			}
			member[m.Code] = e.Siren
		}
	}
	return nil
}

// epciOf maps each commune code to the SIREN of its EPCI.
func (a admin) epciOf() map[string]string {
	m := make(map[string]string)
	for _, e := range a.EPCIs {
		for _, mb := range e.Membres {
			m[mb.Code] = e.Siren
		}
	}
	return m
}
