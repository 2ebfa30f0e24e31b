// Package demo generates the demonstration atlas: participations and fiches, deterministically
// from a seed, on top of the real geography, référentiel and published facts. Everything it
// makes is marked source = demo; it reproduces the label's published key figures exactly and
// interpolates where none was published.
package demo

import (
	"cmp"
	"fmt"
	"iter"
	"math"
	"math/rand/v2"
	"slices"

	"atlaas/geodata"
	"atlaas/internal/atlaas"
)

// DefaultSeed is the seed of the demo `make run` loads.
const DefaultSeed = 2017

// Random streams of a seed: one for the collectivités' latent qualities, then one per attempt at
// selecting participants.
const (
	streamIndex     = 0x41544c414153
	streamSelection = 0x41544c414154
)

// Options select what Generate makes.
type Options struct {
	Seed uint64
	// Scale, when positive, generates that many fiches for benchmarks, spread over every
	// collectivité that has a point, instead of reproducing the label's fiche counts.
	Scale int
}

// Dataset is the generated demonstration data.
type Dataset struct {
	Participations []atlaas.Participation
	Palmares       []atlaas.PalmaresEntry
	// FicheCount is how many fiches Fiches yields.
	FicheCount int
	// Stats describe the dataset, for the command's report.
	Stats Stats

	fiches func(yield func(atlaas.Fiche, error) bool)
}

// Fiches yields the fiches in id order; it can be ranged over several times with the same
// result.
func (d *Dataset) Fiches() iter.Seq2[atlaas.Fiche, error] { return d.fiches }

// Stats summarise a dataset.
type Stats struct {
	ParticipantsByYear    map[int]int
	DistinctCollectivites int
	PublicationsByYear    map[int]int
	DistinctFiches        int
	Continuation          float64
}

// Generate builds the dataset for ref (the data reference.Load returns).
func Generate(ref atlaas.Reference, opts Options) (*Dataset, error) {
	label, err := geodata.Label()
	if err != nil {
		return nil, err
	}
	bank, err := loadTextBank()
	if err != nil {
		return nil, err
	}
	g := &generator{
		opts:  opts,
		rng:   rand.New(rand.NewPCG(opts.Seed, streamIndex)),
		ref:   ref,
		bank:  bank,
		years: targets(label),
	}
	if err := g.index(label); err != nil {
		return nil, err
	}
	// Collectivités that come back more often republish their fiches longer: raise the
	// retention until the distinct fiches fit the platform's size (only some seeds need it).
	for attempt, retention := range []float64{0.92, 0.94, 0.96, 0.98} {
		g.rng = rand.New(rand.NewPCG(opts.Seed, streamSelection+uint64(attempt)))
		g.selectParticipants(retention)
		g.planFiches()
		if opts.Scale > 0 || len(g.plans) <= distinctFichesMax {
			break
		}
	}
	if opts.Scale == 0 && (len(g.plans) < distinctFichesMin || len(g.plans) > distinctFichesMax) {
		return nil, fmt.Errorf("demo: seed %d gives %d distinct fiches, outside %d–%d: try another seed",
			opts.Seed, len(g.plans), distinctFichesMin, distinctFichesMax)
	}
	ds := &Dataset{Participations: g.participations(), Palmares: g.palmares, FicheCount: len(g.plans)}
	ds.Stats = g.stats()
	ds.fiches = g.fiches
	return ds, nil
}

// coll is a collectivité as the generator sees it.
type coll struct {
	*atlaas.Collectivite
	membres []int   // for an EPCI: its member communes
	quality float64 // latent quality: drives @ levels and the number of fiches
	weight  float64 // how likely it is to take part
	pool    string  // the category pool it is drawn from, "" when never drawn
}

// pin is what the published facts fix for a collectivité at an édition.
type pin struct {
	arobases   int  // 0: free
	excellence bool // named territoire d'excellence
	published  bool // the participation itself is published (loaded with the reference)
}

type generator struct {
	opts  Options
	rng   *rand.Rand
	ref   atlaas.Reference
	bank  textBank
	years []yearTarget

	colls  []coll
	byCode map[string]int
	pins   map[int]map[int]pin // year → collectivité → pin
	named  map[int]map[string]map[int]bool

	// Results of selectParticipants: per year, the participants and their state.
	parts    map[int]map[int]*atlaas.Participation
	palmares []atlaas.PalmaresEntry

	// Results of planFiches.
	plans        []plan
	continuation float64
}

func (g *generator) index(label geodata.LabelFacts) error {
	g.colls = make([]coll, len(g.ref.Collectivites))
	g.byCode = make(map[string]int, len(g.colls))
	for i := range g.ref.Collectivites {
		c := &g.ref.Collectivites[i]
		g.colls[i] = coll{Collectivite: c}
		g.byCode[c.Code] = i
	}
	for i := range g.colls {
		if e := g.colls[i].EPCI; e != "" {
			if j, ok := g.byCode[e]; ok {
				g.colls[j].membres = append(g.colls[j].membres, i)
			}
		}
	}
	for i := range g.colls {
		c := &g.colls[i]
		c.quality = g.rng.NormFloat64() + 0.35*math.Log10(max(float64(c.Population), 100)/5000)
		c.weight, c.pool = drawWeight(c.Collectivite)
	}
	g.pins = map[int]map[int]pin{}
	g.named = map[int]map[string]map[int]bool{}
	setPin := func(y, idx int, f func(*pin)) {
		if g.pins[y] == nil {
			g.pins[y] = map[int]pin{}
		}
		p := g.pins[y][idx]
		f(&p)
		g.pins[y][idx] = p
	}
	for _, p := range g.ref.Participations {
		idx, ok := g.byCode[p.Collectivite]
		if !ok {
			return fmt.Errorf("demo: published participation of unknown collectivité %s", p.Collectivite)
		}
		setPin(p.Annee, idx, func(pn *pin) { pn.arobases, pn.published = p.Arobases, true })
	}
	for _, p := range g.ref.Palmares {
		idx, ok := g.byCode[p.Collectivite]
		if !ok {
			continue // a winner known by name only cannot take part in the generated data
		}
		setPin(p.Annee, idx, func(pn *pin) {
			if p.Mention == distinctionExcellence {
				pn.excellence, pn.arobases = true, 5
			}
		})
		if g.named[p.Annee] == nil {
			g.named[p.Annee] = map[string]map[int]bool{}
		}
		if g.named[p.Annee][p.Mention] == nil {
			g.named[p.Annee][p.Mention] = map[int]bool{}
		}
		g.named[p.Annee][p.Mention][idx] = true
	}
	return nil
}

// Regions where the label is known to be strong get more participants.
var regionWeight = map[string]float64{
	"11": 3, // Île-de-France
	"84": 2, // Auvergne-Rhône-Alpes
	"32": 2, // Hauts-de-France
	"44": 2, // Grand Est
}

// drawWeight says how likely a collectivité is to be drawn as a participant, and from which
// pool. Only collectivités with a real point are drawn (the named winners take part anyway);
// the collectivités d'outre-mer and the three largest cities are left out of the draw.
func drawWeight(c *atlaas.Collectivite) (float64, string) {
	if c.Point == nil || len(c.Region) != 2 || c.Population > 500_000 {
		return 0, ""
	}
	w := regionWeight[c.Region]
	if w == 0 {
		w = 1
	}
	if c.Region < "10" { // overseas régions
		w = 0.3
	}
	switch c.Categorie {
	case atlaas.CategorieVillage:
		if c.Population < 300 {
			w *= 0.3
		}
	default:
		w *= math.Sqrt(float64(min(c.Population, 300_000)) / 10_000)
	}
	return w, c.Categorie
}

// participations returns the generated participations (not the published ones), ordered.
func (g *generator) participations() []atlaas.Participation {
	var out []atlaas.Participation
	for _, t := range g.years {
		for idx, p := range g.parts[t.annee] {
			if g.pins[t.annee][idx].published {
				continue
			}
			out = append(out, *p)
		}
	}
	slices.SortFunc(out, func(a, b atlaas.Participation) int {
		return cmp.Or(cmp.Compare(a.Annee, b.Annee), cmp.Compare(a.Collectivite, b.Collectivite))
	})
	return out
}

func (g *generator) stats() Stats {
	s := Stats{ParticipantsByYear: map[int]int{}, PublicationsByYear: map[int]int{}, DistinctFiches: len(g.plans), Continuation: g.continuation}
	seen := map[int]bool{}
	for _, t := range g.years {
		s.ParticipantsByYear[t.annee] = len(g.parts[t.annee])
		for idx := range g.parts[t.annee] {
			seen[idx] = true
		}
	}
	s.DistinctCollectivites = len(seen)
	for _, p := range g.plans {
		for y := p.first; y <= p.last; y++ {
			s.PublicationsByYear[int(y)]++
		}
	}
	return s
}
