package sourcetest

import (
	"context"

	"github.com/psasync/adsync"
)

// MemoryHarness returns a harness whose directory is m: the suite tests src,
// which reads m (m itself when src is nil, or a decorator of m such as a
// filtering or caching source). Every field is supported.
func MemoryHarness(m *Memory, src adsync.DirectorySource) Harness {
	if src == nil {
		src = m
	}
	return &memoryHarness{m: m, src: src}
}

type memoryHarness struct {
	m   *Memory
	src adsync.DirectorySource
}

func (h *memoryHarness) Source(context.Context) (adsync.DirectorySource, error) { return h.src, nil }
func (h *memoryHarness) Fields() adsync.FieldSet                                { return adsync.AllFieldSet }

func (h *memoryHarness) AddUsers(_ context.Context, users []adsync.User) ([]string, error) {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = h.m.Add(u)
	}
	return ids, nil
}

func (h *memoryHarness) UpdateUser(_ context.Context, id string, fs adsync.FieldSet, v adsync.Values) error {
	return h.m.Update(id, fs, v)
}

func (h *memoryHarness) RemoveFromScope(_ context.Context, id string) error {
	return h.m.SetInScope(id, false)
}

func (h *memoryHarness) SetEnabled(_ context.Context, id string, enabled bool) error {
	return h.m.SetEnabled(id, enabled)
}
