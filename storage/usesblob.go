package storage

import (
	"encoding/binary"
	"errors"
	"maps"
	"slices"
	"time"
)

// The binary layout of a workspace's use counters (usesDoc.B): a format byte,
// then per credential, in id order, the id's length and bytes, the count, and
// the last use (0: never; else Unix milliseconds + 1), all as unsigned varints.
const usesFormat = 1

var errUsesBlob = errors.New("counters do not decode")

func encodeUses(all map[string]Uses) []byte {
	b := make([]byte, 0, 1+len(all)*40)
	b = append(b, usesFormat)
	for _, id := range slices.Sorted(maps.Keys(all)) {
		u := all[id]
		b = binary.AppendUvarint(b, uint64(len(id)))
		b = append(b, id...)
		b = binary.AppendUvarint(b, uint64(max(u.UseCount, 0)))
		var last uint64
		if u.LastUsedAt != nil && u.LastUsedAt.UnixMilli() >= 0 {
			last = uint64(u.LastUsedAt.UnixMilli()) + 1
		}
		b = binary.AppendUvarint(b, last)
	}
	return b
}

func decodeUses(b []byte) (map[string]Uses, error) {
	out := map[string]Uses{}
	if len(b) == 0 {
		return out, nil
	}
	if b[0] != usesFormat {
		return nil, errUsesBlob
	}
	b = b[1:]
	next := func() (uint64, bool) {
		v, n := binary.Uvarint(b)
		if n <= 0 {
			return 0, false
		}
		b = b[n:]
		return v, true
	}
	for len(b) > 0 {
		l, ok := next()
		if !ok || l > uint64(len(b)) {
			return nil, errUsesBlob
		}
		id := string(b[:l])
		b = b[l:]
		n, ok1 := next()
		last, ok2 := next()
		if !ok1 || !ok2 {
			return nil, errUsesBlob
		}
		u := Uses{UseCount: int64(n)}
		if last > 0 {
			t := time.UnixMilli(int64(last - 1)).UTC()
			u.LastUsedAt = &t
		}
		out[id] = u
	}
	return out, nil
}
