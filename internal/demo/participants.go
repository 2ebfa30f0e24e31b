package demo

import (
	"cmp"
	"math"
	"slices"

	"atlaas/internal/atlaas"
)

const (
	distinctionExcellence = "territoire-excellence-numerique"
	distinctionVerte      = "arobase-verte"
	// populationTolerance is how close to a published population the generator aims (the
	// published figures are "about"; tests accept ±5 %).
	populationTolerance = 0.02
)

// selectParticipants chooses, édition by édition, who takes part and at which @ level, then
// awards the distinctions and mentions the published figures call for. retention is the
// probability that a participant comes back the next year.
func (g *generator) selectParticipants(retention float64) {
	g.parts = map[int]map[int]*atlaas.Participation{}
	g.palmares = nil
	lastYear := map[int]int{}  // collectivité → last édition it took part in
	lastLevel := map[int]int{} // collectivité → its @ level then
	var prev map[int]*atlaas.Participation
	for _, t := range g.years {
		set := g.chooseSet(t, prev, lastYear, retention)
		cur := make(map[int]*atlaas.Participation, len(set))
		for _, idx := range set {
			p := &atlaas.Participation{Collectivite: g.colls[idx].Code, Annee: t.annee, Source: atlaas.SourceDemo}
			pn := g.pins[t.annee][idx]
			switch {
			case pn.arobases > 0:
				p.Arobases = pn.arobases
			case prev[idx] != nil:
				p.Arobases = g.step(prev[idx].Arobases)
			case lastLevel[idx] > 0:
				p.Arobases = g.step(lastLevel[idx])
			default:
				p.Arobases = g.newcomerLevel(idx, t.annee == g.years[0].annee)
			}
			if pn.published {
				p.Source = atlaas.SourcePublie
				p.Nouveau = g.publishedNouveau(idx, t.annee)
			} else {
				p.Nouveau = t.annee > g.years[0].annee && lastYear[idx] == 0
			}
			cur[idx] = p
		}
		g.parts[t.annee] = cur
		g.awardExcellence(t)
		if t.aQuatreOuCinq >= 0 {
			g.adjustCount(t.annee, 4, t.aQuatreOuCinq, prev)
		}
		if t.aCinq >= 0 {
			g.adjustCount(t.annee, 5, t.aCinq, prev)
		}
		g.awardMentions(t)
		for idx, p := range cur {
			lastYear[idx], lastLevel[idx] = t.annee, p.Arobases
		}
		prev = cur
	}
}

func (g *generator) publishedNouveau(idx, annee int) bool {
	for _, p := range g.ref.Participations {
		if p.Annee == annee && p.Collectivite == g.colls[idx].Code {
			return p.Nouveau
		}
	}
	return false
}

// chooseSet returns the participants of an édition, sorted: the published ones, most of last
// year's, and newcomers drawn by weight, so that every category count matches the target.
func (g *generator) chooseSet(t yearTarget, prev map[int]*atlaas.Participation, lastYear map[int]int, retention float64) []int {
	want := map[string]int{
		atlaas.CategorieVille: t.villes, atlaas.CategorieVillage: t.villages, atlaas.CategorieTerritoire: t.territoires,
	}
	in := map[int]bool{}
	count := map[string]int{}
	for _, idx := range sortedKeys(g.pins[t.annee]) {
		in[idx] = true
		count[g.colls[idx].Categorie]++
	}
	for _, idx := range sortedKeys(prev) {
		cat := g.colls[idx].Categorie
		if in[idx] || count[cat] >= want[cat] || g.rng.Float64() >= retention {
			continue
		}
		in[idx] = true
		count[cat]++
	}
	for _, cat := range []string{atlaas.CategorieTerritoire, atlaas.CategorieVille, atlaas.CategorieVillage} {
		for count[cat] < want[cat] {
			idx := g.draw(cat, in, lastYear)
			if idx < 0 {
				break
			}
			in[idx] = true
			count[cat]++
		}
		// Published participants beyond the target push out unpublished ones.
		for count[cat] > want[cat] {
			var free []int
			for _, idx := range sortedKeys(in) {
				if g.colls[idx].Categorie == cat && !g.isPinned(t.annee, idx) {
					free = append(free, idx)
				}
			}
			if len(free) == 0 {
				break
			}
			delete(in, free[g.rng.IntN(len(free))])
			count[cat]--
		}
	}
	if t.membresTerritoires > 0 {
		g.fixMembers(t, in)
	}
	if t.habitants > 0 {
		g.fixPopulation(t, in)
	}
	return sortedKeys(in)
}

func (g *generator) isPinned(annee, idx int) bool {
	_, ok := g.pins[annee][idx]
	return ok
}

// draw picks one collectivité of the category pool by weight, among those not in the set;
// former participants come back less readily than newcomers arrive.
func (g *generator) draw(cat string, in map[int]bool, lastYear map[int]int) int {
	var total float64
	for i := range g.colls {
		if c := &g.colls[i]; c.pool == cat && !in[i] {
			total += g.drawWeightNow(i, lastYear)
		}
	}
	if total == 0 {
		return -1
	}
	x := g.rng.Float64() * total
	last := -1
	for i := range g.colls {
		if c := &g.colls[i]; c.pool == cat && !in[i] {
			last = i
			x -= g.drawWeightNow(i, lastYear)
			if x < 0 {
				return i
			}
		}
	}
	return last
}

func (g *generator) drawWeightNow(i int, lastYear map[int]int) float64 {
	if lastYear[i] > 0 {
		return g.colls[i].weight * 0.5
	}
	return g.colls[i].weight
}

// fixMembers swaps unpublished intercommunalités until their member communes add up to the
// published number.
func (g *generator) fixMembers(t yearTarget, in map[int]bool) {
	for range 1000 {
		sum := 0
		var free []int
		for _, idx := range sortedKeys(in) {
			if c := g.colls[idx]; c.Kind == atlaas.KindEPCI {
				sum += len(c.membres)
				if !g.isPinned(t.annee, idx) {
					free = append(free, idx)
				}
			}
		}
		if sum == t.membresTerritoires || len(free) == 0 {
			return
		}
		out := free[g.rng.IntN(len(free))]
		desired := len(g.colls[out].membres) + t.membresTerritoires - sum
		best, bestGap := -1, math.MaxInt
		for i := range g.colls {
			if c := &g.colls[i]; c.pool == atlaas.CategorieTerritoire && !in[i] {
				gap := abs(len(c.membres) - desired)
				if gap < bestGap {
					best, bestGap = i, gap
				}
			}
		}
		if best < 0 {
			return
		}
		delete(in, out)
		in[best] = true
	}
}

// fixPopulation swaps unpublished villes until the population represented is within the
// tolerance of the published figure.
func (g *generator) fixPopulation(t yearTarget, in map[int]bool) {
	target := float64(t.habitants)
	for range 5000 {
		cur := float64(g.populationRepresented(in))
		if math.Abs(cur-target) <= populationTolerance*target {
			return
		}
		var free []int
		for _, idx := range sortedKeys(in) {
			if g.colls[idx].Categorie == atlaas.CategorieVille && !g.isPinned(t.annee, idx) {
				free = append(free, idx)
			}
		}
		if len(free) == 0 {
			return
		}
		out := free[g.rng.IntN(len(free))]
		delta := math.Max(-150_000, math.Min(150_000, target-cur))
		desired := float64(g.colls[out].Population) + delta
		best, bestGap := -1, math.MaxFloat64
		for i := range g.colls {
			if c := &g.colls[i]; c.pool == atlaas.CategorieVille && !in[i] {
				if gap := math.Abs(float64(c.Population) - desired); gap < bestGap {
					best, bestGap = i, gap
				}
			}
		}
		if best < 0 {
			return
		}
		delete(in, out)
		in[best] = true
	}
}

// populationRepresented is the population of the communes a set of participants covers: the
// participating communes and the members of the participating intercommunalités, each once.
func (g *generator) populationRepresented(in map[int]bool) int {
	covered := map[int]bool{}
	for idx := range in {
		c := g.colls[idx]
		if c.Kind == atlaas.KindCommune {
			covered[idx] = true
		}
		for _, m := range c.membres {
			covered[m] = true
		}
	}
	sum := 0
	for idx := range covered {
		sum += g.colls[idx].Population
	}
	return sum
}

// step moves an @ level by at most one: most years it stays, sometimes it rises, rarely falls.
func (g *generator) step(level int) int {
	x := g.rng.Float64()
	switch {
	case x < 0.06:
		level--
	case x < 0.27:
		level++
	}
	return min(5, max(1, level))
}

// newcomerLevel draws the @ level of a first participation from the collectivité's quality.
// The first modelled édition (2017) had a history of 17 éditions behind it, so its levels spread
// over the whole scale.
func (g *generator) newcomerLevel(idx int, first bool) int {
	q := g.colls[idx].quality + 0.6*g.rng.NormFloat64()
	cuts := []float64{-0.9, 0.1, 1.0, 2.2} // newcomers: mostly 1 to 3 @
	if first {
		cuts = []float64{-1.2, -0.5, 0.3, 1.1}
	}
	level := 1
	for _, c := range cuts {
		if q > c {
			level++
		}
	}
	return level
}

// adjustCount makes exactly want participants of the édition have at least min @, moving the
// fewest unpinned participants across the boundary; those whose last level allows the move
// within one step go first.
func (g *generator) adjustCount(annee, minLevel, want int, prev map[int]*atlaas.Participation) {
	cur := g.parts[annee]
	have := 0
	for _, p := range cur {
		if p.Arobases >= minLevel {
			have++
		}
	}
	type cand struct {
		idx    int
		stepOK bool
		q      float64
	}
	var cands []cand
	for _, idx := range sortedKeys(cur) {
		p := cur[idx]
		pn := g.pins[annee][idx]
		if pn.arobases > 0 || p.TerritoireExcellence {
			continue
		}
		last := p.Arobases
		if prev[idx] != nil {
			last = prev[idx].Arobases
		}
		switch {
		case have < want && p.Arobases == minLevel-1:
			cands = append(cands, cand{idx, last >= minLevel-1, g.colls[idx].quality})
		case have > want && p.Arobases == minLevel:
			cands = append(cands, cand{idx, last <= minLevel, -g.colls[idx].quality})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int {
		if a.stepOK != b.stepOK {
			if a.stepOK {
				return -1
			}
			return 1
		}
		return cmp.Compare(b.q, a.q)
	})
	for _, c := range cands {
		switch {
		case have < want:
			cur[c.idx].Arobases = minLevel
			have++
		case have > want:
			cur[c.idx].Arobases = minLevel - 1
			have--
		}
	}
}

// awardExcellence names the territoires d'excellence of an édition: the published winners, then
// the best participants at 5 @ (or 4 @, promoted) not already distinguished in the last two
// éditions, until the published number is reached.
func (g *generator) awardExcellence(t yearTarget) {
	cur := g.parts[t.annee]
	awarded := 0
	for idx, p := range cur {
		if g.pins[t.annee][idx].excellence {
			p.TerritoireExcellence, p.Arobases = true, 5
			awarded++
		}
	}
	if awarded >= t.nouveauxExcellence {
		return
	}
	recent := func(idx int) bool {
		for _, y := range []int{t.annee - 1, t.annee - 2} {
			if p := g.parts[y][idx]; p != nil && p.TerritoireExcellence {
				return true
			}
		}
		return false
	}
	var cands []int
	for _, idx := range sortedKeys(cur) {
		if p := cur[idx]; !p.TerritoireExcellence && p.Arobases >= 4 && !recent(idx) && g.pins[t.annee][idx].arobases == 0 {
			cands = append(cands, idx)
		}
	}
	slices.SortStableFunc(cands, func(a, b int) int {
		return cmp.Or(-cmp.Compare(cur[a].Arobases, cur[b].Arobases), cmp.Compare(g.colls[b].quality, g.colls[a].quality))
	})
	for _, idx := range cands[:min(len(cands), t.nouveauxExcellence-awarded)] {
		cur[idx].TerritoireExcellence, cur[idx].Arobases = true, 5
		g.palmares = append(g.palmares, atlaas.PalmaresEntry{Annee: t.annee, Mention: distinctionExcellence,
			Collectivite: g.colls[idx].Code, NomPublie: g.colls[idx].Nom, Source: atlaas.SourceDemo})
	}
}

// awardMentions completes each published mention count with generated winners, favouring the
// participants with more @; the arobase verte is also a flag of the participation.
func (g *generator) awardMentions(t yearTarget) {
	cur := g.parts[t.annee]
	for _, code := range sortedKeys(t.mentions) {
		winners := map[int]bool{}
		for idx := range g.named[t.annee][code] {
			winners[idx] = true
		}
		missing := t.mentions[code] - len(winners)
		for range max(0, missing) {
			var total float64
			ids := sortedKeys(cur)
			for _, idx := range ids {
				if !winners[idx] {
					total += float64(cur[idx].Arobases * cur[idx].Arobases)
				}
			}
			x := g.rng.Float64() * total
			for _, idx := range ids {
				if winners[idx] {
					continue
				}
				x -= float64(cur[idx].Arobases * cur[idx].Arobases)
				if x < 0 {
					winners[idx] = true
					g.palmares = append(g.palmares, atlaas.PalmaresEntry{Annee: t.annee, Mention: code,
						Collectivite: g.colls[idx].Code, NomPublie: g.colls[idx].Nom, Source: atlaas.SourceDemo})
					break
				}
			}
		}
		if code == distinctionVerte {
			for idx := range winners {
				if p := cur[idx]; p != nil {
					p.ArobaseVerte = true
				}
			}
		}
	}
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}
