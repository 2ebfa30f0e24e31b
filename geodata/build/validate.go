package main

import (
	"fmt"
	"sort"
)

// validate checks what makes a MultiPolygon valid and could go wrong here: every ring has at
// least three distinct vertices and passes no vertex twice, shells turn counter-clockwise and
// holes clockwise, and no two edges of the whole geometry cross, overlap or touch except at
// shared end points.
func validate(polys []polygon) error {
	if len(polys) == 0 {
		return fmt.Errorf("empty geometry")
	}
	var segs []segment
	for i, p := range polys {
		for j, r := range p {
			if err := validateRing(r, j == 0); err != nil {
				return fmt.Errorf("polygon %d ring %d: %w", i, j, err)
			}
			for k := range r {
				segs = append(segs, newSegment(r[k], r[(k+1)%len(r)]))
			}
		}
	}
	return checkIntersections(segs)
}

// validateRing checks the size, simplicity at vertices and orientation of one ring.
func validateRing(r ring, shell bool) error {
	if len(r) < 3 {
		return fmt.Errorf("%d vertices", len(r))
	}
	seen := make(map[pt]bool, len(r))
	for _, p := range r {
		if seen[p] {
			return fmt.Errorf("vertex %v visited twice", p)
		}
		seen[p] = true
	}
	if a := r.area2(); (a > 0) != shell || a == 0 {
		return fmt.Errorf("wrong orientation (doubled area %d, shell %v)", a, shell)
	}
	return nil
}

// segment is an edge with its x-extent, for the sweep.
type segment struct {
	A, B       pt
	MinX, MaxX int64
}

func newSegment(a, b pt) segment {
	return segment{A: a, B: b, MinX: min(a.X, b.X), MaxX: max(a.X, b.X)}
}

// checkIntersections sweeps the segments along x and tests the pairs whose x-extents overlap.
func checkIntersections(segs []segment) error {
	sort.Slice(segs, func(i, j int) bool { return segs[i].MinX < segs[j].MinX })
	for i := range segs {
		for j := i + 1; j < len(segs) && segs[j].MinX <= segs[i].MaxX; j++ {
			if conflict(segs[i], segs[j]) {
				return fmt.Errorf("edges %v-%v and %v-%v intersect", segs[i].A, segs[i].B, segs[j].A, segs[j].B)
			}
		}
	}
	return nil
}

// conflict reports whether two edges meet anywhere other than at one common end point.
func conflict(s, t segment) bool {
	if max(s.A.Y, s.B.Y) < min(t.A.Y, t.B.Y) || max(t.A.Y, t.B.Y) < min(s.A.Y, s.B.Y) {
		return false
	}
	d1 := orient(s.A, s.B, t.A)
	d2 := orient(s.A, s.B, t.B)
	d3 := orient(t.A, t.B, s.A)
	d4 := orient(t.A, t.B, s.B)
	if d1 == 0 && d2 == 0 {
		return collinearOverlap(s, t)
	}
	shared := s.A == t.A || s.A == t.B || s.B == t.A || s.B == t.B
	if shared {
		// Non-collinear edges sharing an end point meet only there.
		return false
	}
	if d1*d2 < 0 && d3*d4 < 0 {
		return true // proper crossing
	}
	// An end point lying on the other edge.
	return (d1 == 0 && onSegment(s, t.A)) || (d2 == 0 && onSegment(s, t.B)) ||
		(d3 == 0 && onSegment(t, s.A)) || (d4 == 0 && onSegment(t, s.B))
}

// orient is the sign of the turn a→b→c.
func orient(a, b, c pt) int {
	v := cross(b.sub(a), c.sub(a))
	switch {
	case v > 0:
		return 1
	case v < 0:
		return -1
	}
	return 0
}

// onSegment reports whether p, known to be collinear with s, lies within it.
func onSegment(s segment, p pt) bool {
	return min(s.A.X, s.B.X) <= p.X && p.X <= max(s.A.X, s.B.X) &&
		min(s.A.Y, s.B.Y) <= p.Y && p.Y <= max(s.A.Y, s.B.Y)
}

// collinearOverlap reports whether two collinear edges share more than one point.
func collinearOverlap(s, t segment) bool {
	// Project on the dominant axis of s.
	key := func(p pt) int64 { return p.X }
	if abs64(s.B.X-s.A.X) < abs64(s.B.Y-s.A.Y) {
		key = func(p pt) int64 { return p.Y }
	}
	s0, s1 := min(key(s.A), key(s.B)), max(key(s.A), key(s.B))
	t0, t1 := min(key(t.A), key(t.B)), max(key(t.A), key(t.B))
	return min(s1, t1) > max(s0, t0)
}
