package demo

import (
	"math"

	"atlaas/geodata"
)

// yearTarget is what one édition must look like: published figures where the label published
// them, interpolated from the neighbouring éditions otherwise.
type yearTarget struct {
	annee       int
	villes      int
	villages    int
	territoires int
	fiches      int // fiches published or updated for the édition

	// Constraints that exist only where a figure was published (0 or -1: none).
	aQuatreOuCinq        int // participants at 4 or 5 @
	aCinq                int // participants at 5 @
	membresTerritoires   int // member communes of the participating intercommunalités
	habitants            int // population represented (±5 %)
	nouveauxExcellence   int // territoires d'excellence awarded at this édition
	mentions             map[string]int
	publishedParticipant bool // the total number of participants was published
}

func (t yearTarget) participants() int { return t.villes + t.villages + t.territoires }

// series holds one figure per édition where published; missing ones are filled by linear
// interpolation between the nearest published éditions, and by the nearest one at the ends.
type series map[int]float64

func (s series) fill(years []int) map[int]int {
	out := make(map[int]int, len(years))
	for _, y := range years {
		if v, ok := s[y]; ok {
			out[y] = int(math.Round(v))
			continue
		}
		lo, hi := -1, -1
		for _, k := range years {
			if _, ok := s[k]; !ok {
				continue
			}
			if k < y && (lo == -1 || k > lo) {
				lo = k
			}
			if k > y && (hi == -1 || k < hi) {
				hi = k
			}
		}
		switch {
		case lo != -1 && hi != -1:
			out[y] = int(math.Round(s[lo] + (s[hi]-s[lo])*float64(y-lo)/float64(hi-lo)))
		case lo != -1:
			out[y] = int(math.Round(s[lo]))
		case hi != -1:
			out[y] = int(math.Round(s[hi]))
		}
	}
	return out
}

func deref(p *int) (float64, bool) {
	if p == nil {
		return 0, false
	}
	return float64(*p), true
}

// targets computes every édition's target from the published facts.
func targets(label geodata.LabelFacts) []yearTarget {
	var years []int
	total, terr, vill, fichesPerParticipant := series{}, series{}, series{}, series{}
	for _, e := range label.Editions {
		years = append(years, e.Annee)
		c := e.Chiffres
		if v, ok := deref(c.Participants); ok {
			total[e.Annee] = v
		}
		if v, ok := deref(c.ParticipantsTerritoires); ok {
			terr[e.Annee] = v
		}
		if v, ok := deref(c.ParticipantsVillages); ok {
			vill[e.Annee] = v
		} else if v, ok := deref(c.VillagesLabellises); ok {
			vill[e.Annee] = v
		}
	}
	totals := total.fill(years)
	for _, e := range label.Editions {
		if v, ok := deref(e.Chiffres.Fiches); ok {
			fichesPerParticipant[e.Annee] = v / float64(totals[e.Annee])
		}
	}
	territoires, villages := terr.fill(years), vill.fill(years)
	perParticipant := fichesPerParticipantFill(fichesPerParticipant, years)

	out := make([]yearTarget, 0, len(years))
	newExcellence := map[int]int{}
	for _, e := range label.Editions {
		y, c := e.Annee, e.Chiffres
		t := yearTarget{
			annee: y, territoires: territoires[y], villages: villages[y],
			mentions: map[string]int{}, publishedParticipant: c.Participants != nil,
		}
		t.villes = totals[y] - t.territoires - t.villages
		if c.Fiches != nil {
			t.fiches = *c.Fiches
		} else {
			t.fiches = int(math.Round(perParticipant[y] * float64(totals[y])))
		}
		t.aQuatreOuCinq = intOr(c.A4Ou5Arobases, -1)
		t.aCinq = intOr(c.A5Arobases, -1)
		t.membresTerritoires = intOr(c.CommunesRepresentees, -1)
		t.habitants = intOr(c.HabitantsEnviron, -1)
		for code, n := range c.MentionsCounts {
			t.mentions[code] = n
		}
		// Territoires d'excellence: new ones are published, or the total valid (awarded in this
		// or the two previous éditions), or only the named winners are known.
		switch {
		case c.NouveauxTerritoiresExcellence != nil:
			t.nouveauxExcellence = *c.NouveauxTerritoiresExcellence
		case c.TerritoiresExcellence != nil:
			t.nouveauxExcellence = max(0, *c.TerritoiresExcellence-newExcellence[y-1]-newExcellence[y-2])
		default:
			for _, p := range e.Palmares {
				if p.Distinction == distinctionExcellence {
					t.nouveauxExcellence++
				}
			}
		}
		newExcellence[y] = t.nouveauxExcellence
		out = append(out, t)
	}
	return out
}

// fichesPerParticipantFill interpolates fiches per participant like any other series.
func fichesPerParticipantFill(s series, years []int) map[int]float64 {
	scaled := series{}
	for y, v := range s {
		scaled[y] = v * 1000
	}
	filled := scaled.fill(years)
	out := make(map[int]float64, len(filled))
	for y, v := range filled {
		out[y] = float64(v) / 1000
	}
	return out
}

func intOr(p *int, def int) int {
	if p == nil {
		return def
	}
	return *p
}
