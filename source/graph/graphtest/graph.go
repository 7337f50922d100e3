package graphtest

import (
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
)

// route dispatches a GET under /v1.0; parts are the path segments after it.
func (s *Server) route(w http.ResponseWriter, r *http.Request, parts []string) {
	q := r.URL.Query()
	switch {
	case len(parts) == 2 && parts[0] == "groups":
		s.serveGroup(w, q, parts[1])
	case len(parts) >= 3 && len(parts) <= 4 && parts[0] == "groups" &&
		(parts[2] == "members" || parts[2] == "transitiveMembers"):
		cast := ""
		if len(parts) == 4 {
			cast = parts[3]
		}
		s.serveMembers(w, r, q, parts[1], parts[2] == "transitiveMembers", cast)
	case len(parts) == 2 && parts[0] == "users" &&
		(parts[1] == "delta" || parts[1] == "delta()" || parts[1] == "microsoft.graph.delta()"):
		s.serveDelta(w, r, q)
	case len(parts) == 2 && parts[0] == "users":
		s.serveUser(w, q, parts[1])
	default:
		writeError(w, http.StatusBadRequest, "BadRequest", "Resource not found for the segment '"+parts[len(parts)-1]+"'.", false)
	}
}

// selectList parses $select: nil when absent.
func selectList(q url.Values) []string {
	v := q.Get("$select")
	if v == "" {
		return nil
	}
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func notFound(w http.ResponseWriter, id string) {
	writeError(w, http.StatusNotFound, "Request_ResourceNotFound",
		"Resource '"+id+"' does not exist or one of its queried reference-property objects are not present.", false)
}

func forbidden(w http.ResponseWriter) {
	writeError(w, http.StatusForbidden, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.", false)
}

// readableGroup returns the group, or answers 403 (no group permission) or
// 404 and returns nil. Callers hold mu.
func (s *Server) readableGroup(w http.ResponseWriter, id string) *object {
	if !s.has(PermGroupMemberReadAll, PermGroupReadAll, PermDirectoryReadAll) {
		forbidden(w)
		return nil
	}
	g, ok := s.objects[id]
	if !ok || g.odataType != "#microsoft.graph.group" {
		notFound(w, id)
		return nil
	}
	return g
}

func (s *Server) serveGroup(w http.ResponseWriter, q url.Values, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	g := s.readableGroup(w, id)
	if g == nil {
		return
	}
	all := map[string]any{"id": g.id, "displayName": g.displayName}
	out := all
	if sel := selectList(q); sel != nil {
		out = map[string]any{"id": g.id}
		for _, p := range sel {
			k, ok := lookupFold(all, p)
			if !ok {
				badRequest(w, "Could not find a property named '%s' on type 'microsoft.graph.group'.", p)
				return
			}
			out[k] = all[k]
		}
	}
	out["@odata.context"] = "$metadata#groups/$entity"
	writeJSON(w, http.StatusOK, out)
}

func (s *Server) serveUser(w http.ResponseWriter, q url.Values, id string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.has(PermUserReadAll, PermDirectoryReadAll) {
		forbidden(w)
		return
	}
	rec, ok := s.users[id]
	if !ok {
		notFound(w, id)
		return
	}
	if s.badSelect(w, q) {
		return
	}
	w.Header().Set("Content-Type", jsonContentType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(rec.u.appendJSON(nil, resolveSelect(selectList(q)), false))
}

// members returns the ids of a group's direct or transitive members, in a
// stable order, each once. Callers hold mu.
func (s *Server) members(g *object, transitive bool) []string {
	var out []string
	seen := map[string]bool{g.id: true}
	var walk func(*object)
	walk = func(g *object) {
		for _, m := range g.members {
			if seen[m] {
				continue
			}
			seen[m] = true
			out = append(out, m)
			if sub, ok := s.objects[m]; ok && transitive && sub.odataType == "#microsoft.graph.group" {
				walk(sub)
			}
		}
	}
	walk(g)
	return out
}

// listing returns the ids of a group's members (users only, if set), each
// once, in a stable order. It is computed once per state of the tenant, so
// that paging through it is linear. Callers hold mu.
func (s *Server) listing(g *object, transitive, usersOnly bool) []string {
	s.fresh()
	key := listKey{g.id, transitive, usersOnly}
	if ids, ok := s.lists[key]; ok {
		return ids
	}
	s.listBuilds++
	ids := []string{}
	for _, m := range s.members(g, transitive) {
		if _, isUser := s.users[m]; isUser || !usersOnly {
			ids = append(ids, m)
		}
	}
	s.lists[key] = ids
	return ids
}

func (s *Server) serveMembers(w http.ResponseWriter, r *http.Request, q url.Values, id string, transitive bool, cast string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	usersOnly := false
	switch cast {
	case "":
	case "microsoft.graph.user", "graph.user":
		usersOnly = true
		if s.advanced && (!strings.EqualFold(r.Header.Get("ConsistencyLevel"), "eventual") || q.Get("$count") != "true") {
			writeError(w, http.StatusBadRequest, "Request_UnsupportedQuery",
				"The specified filter to the reference property query is currently not supported: add ConsistencyLevel: eventual and $count=true.", false)
			return
		}
	default:
		badRequest(w, "The type cast '%s' is not supported for this request.", cast)
		return
	}
	g := s.readableGroup(w, id)
	if g == nil {
		return
	}
	top := 100
	if v := q.Get("$top"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 999 {
			badRequest(w, "Invalid page size specified: '%s'. Must be between 1 and 999 inclusive.", v)
			return
		}
		top = n
	}
	skip := 0
	if v := q.Get("$skiptoken"); v != "" {
		n, err := strconv.Atoi(strings.TrimPrefix(v, "m"))
		if err != nil || n < 0 {
			badRequest(w, "Invalid skip token '%s'.", v)
			return
		}
		skip = n
	}
	if s.badSelect(w, q) {
		return
	}
	sel := selectList(q)
	readUsers := s.has(PermUserReadAll, PermDirectoryReadAll)
	ids := s.listing(g, transitive, usersOnly)
	end := min(skip+top, len(ids))
	count := -1
	if q.Get("$count") == "true" {
		count = len(ids)
	}
	next := ""
	if end < len(ids) {
		v := url.Values{}
		for k, vs := range q {
			v[k] = vs
		}
		v.Set("$top", strconv.Itoa(top))
		v.Set("$skiptoken", "m"+strconv.Itoa(end))
		next = baseURL(r) + r.URL.Path + "?" + v.Encode()
	}
	page := ids[min(skip, len(ids)):end]
	c := newCollection(baseURL(r)+"/v1.0/$metadata#directoryObjects", count, next, "", 512*len(page))
	rs := resolveSelect(sel)
	for _, m := range page {
		rec, isUser := s.users[m]
		switch b := c.next(); {
		case !isUser:
			c.b = s.objects[m].appendJSON(b)
		case !readUsers:
			c.b = rec.u.appendLimited(b)
		default:
			c.b = rec.u.appendJSON(b, rs, true)
		}
	}
	c.write(w)
}

// A delta token is "<epoch>.<version>"; a skip token is
// "<epoch>.<since>.<upto>.<offset>" with since = -1 for the initial round.

func (s *Server) serveDelta(w http.ResponseWriter, r *http.Request, q url.Values) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.has(PermUserReadAll, PermDirectoryReadAll) {
		forbidden(w)
		return
	}
	if s.badSelect(w, q) {
		return
	}
	sel := selectList(q)
	link := func(param, token string) string {
		v := url.Values{}
		if sel != nil {
			v.Set("$select", strings.Join(sel, ","))
		}
		if param != "" {
			v.Set(param, token)
		}
		u := baseURL(r) + r.URL.Path
		if len(v) > 0 {
			u += "?" + v.Encode()
		}
		return u
	}
	expired := func() {
		w.Header().Set("Location", link("", ""))
		if s.expiry == http.StatusGone {
			writeError(w, http.StatusGone, "resyncRequired", "Resync required. The delta token is no longer valid; start again with a request without a token.", false)
		} else {
			writeError(w, s.expiry, "SyncStateNotFound", "The sync state generation is not found. Delete the sync state and start again without a token.", false)
		}
	}
	since, upto, offset := int64(-1), int64(len(s.changes)), 0
	switch dt, st := q.Get("$deltatoken"), q.Get("$skiptoken"); {
	case dt == "latest":
		writeJSON(w, http.StatusOK, map[string]any{"value": []any{}, "@odata.deltaLink": link("$deltatoken", fmt.Sprintf("%d.%d", s.epoch, len(s.changes)))})
		return
	case dt != "":
		var e int
		if _, err := fmt.Sscanf(dt, "%d.%d", &e, &since); err != nil {
			badRequest(w, "Invalid delta token '%s'.", dt)
			return
		}
		if e != s.epoch {
			expired()
			return
		}
	case st != "":
		var e int
		if _, err := fmt.Sscanf(st, "%d.%d.%d.%d", &e, &since, &upto, &offset); err != nil {
			badRequest(w, "Invalid skip token '%s'.", st)
			return
		}
		if e != s.epoch {
			expired()
			return
		}
	}
	if since > upto || upto > int64(len(s.changes)) {
		badRequest(w, "Invalid token.")
		return
	}
	ids := s.deltaItems(since, upto)
	end := min(offset+s.deltaPage, len(ids))
	next, delta := "", ""
	if end < len(ids) {
		next = link("$skiptoken", fmt.Sprintf("%d.%d.%d.%d", s.epoch, since, upto, end))
	} else {
		delta = link("$deltatoken", fmt.Sprintf("%d.%d", s.epoch, upto))
	}
	page := ids[min(offset, len(ids)):end]
	c := newCollection(baseURL(r)+"/v1.0/$metadata#users", -1, next, delta, 512*len(page))
	rs := resolveSelect(sel)
	for _, id := range page {
		if rec, ok := s.users[id]; ok {
			c.b = rec.u.appendJSON(c.next(), rs, false)
		} else if reason, ok := s.removed[id]; ok {
			b := append(c.next(), `{"id":`...)
			b = appendString(b, id)
			b = append(b, `,"@removed":{"reason":`...)
			b = appendString(b, reason)
			c.b = append(b, "}}"...)
		}
	}
	c.write(w)
}

// badSelect answers 400 when $select names a property users do not have:
// one of the model's, or an extension property some user carries. Callers
// hold mu.
func (s *Server) badSelect(w http.ResponseWriter, q url.Values) bool {
	s.fresh()
	if s.extraNames == nil {
		s.extraNames = map[string]bool{}
		for _, r := range s.users {
			for k := range r.u.Extra {
				s.extraNames[strings.ToLower(k)] = true
			}
		}
	}
	for _, name := range selectList(q) {
		if knownProperties[strings.ToLower(name)] == nil && !s.extraNames[strings.ToLower(name)] {
			badRequest(w, "Could not find a property named '%s' on type 'microsoft.graph.user'.", name)
			return true
		}
	}
	return false
}

// deltaItems lists the user ids of a delta round: every user by creation
// order for the initial round (since < 0), else the users changed in the
// change-log window (since, upto], once each at their last change unless
// replays are on. The window is fixed by the tokens, so paging is stable
// while users change. Callers hold mu.
// The listing is computed once per state of the tenant and window, so that
// paging through it is linear.
func (s *Server) deltaItems(since, upto int64) []string {
	s.fresh()
	if since < 0 {
		if s.initial == nil {
			recs := make([]*userRec, 0, len(s.users))
			for _, r := range s.users {
				recs = append(recs, r)
			}
			sort.Slice(recs, func(i, j int) bool { return recs[i].seq < recs[j].seq })
			s.initial = make([]string, len(recs))
			for i, r := range recs {
				s.initial[i] = r.u.ID
			}
		}
		return s.initial
	}
	if w := s.window; w.ids != nil && w.since == since && w.upto == upto && w.replays == s.replays {
		return w.ids
	}
	window := s.changes[since:upto]
	ids := []string{}
	if s.replays {
		ids = append(ids, window...)
	} else {
		last := map[string]int{}
		for i, id := range window {
			last[id] = i
		}
		for i, id := range window {
			if last[id] == i {
				ids = append(ids, id)
			}
		}
	}
	s.window = deltaWindow{since: since, upto: upto, replays: s.replays, ids: ids}
	return ids
}
