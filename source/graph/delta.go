package graph

import (
	"context"
	"encoding/json"
	"net/url"
	"strings"

	"github.com/microsoftgraph/msgraph-sdk-go/users"

	"github.com/psasync/adsync"
)

// UsersSince is the incremental read (docs/directories.md §A4). With cursor "" it
// is a full read of the group's members (as Users) and returns a cursor:
// the users/delta link taken just before the read, so that no change made
// during it is lost. With a cursor it reads users/delta from there and
// delivers the users changed since who are members of the group now;
// users who were deleted or left the group are not reported (the periodic
// full read catches them, as it catches membership changes, which
// users/delta does not show). It returns the next cursor.
//
// A cursor Graph no longer accepts (410 Gone, syncStateNotFound: delta
// tokens of directory objects live 7 days) or that is not a users/delta
// link of this source's Graph gives an error wrapping
// adsync.ErrCursorExpired: the caller then reads in full.
func (s *Source) UsersSince(ctx context.Context, cursor string, page func([]adsync.User) error) (string, error) {
	if cursor == "" {
		next, err := s.latestDeltaLink(ctx)
		if err != nil {
			return "", err
		}
		if err := s.Users(ctx, page); err != nil {
			return "", err
		}
		return next, nil
	}
	if !s.ownDeltaLink(cursor) {
		return "", &Error{Op: "resuming users/delta", Kind: adsync.ErrCursorExpired,
			Message: "the cursor is not a users/delta link of " + s.base, Hint: "a full read is needed"}
	}
	members, err := s.memberIDs(ctx)
	if err != nil {
		return "", err
	}
	const op = "reading users/delta"
	ri, err := linkRequest(cursor, nil)
	if err != nil {
		return "", &Error{Op: op, Kind: adsync.ErrCursorExpired, Message: err.Error(), Hint: "a full read is needed"}
	}
	body, err := s.getBody(ctx, ri)
	if err != nil {
		return "", s.apiError(op, err)
	}
	// A user may come back more than once in one round (replays, a user
	// repeated across pages): the last entry wins, and a user deleted in
	// the round is not delivered. Only members are kept, so this holds at
	// most the group's size.
	var order []string
	latest := map[string]*adsync.User{}
	next, err := s.walk(ctx, body, nil, op,
		func(u adsync.User, removed bool) error {
			if !members[u.ID] {
				return nil
			}
			if _, ok := latest[u.ID]; !ok {
				order = append(order, u.ID)
			}
			if removed {
				latest[u.ID] = nil
			} else {
				latest[u.ID] = &u
			}
			return nil
		})
	if err != nil {
		return "", err
	}
	if next == "" {
		return "", &Error{Op: op, Kind: adsync.ErrCursorExpired, Message: "the last page had no @odata.deltaLink", Hint: "a full read is needed"}
	}
	p := &pager{ctx: ctx, page: page}
	for _, id := range order {
		if u := latest[id]; u != nil {
			if err := p.add(*u); err != nil {
				return "", err
			}
		}
	}
	if err := p.flush(); err != nil {
		return "", err
	}
	s.log.DebugContext(ctx, "graph: incremental read through users/delta", "group", s.cfg.GroupID,
		"members", len(members), "changedMembers", len(order))
	return next, nil
}

// latestDeltaLink asks for a deltaLink that starts now ($deltatoken=latest),
// with the source's $select encoded in it.
func (s *Source) latestDeltaLink(ctx context.Context) (string, error) {
	const op = "starting users/delta"
	q := url.Values{"$select": {strings.Join(s.m.sel, ",")}, "$deltatoken": {"latest"}}
	// Builders made from a raw URL ignore QueryParameters (docs/directories.md §A8).
	resp, err := users.NewDeltaRequestBuilder(s.base+"/users/delta()?"+q.Encode(), s.adapter).GetAsDeltaGetResponse(ctx, nil)
	if err != nil {
		return "", s.apiError(op, err)
	}
	if resp == nil || resp.GetOdataDeltaLink() == nil || *resp.GetOdataDeltaLink() == "" {
		return "", &Error{Op: op, Message: "Graph answered without an @odata.deltaLink"}
	}
	return *resp.GetOdataDeltaLink(), nil
}

// ownDeltaLink reports whether a cursor is a users/delta URL under this
// source's Graph root: a cursor is followed with a token, so it must not
// lead anywhere else.
func (s *Source) ownDeltaLink(cursor string) bool {
	u, err := url.Parse(cursor)
	b, _ := url.Parse(s.base)
	if err != nil || b == nil {
		return false
	}
	return strings.EqualFold(u.Scheme, b.Scheme) && strings.EqualFold(u.Host, b.Host) &&
		strings.HasPrefix(u.Path, b.Path+"/users/delta")
}

// memberIDs reads the ids of the group's user members ($select=id).
func (s *Source) memberIDs(ctx context.Context) (map[string]bool, error) {
	op := s.membersOp()
	body, headers, err := s.firstMembersPage(ctx, []string{"id"}, pageSize)
	if err != nil {
		return nil, s.apiError(op, err)
	}
	var page struct {
		Value []struct {
			ID string `json:"id"`
		} `json:"value"`
		NextLink string `json:"@odata.nextLink"`
	}
	ids := map[string]bool{}
	for {
		clear(page.Value[:cap(page.Value)]) // a null entry must not keep an id of the page before
		page.Value, page.NextLink = page.Value[:0], ""
		if err := json.Unmarshal(body, &page); err != nil {
			return nil, &Error{Op: op, Kind: adsync.ErrUnavailable, Message: "Graph answered a page that is not a user collection: " + err.Error()}
		}
		for _, u := range page.Value {
			if u.ID != "" {
				ids[u.ID] = true
			}
		}
		if page.NextLink == "" {
			return ids, nil
		}
		ri, err := linkRequest(page.NextLink, headers)
		if err != nil {
			return nil, &Error{Op: op, Kind: adsync.ErrUnavailable, Message: err.Error()}
		}
		if body, err = s.getBody(ctx, ri); err != nil {
			return nil, s.apiError(op, err)
		}
	}
}
