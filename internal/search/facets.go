package search

import (
	"cmp"
	"math"
	"slices"
	"strconv"
	"sync"

	"github.com/RoaringBitmap/roaring/v2"

	"atlaas/internal/atlaas"
)

// facetTable holds, in memory, which fiches have each facet value: one compressed bitmap of
// fiche ids per value. Counting a facet's values under a filter is then a handful of bitmap
// intersections instead of a visit of every matching document's values in the index, which
// measured 60 % of a search's time; facet filters are bitmap unions and intersections too.
// Bleve still answers the text and geography of a search, and its page.
//
// It is filled with the index (from the same snapshot when the index is built, from the
// source before the outbox is replayed when an index is opened) and follows every change the
// service applies to the index. Fiche ids must fit in 32 bits; past that the service does
// without a table and counts facets in the index.
type facetTable struct {
	mu   sync.RWMutex
	live *roaring.Bitmap
	// bits: facet (and fieldArobasesAnnee) → value → the live fiches that have it.
	bits map[string]map[string]*roaring.Bitmap
	// The collectivité of each fiche, as an index into collCodes (+1; 0 is none), so that
	// a removal and the counts of this many-valued facet need no scan of its bitmaps.
	coll      []uint32
	collCodes []string
	collIdx   map[string]uint32
}

func newFacetTable() *facetTable {
	t := &facetTable{live: roaring.New(), bits: map[string]map[string]*roaring.Bitmap{}, collIdx: map[string]uint32{}}
	for _, f := range append(slices.Clone(atlaas.Facets), fieldArobasesAnnee) {
		t.bits[f] = map[string]*roaring.Bitmap{}
	}
	return t
}

// facetValuesOf lists a fiche's value of every facet, as the index stores them (document
// uses it too, so that both agree).
func facetValuesOf(d atlaas.FicheDocument) map[string][]string {
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
	one := func(v string) []string {
		if v == "" {
			return nil
		}
		return []string{v}
	}
	return map[string][]string{
		atlaas.FacetEnjeu:        d.Enjeux,
		atlaas.FacetService:      d.Services,
		atlaas.FacetRegion:       one(d.Region),
		atlaas.FacetDepartement:  one(d.Departement),
		atlaas.FacetCollectivite: one(d.Collectivite),
		atlaas.FacetCategorie:    one(d.Categorie),
		atlaas.FacetPopulation:   one(atlaas.PopulationBand(d.Population)),
		atlaas.FacetArobases:     levels,
		fieldArobasesAnnee:       pairs,
		atlaas.FacetAnnee:        annees,
		atlaas.FacetMention:      d.Mentions,
		atlaas.FacetStatut:       one(d.Statut),
	}
}

// fits reports whether a fiche id can be held by the table.
func fits(id int64) bool { return id >= 0 && id <= math.MaxUint32 }

// put records a fiche (replacing what the table knew of it).
func (t *facetTable) put(d atlaas.FicheDocument) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removeLocked(d.ID)
	id := uint32(d.ID)
	t.live.Add(id)
	for facet, values := range facetValuesOf(d) {
		byValue := t.bits[facet]
		for _, v := range values {
			bm := byValue[v]
			if bm == nil {
				bm = roaring.New()
				byValue[v] = bm
			}
			bm.Add(id)
		}
	}
	idx, ok := t.collIdx[d.Collectivite]
	if !ok {
		t.collCodes = append(t.collCodes, d.Collectivite)
		idx = uint32(len(t.collCodes))
		t.collIdx[d.Collectivite] = idx
	}
	if int(id) >= len(t.coll) {
		t.coll = slices.Grow(t.coll, int(id)+1-len(t.coll))[:int(id)+1]
	}
	t.coll[id] = idx
}

// size is an estimate of the memory the table holds, in bytes.
func (t *facetTable) size() uint64 {
	t.mu.RLock()
	defer t.mu.RUnlock()
	n := t.live.GetSizeInBytes() + uint64(4*cap(t.coll))
	for _, byValue := range t.bits {
		for v, bm := range byValue {
			n += bm.GetSizeInBytes() + uint64(len(v))
		}
	}
	for _, c := range t.collCodes {
		n += uint64(len(c)) + 16
	}
	return n
}

// remove forgets a fiche.
func (t *facetTable) remove(id int64) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.removeLocked(id)
}

func (t *facetTable) removeLocked(id64 int64) {
	id := uint32(id64)
	if !t.live.Contains(id) {
		return
	}
	t.live.Remove(id)
	for facet, byValue := range t.bits {
		if facet == atlaas.FacetCollectivite {
			continue
		}
		for _, bm := range byValue {
			bm.Remove(id)
		}
	}
	if int(id) < len(t.coll) && t.coll[id] != 0 {
		if bm := t.bits[atlaas.FacetCollectivite][t.collCodes[t.coll[id]-1]]; bm != nil {
			bm.Remove(id)
		}
		t.coll[id] = 0
	}
}

// union is the fiches having any of the values of a facet (or field).
func (t *facetTable) union(field string, values []string) *roaring.Bitmap {
	var bms []*roaring.Bitmap
	for _, v := range values {
		if bm := t.bits[field][v]; bm != nil {
			bms = append(bms, bm)
		}
	}
	return roaring.FastOr(bms...)
}

// filterBits is the fiches a facet's filter keeps, nil when the filter has no value; it has
// the meaning of facetFilter.
func (t *facetTable) filterBits(f atlaas.FicheFilter, facet string) *roaring.Bitmap {
	values := f.Filters[facet]
	if len(values) == 0 {
		return nil
	}
	if facet == atlaas.FacetArobases && len(f.Filters[atlaas.FacetAnnee]) > 0 {
		return t.union(fieldArobasesAnnee, yearLevelPairs(f.Filters[atlaas.FacetAnnee], values))
	}
	return t.union(facet, values)
}

// counts returns the count of every value of every facet for the fiches in match (nil: every
// live fiche) under f's facet filters, each facet counted without its own filter
// (multi-select facets), and the number of fiches that pass every filter.
func (t *facetTable) counts(f atlaas.FicheFilter, match *roaring.Bitmap) (map[string]map[string]int, uint64) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	if match == nil {
		match = t.live
	}
	filters := map[string]*roaring.Bitmap{}
	for _, facet := range atlaas.Facets {
		if bm := t.filterBits(f, facet); bm != nil {
			filters[facet] = bm
		}
	}
	// within(without) is match under every filter but one facet's.
	within := func(without string) *roaring.Bitmap {
		bms := []*roaring.Bitmap{match}
		for facet, bm := range filters {
			if facet != without {
				bms = append(bms, bm)
			}
		}
		if len(bms) == 1 {
			return match
		}
		return roaring.FastAnd(bms...)
	}
	all := within("")
	out := make(map[string]map[string]int, len(atlaas.Facets))
	for _, facet := range atlaas.Facets {
		base := all
		if filters[facet] != nil {
			base = within(facet)
		}
		out[facet] = t.facetCounts(f, facet, base)
	}
	return out, all.GetCardinality()
}

// facetCounts counts one facet's values among base, keeping its facetSize largest. The @ level,
// once éditions are chosen, counts the level at those éditions.
func (t *facetTable) facetCounts(f atlaas.FicheFilter, facet string, base *roaring.Bitmap) map[string]int {
	out := map[string]int{}
	if base.IsEmpty() {
		return out
	}
	switch years := f.Filters[atlaas.FacetAnnee]; {
	case facet == atlaas.FacetArobases && len(years) > 0:
		for level := 1; level <= 5; level++ {
			l := strconv.Itoa(level)
			if n := t.union(fieldArobasesAnnee, yearLevelPairs(years, []string{l})).AndCardinality(base); n > 0 {
				out[l] = int(n)
			}
		}
	case facet == atlaas.FacetCollectivite:
		n := make([]int, len(t.collCodes)+1)
		it := base.Iterator()
		for it.HasNext() {
			if id := it.Next(); int(id) < len(t.coll) {
				n[t.coll[id]]++
			}
		}
		for i, c := range n[1:] {
			if c > 0 {
				out[t.collCodes[i]] = c
			}
		}
	default:
		for v, bm := range t.bits[facet] {
			if n := bm.AndCardinality(base); n > 0 {
				out[v] = int(n)
			}
		}
	}
	return largest(out, facetSize[facet])
}

// largest keeps the n largest counts (ties: the smaller value), as the index's facets do.
func largest(counts map[string]int, n int) map[string]int {
	if n <= 0 || len(counts) <= n {
		return counts
	}
	type kv struct {
		v string
		n int
	}
	all := make([]kv, 0, len(counts))
	for v, c := range counts {
		all = append(all, kv{v, c})
	}
	slices.SortFunc(all, func(a, b kv) int {
		if c := cmp.Compare(b.n, a.n); c != 0 {
			return c
		}
		return cmp.Compare(a.v, b.v)
	})
	out := make(map[string]int, n)
	for _, e := range all[:n] {
		out[e.v] = e.n
	}
	return out
}

// yearLevelPairs are the "annee:level" values of fieldArobasesAnnee for years × levels.
func yearLevelPairs(years, levels []string) []string {
	pairs := make([]string, 0, len(years)*len(levels))
	for _, y := range years {
		for _, l := range levels {
			pairs = append(pairs, y+":"+l)
		}
	}
	return pairs
}
