package source

import (
	"hash/fnv"
	"strings"
)

// Share is the part of a source's objects one collector instance takes when
// several read the same source (the configuration's instance: index of
// count). Objects are split by the flow log that delivered them, named in
// AWS keys (…_vpcflowlogs_{region}_{flow log id}_{time}_{hash}.log.gz), so
// that every object of one flow log, which describes one VPC's or subnet's
// interfaces, goes to the same instance: what the aggregation learns of
// those interfaces (their VPC, subnet and addresses) stays together. An
// object whose key names no flow log is split by its whole key.
//
// The zero Share (and any Count below 2) owns every object.
type Share struct {
	Index, Count int
}

// Owns reports whether the object under key is this share's.
func (s Share) Owns(key string) bool {
	if s.Count < 2 {
		return true
	}
	return s.Of(key) == s.Index
}

// Of returns the index of the instance that owns key among s.Count.
func (s Share) Of(key string) int {
	if s.Count < 2 {
		return 0
	}
	h := fnv.New64a()
	_, _ = h.Write([]byte(ShareKey(key)))
	return int(h.Sum64() % uint64(s.Count))
}

// Filter returns the objects of objs this share owns (objs itself when it
// owns every object).
func (s Share) Filter(objs []Object) []Object {
	if s.Count < 2 {
		return objs
	}
	out := make([]Object, 0, len(objs)/s.Count+1)
	for _, o := range objs {
		if s.Owns(o.Key) {
			out = append(out, o)
		}
	}
	return out
}

// ShareKey returns what Share splits key by: the flow log id an AWS key
// names (fl-…, the element after the region in the file name), else the
// whole key.
func ShareKey(key string) string {
	name := key[strings.LastIndexByte(key, '/')+1:]
	// {account}_vpcflowlogs_{region}_{flow log id}_{time}_{hash}.log.gz
	parts := strings.SplitN(name, "_", 6)
	if len(parts) == 6 && parts[1] == "vpcflowlogs" && strings.HasPrefix(parts[3], "fl-") {
		return parts[3]
	}
	return key
}

// Presplit is a source whose objects are this instance's already, which
// Share does not split again: a queue's messages (Notify: the queue hands
// each message to one reader), a spool filled by this instance's own
// downloader (spool.Source).
type Presplit interface {
	Presplit()
}

// Splits reports whether Share splits src's objects: not for a Presplit
// source.
func Splits(src Source) bool {
	_, ok := src.(Presplit)
	return !ok
}
