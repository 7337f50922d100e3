package adsync

import "context"

type actorKey struct{}

// WithActor returns a context that names who asked for what follows: an
// admin's name from a console session, a CLI user. A run started with it
// (Sync, Apply, Approve) records the name in Run.By, and a resolution
// (Resolve) in Resolution.By when that is empty, so the history says who
// did what. Without it, Run.By is empty: the scheduler or the program.
func WithActor(ctx context.Context, name string) context.Context {
	return context.WithValue(ctx, actorKey{}, cutText(name, maxLabel))
}

// Actor returns the name WithActor put in ctx, "" if none.
func Actor(ctx context.Context) string {
	s, _ := ctx.Value(actorKey{}).(string)
	return s
}
