package demo

import (
	"crypto/sha256"
	"fmt"
	"regexp"
	"slices"
	"testing"

	"atlaas/geodata"
	"atlaas/internal/atlaas"
	"atlaas/internal/reference"
)

func TestTargetsInterpolateUnpublishedYears(t *testing.T) {
	label, err := geodata.Label()
	if err != nil {
		t.Fatal(err)
	}
	byYear := map[int]yearTarget{}
	for _, y := range targets(label) {
		byYear[y.annee] = y
	}
	tests := []struct {
		annee                                         int
		participants, villes, villages, territoires   int
		fiches, nouveauxExcellence, aCinq, aQuatreOu5 int
	}{
		{2017, 205, 162, 31, 12, 11289, 0, -1, 69},
		{2018, 205, 151, 42, 12, 11289, 0, -1, -1},
		{2019, 210, 153, 46, 11, 11565, 0, -1, -1}, // between 2018 and 2021
		{2021, 219, 157, 53, 9, 12040, 14, -1, -1},
		{2022, 254, 186, 57, 11, 14529, 11, -1, -1},
		{2023, 257, 193, 53, 11, 14700, 4, 76, -1},
		{2024, 241, 180, 49, 12, 13785, 0, -1, -1}, // 15 valid = 11 (2022) + 4 (2023) + 0
		{2025, 226, 169, 45, 12, 12927, 13, -1, -1},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprint(tt.annee), func(t *testing.T) {
			y := byYear[tt.annee]
			got := []int{y.participants(), y.villes, y.villages, y.territoires, y.nouveauxExcellence, y.aCinq, y.aQuatreOuCinq}
			want := []int{tt.participants, tt.villes, tt.villages, tt.territoires, tt.nouveauxExcellence, tt.aCinq, tt.aQuatreOu5}
			if fmt.Sprint(got) != fmt.Sprint(want) {
				t.Errorf("participants, villes, villages, territoires, new excellence, 5 @, 4–5 @ = %v, want %v", got, want)
			}
			if d := y.fiches - tt.fiches; d < -3 || d > 3 {
				t.Errorf("fiches %d, want about %d", y.fiches, tt.fiches)
			}
		})
	}
}

func TestTextBankCoversEveryService(t *testing.T) {
	bank, err := loadTextBank()
	if err != nil {
		t.Fatal(err)
	}
	ref, err := geodata.Referentiel()
	if err != nil {
		t.Fatal(err)
	}
	placeholder := regexp.MustCompile(`\{[^}]*\}`)
	for _, s := range ref.Services {
		txt, ok := bank.Services[s.Code]
		if !ok {
			t.Errorf("service %s (%s) has no phrase bank", s.Code, s.Nom)
			continue
		}
		for name, list := range map[string][]string{"titres": txt.Titres, "sous_titres": txt.SousTitres, "syntheses": txt.Syntheses,
			"actions": txt.Actions, "resultats": txt.Resultats, "outils": txt.Outils} {
			if len(list) < 4 {
				t.Errorf("%s: %d %s, want at least 4", s.Code, len(list), name)
			}
			for _, x := range list {
				for _, p := range placeholder.FindAllString(x, -1) {
					if p != "{n}" && p != "{pct}" {
						t.Errorf("%s: unknown placeholder %s in %q", s.Code, p, x)
					}
				}
			}
		}
	}
	if len(bank.Services) != len(ref.Services) {
		t.Errorf("%d services in the banks, %d in the référentiel", len(bank.Services), len(ref.Services))
	}
	c := bank.Commun
	for name, list := range map[string][]string{"publics": c.Publics, "partenaires": c.Partenaires, "prestataires": c.Prestataires,
		"recommandations": c.Recommandations, "qualificatifs": c.Qualificatifs, "lieux": c.Lieux} {
		if len(list) < 10 {
			t.Errorf("commun.%s: %d entries, want at least 10", name, len(list))
		}
	}
}

// digest hashes everything a generation yields.
func digest(t *testing.T, ds *Dataset) string {
	t.Helper()
	h := sha256.New()
	fmt.Fprintf(h, "%v\n%v\n", ds.Participations, ds.Palmares)
	n := 0
	for f, err := range ds.Fiches() {
		if err != nil {
			t.Fatal(err)
		}
		pt := f.Point
		f.Point = nil
		fmt.Fprintf(h, "%+v\n", f)
		if pt != nil {
			fmt.Fprintf(h, "%v\n", *pt)
		}
		n++
	}
	if n != ds.FicheCount {
		t.Fatalf("yielded %d fiches, FicheCount %d", n, ds.FicheCount)
	}
	return fmt.Sprintf("%x", h.Sum(nil))
}

func TestGenerateIsDeterministic(t *testing.T) {
	ref, err := reference.Load(atlaas.DefaultVillageThreshold)
	if err != nil {
		t.Fatal(err)
	}
	gen := func(seed uint64) *Dataset {
		ds, err := Generate(ref, Options{Seed: seed})
		if err != nil {
			t.Fatal(err)
		}
		return ds
	}
	a, b, c := gen(DefaultSeed), gen(DefaultSeed), gen(DefaultSeed+1)
	da := digest(t, a)
	if db := digest(t, b); da != db {
		t.Fatalf("same seed, different data: %s vs %s", da, db)
	}
	if digest(t, a) != da {
		t.Fatal("ranging over the fiches twice gives different fiches")
	}
	if dc := digest(t, c); dc == da {
		t.Fatal("another seed gives the same data")
	}
	t.Logf("seed %d: %d participations of %d collectivités, %d fiches, continuation %.3f",
		DefaultSeed, len(a.Participations), a.Stats.DistinctCollectivites, a.FicheCount, a.Stats.Continuation)
}

// TestSeedsKeepThePlatformSize checks, for many seeds, that the generator keeps 25–30k distinct
// fiches and gives every fiche only services that exist in each of its éditions.
func TestSeedsKeepThePlatformSize(t *testing.T) {
	ref, err := reference.Load(atlaas.DefaultVillageThreshold)
	if err != nil {
		t.Fatal(err)
	}
	editions := map[string][]int{}
	for _, s := range ref.Services {
		editions[s.Code] = s.Editions
	}
	for _, seed := range []uint64{1, 2, 3, 20, 23, 25, DefaultSeed} {
		ds, err := Generate(ref, Options{Seed: seed})
		if err != nil {
			t.Errorf("seed %d: %v", seed, err)
			continue
		}
		if ds.FicheCount < distinctFichesMin || ds.FicheCount > distinctFichesMax {
			t.Errorf("seed %d: %d fiches", seed, ds.FicheCount)
		}
		if seed != DefaultSeed {
			continue // writing every fiche's text is the slow part: once is enough
		}
		for f, err := range ds.Fiches() {
			if err != nil {
				t.Fatal(err)
			}
			for _, s := range f.Services {
				for _, y := range f.Editions {
					if !slices.Contains(editions[s], y) {
						t.Fatalf("fiche %d: service %s does not exist in %d", f.ID, s, y)
					}
				}
			}
		}
	}
}
