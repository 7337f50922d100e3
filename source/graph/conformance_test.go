package graph_test

import (
	"context"
	"fmt"
	"strings"
	"testing"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/source/graph"
	"github.com/psasync/adsync/source/graph/graphtest"
	"github.com/psasync/adsync/source/sourcetest"
)

// harness runs the source conformance suite against the emulator: each
// harness is a fresh emulator with an empty group.
type harness struct {
	srv *graphtest.Server
	gid string
}

var _ sourcetest.Harness = (*harness)(nil)

func (h *harness) Source(context.Context) (adsync.DirectorySource, error) {
	return graph.New(graph.Config{GroupID: h.gid, BaseURL: h.srv.GraphURL(), Credential: graph.StaticToken("conformance")})
}

// Fields are those with a Graph property in the default map: Graph has no
// middle initial and no alternate phone (docs/rules.md §5).
func (h *harness) Fields() adsync.FieldSet {
	return adsync.AllFieldSet &^ adsync.NewFieldSet(adsync.MiddleInitial, adsync.AlternatePhone)
}

// setValues writes contact values onto the Graph user properties they are
// read from (the default map, in reverse).
func setValues(u *graphtest.User, fs adsync.FieldSet, v adsync.Values) {
	line1, line2 := u.StreetAddress, ""
	if l1, l2, ok := strings.Cut(u.StreetAddress, "\n"); ok {
		line1, line2 = l1, l2
	}
	for _, f := range fs.Fields() {
		s := v[f]
		switch f {
		case adsync.FirstName:
			u.GivenName = s
		case adsync.LastName:
			u.Surname = s
		case adsync.Email:
			u.Mail = s
		case adsync.Title:
			u.JobTitle = s
		case adsync.Phone:
			u.BusinessPhones = nil
			if s != "" {
				u.BusinessPhones = []string{s}
			}
		case adsync.MobilePhone:
			u.MobilePhone = s
		case adsync.Fax:
			u.FaxNumber = s
		case adsync.AddressLine:
			line1 = s
		case adsync.AddressLine2:
			line2 = s
		case adsync.City:
			u.City = s
		case adsync.State:
			u.State = s
		case adsync.ZipCode:
			u.PostalCode = s
		case adsync.CountryID:
			u.UsageLocation = s
		case adsync.RoomNumber:
			u.OfficeLocation = s
		}
	}
	u.StreetAddress = line1
	if line2 != "" {
		u.StreetAddress += "\n" + line2
	}
}

func (h *harness) AddUsers(_ context.Context, users []adsync.User) ([]string, error) {
	ids := make([]string, len(users))
	for i, au := range users {
		u := graphtest.User{UserPrincipalName: au.UPN, DisplayName: au.Name, Disabled: !au.Enabled}
		setValues(&u, h.Fields(), au.Values)
		ids[i] = h.srv.PutUser(u)
	}
	h.srv.AddMembers(h.gid, ids...)
	return ids, nil
}

func (h *harness) UpdateUser(_ context.Context, id string, fs adsync.FieldSet, v adsync.Values) error {
	if !h.srv.UpdateUser(id, func(u *graphtest.User) { setValues(u, fs, v) }) {
		return fmt.Errorf("no user %s", id)
	}
	return nil
}

func (h *harness) RemoveFromScope(_ context.Context, id string) error {
	h.srv.RemoveMember(h.gid, id)
	return nil
}

func (h *harness) SetEnabled(_ context.Context, id string, enabled bool) error {
	if !h.srv.UpdateUser(id, func(u *graphtest.User) { u.Disabled = !enabled }) {
		return fmt.Errorf("no user %s", id)
	}
	return nil
}

func TestConformance(t *testing.T) {
	sourcetest.Run(t, func(t *testing.T) sourcetest.Harness {
		srv := graphtest.NewServer()
		t.Cleanup(srv.Close)
		return &harness{srv: srv, gid: srv.AddGroup("", "Conformance")}
	})
}
