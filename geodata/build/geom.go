package main

import (
	"fmt"
	"math"
	"sort"
)

// gridScale is the precision of every coordinate we write: 1e-5 degree (about a metre).
const gridScale = 1e5

// toGrid rounds degrees to the integer 1e-5 grid.
func toGrid(v float64) int64 { return int64(math.Round(v * gridScale)) }

// pt is a vertex on the grid: X is the longitude, Y the latitude, both in 1e-5 degrees. Integer
// coordinates make shared borders compare exactly.
type pt struct{ X, Y int64 }

func (a pt) less(b pt) bool { return a.X < b.X || (a.X == b.X && a.Y < b.Y) }

func (a pt) sub(b pt) pt { return pt{a.X - b.X, a.Y - b.Y} }

func cross(a, b pt) int64 { return a.X*b.Y - a.Y*b.X }

func dot(a, b pt) int64 { return a.X*b.X + a.Y*b.Y }

// ring is a closed ring stored open: the last vertex connects back to the first, which is not
// repeated.
type ring []pt

// polygon is a shell followed by its holes.
type polygon []ring

// area2 is twice the signed area of the ring: positive when counter-clockwise. Intermediate
// products may wrap around int64 but the result, far smaller, is exact.
func (r ring) area2() int64 {
	var s int64
	for i := range r {
		j := (i + 1) % len(r)
		s += r[i].X*r[j].Y - r[j].X*r[i].Y
	}
	return s
}

// reversed returns the ring walked the other way.
func (r ring) reversed() ring {
	out := make(ring, len(r))
	for i, p := range r {
		out[len(r)-1-i] = p
	}
	return out
}

// canonical rotates the ring to start at its smallest vertex, so equal rings print equally.
func (r ring) canonical() ring {
	m := 0
	for i, p := range r {
		if p.less(r[m]) {
			m = i
		}
	}
	return append(append(ring{}, r[m:]...), r[:m]...)
}

// cleanRing rounds GeoJSON positions to the grid, drops consecutive duplicates and the closing
// vertex; it returns nil when fewer than three distinct vertices remain.
func cleanRing(coords [][]float64) (ring, error) {
	var r ring
	for _, c := range coords {
		if len(c) < 2 {
			return nil, fmt.Errorf("position with %d values", len(c))
		}
		p := pt{toGrid(c[0]), toGrid(c[1])}
		if len(r) > 0 && r[len(r)-1] == p {
			continue
		}
		r = append(r, p)
	}
	for len(r) > 1 && r[0] == r[len(r)-1] {
		r = r[:len(r)-1]
	}
	if len(r) < 3 {
		return nil, nil
	}
	return r, nil
}

// dissolveStats says what the dissolve had to do.
type dissolveStats struct {
	InputRings     int // rings given
	SharedEdges    int // pairs of opposite edges cancelled (shared borders)
	OutputRings    int // shells and holes written
	Degenerate     int // traced rings of zero area, dropped
	Slivers        int // tiny rings that were not proper shells or holes, dropped
	SliverArea2    int64
	OrphanHoles    int // holes no shell contained, dropped
	OverlapEdges   int // directed edges present twice (overlapping inputs)
	ForcedPairings int // steps where the planar pairing of edges was unavailable (broken input)
}

func (s *dissolveStats) add(o dissolveStats) {
	s.InputRings += o.InputRings
	s.SharedEdges += o.SharedEdges
	s.OutputRings += o.OutputRings
	s.Degenerate += o.Degenerate
	s.Slivers += o.Slivers
	s.SliverArea2 += o.SliverArea2
	s.OrphanHoles += o.OrphanHoles
	s.OverlapEdges += o.OverlapEdges
	s.ForcedPairings += o.ForcedPairings
}

// sliverMaxArea2 is the largest doubled area (in grid units²; 1 unit² ≈ 0.87 m² at 45°N) of a
// ring that may be dropped as an artefact rather than fail the build: an area of about 900 m².
const sliverMaxArea2 = 2000

type edge struct{ A, B pt }

// dissolve returns the union of polygons that share borders exactly, as polygons with
// counter-clockwise shells and clockwise holes. Borders shared by two inputs appear once in each
// direction once the inputs are oriented alike; they cancel, and the edges left are chained into
// rings.
func dissolve(polys []polygon) ([]polygon, dissolveStats, error) {
	var st dissolveStats
	count := make(map[edge]int)
	for _, poly := range polys {
		for i, r := range poly {
			st.InputRings++
			if (i == 0) != (r.area2() > 0) {
				r = r.reversed()
			}
			for k := range r {
				count[edge{r[k], r[(k+1)%len(r)]}]++
			}
		}
	}
	out := make(map[pt][]pt)
	for e, n := range count {
		rev := count[edge{e.B, e.A}]
		keep := n - rev
		if rev > 0 && e.A.less(e.B) {
			st.SharedEdges += min(n, rev)
		}
		if keep > 1 {
			st.OverlapEdges += keep - 1
		}
		if keep > 0 {
			out[e.A] = append(out[e.A], e.B)
		}
	}
	if st.OverlapEdges > 0 {
		return nil, st, fmt.Errorf("%d edges are shared in the same direction: inputs overlap", st.OverlapEdges)
	}
	rings, forced := traceRings(out)
	st.ForcedPairings = forced
	res, err := assemble(rings, &st)
	return res, st, err
}

// traceRings chains directed edges into closed walks and splits walks that pass a vertex twice
// into simple rings. At each vertex the walk takes the outgoing edge that turns most to the left,
// which pairs edges as the planar faces do (the face on the left stays the smallest). It returns
// how often that edge had already been used, which only happens with inconsistent input.
func traceRings(out map[pt][]pt) ([]ring, int) {
	starts := make([]pt, 0, len(out))
	for a := range out {
		starts = append(starts, a)
	}
	sort.Slice(starts, func(i, j int) bool { return starts[i].less(starts[j]) })
	used := make(map[edge]bool)
	forced := 0
	var rings []ring
	for _, a := range starts {
		for _, b := range sortedTargets(out[a]) {
			if used[edge{a, b}] {
				continue
			}
			walk, f := traceWalk(out, used, edge{a, b})
			forced += f
			rings = append(rings, splitWalk(walk)...)
		}
	}
	return rings, forced
}

func sortedTargets(bs []pt) []pt {
	out := append([]pt(nil), bs...)
	sort.Slice(out, func(i, j int) bool { return out[i].less(out[j]) })
	return out
}

// traceWalk follows edges from first until the preferred next edge is first again.
func traceWalk(out map[pt][]pt, used map[edge]bool, first edge) ([]pt, int) {
	walk := []pt{first.A}
	used[first] = true
	prev, cur := first.A, first.B
	forced := 0
	for {
		order := leftFirst(out[cur], prev, cur)
		if len(order) == 0 || (edge{cur, order[0]} == first) {
			break
		}
		next, ok := pt{}, false
		for i, c := range order {
			if !used[edge{cur, c}] {
				next, ok = c, true
				if i > 0 {
					forced++
				}
				break
			}
		}
		if !ok {
			// Dead end away from the start: the edges do not form closed rings.
			forced++
			walk = append(walk, cur)
			break
		}
		walk = append(walk, cur)
		used[edge{cur, next}] = true
		prev, cur = cur, next
	}
	return walk, forced
}

// leftFirst orders the targets of the edges leaving cur from the sharpest left turn to the
// sharpest right turn, coming from prev.
func leftFirst(targets []pt, prev, cur pt) []pt {
	back := prev.sub(cur)
	order := sortedTargets(targets)
	sort.SliceStable(order, func(i, j int) bool {
		return turnsMoreLeft(back, order[i].sub(cur), order[j].sub(cur))
	})
	return order
}

// turnsMoreLeft orders outgoing vectors u, v by the clockwise angle from the vector back to the
// previous vertex: the smaller that angle, the sharper the left turn. Exact integer arithmetic.
// Two vectors in the same direction are ordered shorter first.
func turnsMoreLeft(back, u, v pt) bool {
	au, av := cwHalf(back, u), cwHalf(back, v)
	if au != av {
		return au < av
	}
	if c := cross(u, v); c != 0 {
		return c < 0
	}
	return dot(u, u) < dot(v, v)
}

// cwHalf says whether v lies within the first half-turn clockwise from back (0) or the second (1);
// a vector pointing along back itself (a U-turn) comes last.
func cwHalf(back, v pt) int {
	c, d := cross(back, v), dot(back, v)
	switch {
	case c < 0:
		return 0
	case c == 0 && d < 0:
		return 1
	case c > 0:
		return 1
	default: // same direction as back
		return 2
	}
}

// splitWalk cuts a closed walk that visits a vertex more than once into simple rings.
func splitWalk(walk []pt) []ring {
	var rings []ring
	var stack []pt
	pos := make(map[pt]int)
	for _, p := range walk {
		if i, ok := pos[p]; ok {
			loop := append(ring{}, stack[i:]...)
			rings = append(rings, loop)
			for _, q := range stack[i+1:] {
				delete(pos, q)
			}
			stack = stack[:i+1]
			continue
		}
		pos[p] = len(stack)
		stack = append(stack, p)
	}
	return append(rings, ring(stack))
}

// assemble classifies rings by orientation, drops degenerate and sliver rings, and gives each hole
// to the smallest shell that contains it.
func assemble(rings []ring, st *dissolveStats) ([]polygon, error) {
	var shells, holes []ring
	for _, r := range rings {
		a := r.area2()
		switch {
		case len(r) < 3 || a == 0:
			st.Degenerate++
		case a > 0:
			shells = append(shells, r.canonical())
		default:
			holes = append(holes, r.canonical())
		}
	}
	sortRings(shells)
	sortRings(holes)
	shells, err := dropNestedShells(shells, holes, st)
	if err != nil {
		return nil, err
	}
	polys := make([]polygon, len(shells))
	for i, s := range shells {
		polys[i] = polygon{s}
	}
	for _, h := range holes {
		i := smallestContaining(shells, h)
		if i < 0 {
			if -h.area2() > sliverMaxArea2 {
				return nil, fmt.Errorf("hole of doubled area %d at %v is inside no shell", -h.area2(), h[0])
			}
			st.OrphanHoles++
			continue
		}
		if -h.area2() <= sliverMaxArea2 {
			// A gap between two inputs that do not quite share a border: fill it.
			st.Slivers++
			st.SliverArea2 += -h.area2()
			continue
		}
		polys[i] = append(polys[i], h)
	}
	for _, p := range polys {
		st.OutputRings += len(p)
	}
	return polys, nil
}

// dropNestedShells removes shells lying inside another shell but in none of its holes: overlaps of
// inputs. Tiny ones are reported as slivers; a large one fails the build.
func dropNestedShells(shells, holes []ring, st *dissolveStats) ([]ring, error) {
	var kept []ring
	for i, s := range shells {
		nested := false
		for j, t := range shells {
			if i == j || t.area2() < s.area2() || !ringInside(s, t) {
				continue
			}
			inHole := false
			for _, h := range holes {
				if ringInside(h, t) && ringInside(s, h) {
					inHole = true
					break
				}
			}
			if !inHole {
				nested = true
				break
			}
		}
		if !nested {
			kept = append(kept, s)
			continue
		}
		if s.area2() > sliverMaxArea2 {
			return nil, fmt.Errorf("shell of doubled area %d at %v overlaps another shell", s.area2(), s[0])
		}
		st.Slivers++
		st.SliverArea2 += s.area2()
	}
	return kept, nil
}

// sortRings orders rings by decreasing absolute area, then by first vertex.
func sortRings(rs []ring) {
	sort.SliceStable(rs, func(i, j int) bool {
		ai, aj := abs64(rs[i].area2()), abs64(rs[j].area2())
		if ai != aj {
			return ai > aj
		}
		return rs[i][0].less(rs[j][0])
	})
}

func abs64(v int64) int64 {
	if v < 0 {
		return -v
	}
	return v
}

// smallestContaining returns the index of the smallest shell containing r, or -1.
func smallestContaining(shells []ring, r ring) int {
	best := -1
	for i, s := range shells {
		if abs64(s.area2()) < abs64(r.area2()) || !ringInside(r, s) {
			continue
		}
		if best < 0 || s.area2() < shells[best].area2() {
			best = i
		}
	}
	return best
}

// ringInside reports whether ring r lies inside ring s, testing a vertex of r that is not a vertex
// of s (rings of a valid polygon touch at most at vertices), or, if all are shared, the middle of
// an edge of r.
func ringInside(r, s ring) bool {
	if !bboxInside(r, s) {
		return false
	}
	verts := make(map[pt]bool, len(s))
	for _, p := range s {
		verts[p] = true
	}
	for _, p := range r {
		if !verts[p] {
			return pointInRing(pt{2 * p.X, 2 * p.Y}, s, 2)
		}
	}
	for i := range r {
		a, b := r[i], r[(i+1)%len(r)]
		mid := pt{a.X + b.X, a.Y + b.Y}
		if !onBoundary(mid, s, 2) {
			return pointInRing(mid, s, 2)
		}
	}
	return false
}

// bboxInside is a quick rejection test on bounding boxes.
func bboxInside(r, s ring) bool {
	rmin, rmax := bbox(r)
	smin, smax := bbox(s)
	return rmin.X >= smin.X && rmin.Y >= smin.Y && rmax.X <= smax.X && rmax.Y <= smax.Y
}

func bbox(r ring) (pt, pt) {
	lo, hi := r[0], r[0]
	for _, p := range r[1:] {
		lo.X, lo.Y = min(lo.X, p.X), min(lo.Y, p.Y)
		hi.X, hi.Y = max(hi.X, p.X), max(hi.Y, p.Y)
	}
	return lo, hi
}

// pointInRing is the even-odd crossing test; p is given scaled by k relative to the ring.
func pointInRing(p pt, r ring, k int64) bool {
	in := false
	for i := range r {
		a := pt{k * r[i].X, k * r[i].Y}
		b := pt{k * r[(i+1)%len(r)].X, k * r[(i+1)%len(r)].Y}
		if (a.Y > p.Y) == (b.Y > p.Y) {
			continue
		}
		// x of the edge at p.Y compared with p.X, without division.
		lhs := (p.X - a.X) * (b.Y - a.Y)
		rhs := (b.X - a.X) * (p.Y - a.Y)
		if (b.Y > a.Y) == (lhs < rhs) {
			in = !in
		}
	}
	return in
}

// onBoundary reports whether p (scaled by k) lies on an edge of r.
func onBoundary(p pt, r ring, k int64) bool {
	for i := range r {
		a := pt{k * r[i].X, k * r[i].Y}
		b := pt{k * r[(i+1)%len(r)].X, k * r[(i+1)%len(r)].Y}
		if cross(b.sub(a), p.sub(a)) == 0 && dot(p.sub(a), p.sub(b)) <= 0 {
			return true
		}
	}
	return false
}
