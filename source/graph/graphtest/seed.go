package graphtest

import "slices"

// The seeding API. Misuse (a member added to an unknown group) panics, like
// a failed test helper: it is a bug in the test, not a Graph condition.

// AddGroup creates a group and returns its id (a new GUID-shaped one when
// id is empty). Adding an existing id renames it.
func (s *Server) AddGroup(id, displayName string) string {
	return s.addObject(id, "#microsoft.graph.group", displayName)
}

// AddObject creates a directory object that is neither a user nor a group,
// such as a device ("#microsoft.graph.device"), an org contact
// ("#microsoft.graph.orgContact") or a service principal
// ("#microsoft.graph.servicePrincipal"), so that it can be made a member.
func (s *Server) AddObject(id, odataType, displayName string) string {
	return s.addObject(id, odataType, displayName)
}

func (s *Server) addObject(id, odataType, displayName string) string {
	if id == "" {
		id = newID()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if o, ok := s.objects[id]; ok {
		o.displayName = displayName
		return id
	}
	s.objects[id] = &object{id: id, odataType: odataType, displayName: displayName}
	s.changed()
	return id
}

// AddMembers makes users, groups or other objects direct members of a
// group. Adding a member twice has no effect.
func (s *Server) AddMembers(groupID string, memberIDs ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.group(groupID)
	for _, m := range memberIDs {
		_, isUser := s.users[m]
		_, isObj := s.objects[m]
		if !isUser && !isObj {
			panic("graphtest: AddMembers: no user or object with id " + m)
		}
		if _, ok := g.memberSet[m]; !ok {
			if g.memberSet == nil {
				g.memberSet = map[string]struct{}{}
			}
			g.memberSet[m] = struct{}{}
			g.members = append(g.members, m)
		}
	}
	s.changed()
}

// RemoveMember removes a direct member from a group.
func (s *Server) RemoveMember(groupID, memberID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.group(groupID)
	if _, ok := g.memberSet[memberID]; ok {
		delete(g.memberSet, memberID)
		g.members = slices.DeleteFunc(g.members, func(m string) bool { return m == memberID })
	}
	s.changed()
}

// group returns the group with the id; callers hold mu.
func (s *Server) group(id string) *object {
	g, ok := s.objects[id]
	if !ok || g.odataType != "#microsoft.graph.group" {
		panic("graphtest: no group with id " + id)
	}
	return g
}

// PutUser creates the user, or replaces it when its id exists, and returns
// its id (a new GUID-shaped one when u.ID is empty). It counts as a change
// for users/delta.
func (s *Server) PutUser(u User) string {
	if u.ID == "" {
		u.ID = newID()
	}
	u = cloneUser(u)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.changes = append(s.changes, u.ID)
	delete(s.removed, u.ID)
	s.changed()
	if r, ok := s.users[u.ID]; ok {
		r.u = u
		return u.ID
	}
	s.seq++
	s.users[u.ID] = &userRec{u: u, seq: s.seq}
	return u.ID
}

// AddUsers creates the users (as PutUser) and makes them direct members of
// the group; it returns their ids in order.
func (s *Server) AddUsers(groupID string, users ...User) []string {
	ids := make([]string, len(users))
	for i, u := range users {
		ids[i] = s.PutUser(u)
	}
	s.AddMembers(groupID, ids...)
	return ids
}

// UpdateUser changes a user in place and reports whether it exists. It
// counts as a change for users/delta.
func (s *Server) UpdateUser(id string, change func(*User)) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.users[id]
	if !ok {
		return false
	}
	change(&r.u)
	r.u.ID = id
	s.changes = append(s.changes, id)
	s.changed()
	return true
}

// DeleteUser deletes a user permanently: it leaves every group, and
// users/delta reports it with "@removed": {"reason": "deleted"}. It reports
// whether the user existed.
func (s *Server) DeleteUser(id string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.users[id]; !ok {
		return false
	}
	delete(s.users, id)
	for _, o := range s.objects {
		if _, ok := o.memberSet[id]; ok {
			delete(o.memberSet, id)
			o.members = slices.DeleteFunc(o.members, func(m string) bool { return m == id })
		}
	}
	s.changed()
	s.changes = append(s.changes, id)
	s.removed[id] = "deleted"
	return true
}

// User returns a copy of the user with the id.
func (s *Server) User(id string) (User, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.users[id]
	if !ok {
		return User{}, false
	}
	return cloneUser(r.u), true
}

// ExpireDeltaTokens makes every delta and skip token issued so far invalid,
// as Graph does after 7 days or when it asks for a resync. A request with
// one is answered with status (410 Gone with a Location header to restart
// from, as Graph documents for resyncRequired, or 400 with
// syncStateNotFound); 0 means 410.
func (s *Server) ExpireDeltaTokens(status int) {
	if status == 0 {
		status = 410
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.epoch++
	s.expiry = status
}

func cloneUser(u User) User {
	u.OtherMails = slices.Clone(u.OtherMails)
	u.ProxyAddresses = slices.Clone(u.ProxyAddresses)
	u.BusinessPhones = slices.Clone(u.BusinessPhones)
	if u.Extra != nil {
		m := make(map[string]any, len(u.Extra))
		for k, v := range u.Extra {
			m[k] = v
		}
		u.Extra = m
	}
	return u
}
