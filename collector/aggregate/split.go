package aggregate

import "math/bits"

// split spreads a record's bytes and packets over the minutes its [start,
// end) interval overlaps, in proportion to the overlap, with an integer split
// that keeps the exact totals; its one flow goes to the minute of start. A
// record with end == start puts everything in the minute of start. The
// shares are appended to dst (which is returned), one per minute, oldest
// first.
func split(dst []cell, start, end int64, bytes, packets uint64) []cell {
	first := floorDiv(start, 60)
	if end <= start {
		return append(dst, cell{minute: first, bytes: bytes, packets: packets, flows: 1})
	}
	last := floorDiv(end-1, 60)
	if first == last {
		return append(dst, cell{minute: first, bytes: bytes, packets: packets, flows: 1})
	}
	d := uint64(end - start)
	var covered, prevBytes, prevPackets uint64
	for m := first; m <= last; m++ {
		lo, hi := max(start, m*60), min(end, (m+1)*60)
		covered += uint64(hi - lo)
		// The cumulative share floor(total * covered / d) telescopes to the
		// exact total at the last minute.
		b, p := scale(bytes, covered, d), scale(packets, covered, d)
		s := cell{minute: m, bytes: b - prevBytes, packets: p - prevPackets}
		if m == first {
			s.flows = 1
		}
		prevBytes, prevPackets = b, p
		dst = append(dst, s)
	}
	return dst
}

// scale returns floor(v * num / den) without overflow, for num ≤ den.
func scale(v, num, den uint64) uint64 {
	hi, lo := bits.Mul64(v, num)
	q, _ := bits.Div64(hi, lo, den)
	return q
}

func floorDiv(a, b int64) int64 {
	q := a / b
	if a%b != 0 && (a < 0) != (b < 0) {
		q--
	}
	return q
}
