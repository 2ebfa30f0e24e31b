package demo

import (
	"cmp"
	"fmt"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/paulmach/orb"

	"atlaas/internal/atlaas"
)

// Targets for the number of distinct fiches (the label's platform holds 25,000–30,000).
const (
	distinctFichesTarget = 27_500
	distinctFichesMin    = 25_000
	distinctFichesMax    = 30_000
	minFichesPerYear     = 3 // every participant publishes at least this many fiches
)

// plan is one fiche before its text is written: its collectivité and its consecutive éditions.
type plan struct {
	coll        int32
	first, last int16
}

// planFiches decides how many fiches each participant publishes or updates for each édition
// (the published total per édition, shared by @ level and size), and which of them continue a
// fiche of the previous édition: the continuation rate is searched so that the number of
// distinct fiches lands near the target.
func (g *generator) planFiches() {
	if g.opts.Scale > 0 {
		g.planScale()
		return
	}
	g.plans = nil
	pubs := g.publications()
	colls := sortedKeys(pubs)
	distinct := func(cont float64) int {
		n := 0
		for _, idx := range colls {
			active := 0
			for _, t := range g.years {
				k := pubs[idx][t.annee]
				if k == 0 {
					active = 0
					continue
				}
				kept := min(active, int(math.Round(float64(k)*cont)))
				n += k - kept
				active = k
			}
		}
		return n
	}
	lo, hi := 0.0, 1.0
	for range 40 {
		mid := (lo + hi) / 2
		if distinct(mid) > distinctFichesTarget {
			lo = mid
		} else {
			hi = mid
		}
	}
	cont := hi
	g.continuation = cont

	for _, idx := range colls {
		var active []int // indexes into g.plans
		for _, t := range g.years {
			k := pubs[idx][t.annee]
			if k == 0 {
				active = nil
				continue
			}
			kept := min(len(active), int(math.Round(float64(k)*cont)))
			g.rng.Shuffle(len(active), func(i, j int) { active[i], active[j] = active[j], active[i] })
			next := make([]int, 0, k)
			for _, p := range active[:kept] {
				g.plans[p].last = int16(t.annee)
				next = append(next, p)
			}
			for range k - kept {
				g.plans = append(g.plans, plan{coll: int32(idx), first: int16(t.annee), last: int16(t.annee)})
				next = append(next, len(g.plans)-1)
			}
			active = next
		}
	}
	g.sortPlans()
}

// publications shares each édition's published fiche count among its participants, by @ level
// and size, with the largest-remainder method so that the total is exact.
func (g *generator) publications() map[int]map[int]int {
	out := map[int]map[int]int{}
	for _, t := range g.years {
		cur := g.parts[t.annee]
		ids := sortedKeys(cur)
		weights := make([]float64, len(ids))
		var total float64
		for i, idx := range ids {
			w := math.Pow(float64(cur[idx].Arobases), 1.3) * (1 + math.Log10(max(float64(g.colls[idx].Population), 500)/500))
			weights[i] = w
			total += w
		}
		free := t.fiches - minFichesPerYear*len(ids)
		shares := make([]int, len(ids))
		type rem struct {
			i int
			r float64
		}
		rems := make([]rem, len(ids))
		given := 0
		for i, w := range weights {
			x := float64(free) * w / total
			shares[i] = int(x)
			given += shares[i]
			rems[i] = rem{i, x - float64(shares[i])}
		}
		slices.SortStableFunc(rems, func(a, b rem) int { return cmp.Compare(b.r, a.r) })
		for j := 0; given < free; j++ {
			shares[rems[j%len(rems)].i]++
			given++
		}
		for i, idx := range ids {
			if out[idx] == nil {
				out[idx] = map[int]int{}
			}
			out[idx][t.annee] = shares[i] + minFichesPerYear
		}
	}
	return out
}

// planScale spreads opts.Scale fiches over every collectivité with a point, for benchmarks.
func (g *generator) planScale() {
	var ids []int
	var cum []float64
	var total float64
	for i := range g.colls {
		if c := g.colls[i]; c.Point != nil && len(c.Region) == 2 {
			total += math.Sqrt(float64(max(c.Population, 100)))
			ids = append(ids, i)
			cum = append(cum, total)
		}
	}
	first, last := g.years[0].annee, g.years[len(g.years)-1].annee
	g.plans = make([]plan, 0, g.opts.Scale)
	g.continuation = 0
	for range g.opts.Scale {
		x := g.rng.Float64() * total
		j, _ := slices.BinarySearch(cum, x)
		y := first + g.rng.IntN(last-first+1)
		span := 1 + g.rng.IntN(4)
		g.plans = append(g.plans, plan{coll: int32(ids[min(j, len(ids)-1)]), first: int16(y), last: int16(min(last, y+span-1))})
	}
	g.sortPlans()
}

// sortPlans orders fiches by first édition, then collectivité, so that ids grow with age.
func (g *generator) sortPlans() {
	slices.SortStableFunc(g.plans, func(a, b plan) int {
		return cmp.Or(cmp.Compare(a.first, b.first), cmp.Compare(g.colls[a.coll].Code, g.colls[b.coll].Code))
	})
}

// fiches yields every planned fiche with its text, in id order. Each fiche draws from its own
// random stream (seed, id); only the choice among titles depends on the titles its collectivité
// already used.
func (g *generator) fiches(yield func(atlaas.Fiche, error) bool) {
	titles := map[int32]map[string]bool{}
	// The services a fiche can have are those that exist in every édition it is published in.
	servicesBySpan := map[[2]int16][]string{}
	available := func(p plan) []string {
		key := [2]int16{p.first, p.last}
		if s, ok := servicesBySpan[key]; ok {
			return s
		}
		var out []string
		for _, s := range g.ref.Services {
			if slices.Contains(s.Editions, int(p.first)) && slices.Contains(s.Editions, int(p.last)) {
				out = append(out, s.Code) // a service's éditions are contiguous
			}
		}
		servicesBySpan[key] = out
		return out
	}
	enjeuOf := map[string]string{}
	for _, s := range g.ref.Services {
		enjeuOf[s.Code] = s.Enjeu
	}
	for i, p := range g.plans {
		id := int64(i + 1)
		r := rand.New(rand.NewPCG(g.opts.Seed, uint64(id)))
		if titles[p.coll] == nil {
			titles[p.coll] = map[string]bool{}
		}
		f, err := g.writeFiche(r, id, p, available(p), enjeuOf, titles[p.coll])
		if !yield(f, err) || err != nil {
			return
		}
	}
}

func (g *generator) writeFiche(r *rand.Rand, id int64, p plan, available []string, enjeuOf map[string]string, titles map[string]bool) (atlaas.Fiche, error) {
	c := g.colls[p.coll]
	services := pickServices(r, available, enjeuOf)
	txt, ok := g.bank.Services[services[0]]
	if !ok {
		return atlaas.Fiche{}, fmt.Errorf("demo: no phrase bank for service %s", services[0])
	}
	com := g.bank.Commun
	f := atlaas.Fiche{
		ID:              id,
		Collectivite:    c.Code,
		Titre:           uniqueTitle(r, txt.Titres, com.Qualificatifs, titles),
		SousTitre:       pick(r, txt.SousTitres),
		Synthese:        pick(r, txt.Syntheses),
		Actions:         bullets(pickN(r, txt.Actions, 2+r.IntN(3))),
		Resultats:       fillNumbers(r, strings.Join(pickN(r, txt.Resultats, 2), " "), c.Population),
		Recommandations: strings.Join(pickN(r, com.Recommandations, 1+r.IntN(2)), " "),
		Outils:          strings.Join(pickN(r, txt.Outils, 1+r.IntN(3)), " ; "),
		PublicVise:      pickN(r, com.Publics, 1+r.IntN(3)),
		Partenaires:     pickN(r, com.Partenaires, r.IntN(4)),
		Prestataires:    pickN(r, com.Prestataires, r.IntN(3)),
		Services:        services,
		Source:          atlaas.SourceDemo,
	}
	for y := p.first; y <= p.last; y++ {
		f.Editions = append(f.Editions, int(y))
	}
	f.Version = len(f.Editions)
	g.dates(r, &f, int(p.first), int(p.last))
	g.place(r, &f, c)
	if f.Precision == atlaas.PrecisionLieu {
		f.Synthese += " L'action est menée depuis " + pick(r, com.Lieux) + "."
	}
	return f, nil
}

// pickServices returns 1 to 3 services existing in the fiche's first édition, the extra ones
// mostly under the same enjeu.
func pickServices(r *rand.Rand, available []string, enjeuOf map[string]string) []string {
	first := available[r.IntN(len(available))]
	out := []string{first}
	n := 1
	switch x := r.Float64(); {
	case x < 0.15:
		n = 3
	case x < 0.5:
		n = 2
	}
	for tries := 0; len(out) < n && tries < 50; tries++ {
		s := available[r.IntN(len(available))]
		if slices.Contains(out, s) || (enjeuOf[s] != enjeuOf[first] && r.Float64() < 0.7) {
			continue
		}
		out = append(out, s)
	}
	return out
}

// uniqueTitle picks a title not yet used by the collectivité: another of the service's titles,
// then one with a qualifier, then a numbered phase.
func uniqueTitle(r *rand.Rand, bank, qualifiers []string, used map[string]bool) string {
	try := func(t string) bool {
		if used[t] {
			return false
		}
		used[t] = true
		return true
	}
	for _, i := range r.Perm(len(bank)) {
		if try(bank[i]) {
			return bank[i]
		}
	}
	base := bank[r.IntN(len(bank))]
	for _, i := range r.Perm(len(qualifiers)) {
		if t := base + qualifiers[i]; try(t) {
			return t
		}
	}
	for n := 2; ; n++ {
		if t := base + " : phase " + strconv.Itoa(n); try(t) {
			return t
		}
	}
}

// dates sets the status and dates from the éditions: a fiche is written in the autumn before
// its first édition's ceremony and updated before each following one.
func (g *generator) dates(r *rand.Rand, f *atlaas.Fiche, first, last int) {
	autumn := func(year int) time.Time {
		return time.Date(year-1, time.Month(9+r.IntN(4)), 1+r.IntN(28), 8+r.IntN(10), r.IntN(60), 0, 0, time.UTC)
	}
	f.CreatedAt = autumn(first)
	f.UpdatedAt = f.CreatedAt
	if last > first {
		f.UpdatedAt = autumn(last)
	}
	f.DateDebut = time.Date(first-1-r.IntN(2), time.Month(1+r.IntN(12)), 1, 0, 0, 0, 0, time.UTC)
	current := last == g.years[len(g.years)-1].annee
	switch x := r.Float64(); {
	case current && x < 0.15:
		f.Statut = atlaas.StatutProjet
	case current && x < 0.6, !current && x < 0.1:
		f.Statut = atlaas.StatutEnCours
	case !current && x < 0.14:
		f.Statut = atlaas.StatutAbandonne
	default:
		f.Statut = atlaas.StatutRealise
		end := f.DateDebut.AddDate(0, 3+r.IntN(22), 0)
		if limit := time.Date(last-1, time.December, 1, 0, 0, 0, 0, time.UTC); end.After(limit) {
			end = limit
		}
		if end.Before(f.DateDebut) {
			end = f.DateDebut
		}
		f.DateFin = end
	}
}

// place puts the fiche at its collectivité's centre, an intercommunalité's fiche at one of its
// member communes, and a few fiches at their own place nearby (0.3 to 2.5 km away).
func (g *generator) place(r *rand.Rand, f *atlaas.Fiche, c coll) {
	f.Precision = atlaas.PrecisionNone
	var pt *orb.Point
	if c.Point != nil {
		pt, f.Precision = c.Point, atlaas.PrecisionCollectivite
	}
	if c.Kind == atlaas.KindEPCI {
		var withPoint []int
		for _, m := range c.membres {
			if g.colls[m].Point != nil {
				withPoint = append(withPoint, m)
			}
		}
		if len(withPoint) > 0 {
			pt, f.Precision = g.colls[withPoint[r.IntN(len(withPoint))]].Point, atlaas.PrecisionCommuneMembre
		}
	}
	if pt == nil {
		return
	}
	p := *pt
	lieuShare := 0.04
	if g.opts.Scale > 0 {
		lieuShare = 0.3 // spread benchmark points as a dense real atlas would be
	}
	if r.Float64() < lieuShare {
		d := 0.3 + 2.2*r.Float64() // km
		theta := 2 * math.Pi * r.Float64()
		lat := p.Lat() + d*math.Cos(theta)/111.32
		lon := p.Lon() + d*math.Sin(theta)/(111.32*math.Cos(p.Lat()*math.Pi/180))
		p = orb.Point{round5(lon), round5(lat)}
		f.Precision = atlaas.PrecisionLieu
	}
	f.Point = &p
}

func round5(x float64) float64 { return math.Round(x*1e5) / 1e5 }

func pick(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

// pickN returns n distinct elements of xs in random order (all of them if n ≥ len(xs)).
func pickN(r *rand.Rand, xs []string, n int) []string {
	perm := r.Perm(len(xs))
	out := make([]string, 0, min(n, len(xs)))
	for _, i := range perm[:min(n, len(xs))] {
		out = append(out, xs[i])
	}
	return out
}

func bullets(lines []string) string {
	return "- " + strings.Join(lines, "\n- ")
}

// fillNumbers replaces {n} by a count in proportion to the collectivité's size and {pct} by a
// percentage: demonstration figures, in demonstration fiches only.
func fillNumbers(r *rand.Rand, s string, population int) string {
	for strings.Contains(s, "{n}") {
		scale := max(20, population/50)
		s = strings.Replace(s, "{n}", strconv.Itoa(10+r.IntN(scale)), 1)
	}
	for strings.Contains(s, "{pct}") {
		s = strings.Replace(s, "{pct}", strconv.Itoa(15+r.IntN(80)), 1)
	}
	return s
}
