package autotasktest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// hidden reports whether row is a contact created under a CommitDelay
// fault that is not visible yet. s.mu is held.
func (s *Server) hidden(t *table, row record) bool {
	if t != s.contacts || len(s.pending) == 0 {
		return false
	}
	id, _ := row["id"].(int64)
	at, ok := s.pending[id]
	if !ok {
		return false
	}
	if !s.now().Before(at) {
		delete(s.pending, id)
		return false
	}
	return true
}

// route serves an authenticated request; segs is the path after V1.0.
func (s *Server) route(w http.ResponseWriter, r *http.Request, segs []string, body []byte, base string) {
	lower := make([]string, len(segs))
	for i, p := range segs {
		lower[i] = strings.ToLower(p)
	}
	switch lower[0] {
	case "thresholdinformation":
		if r.Method != http.MethodGet {
			writeMethodNotAllowed(w, r.Method)
			return
		}
		s.mu.Lock()
		n := s.rollingCount()
		s.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{
			"externalRequestThreshold": s.opts.HourlyLimit, "requestThresholdTimeframe": 60,
			"currentTimeframeRequestCount": n})
		return
	case "contacts":
		if len(lower) == 3 && lower[2] == "billingproductassociations" {
			s.serveBillingChild(w, r, segs[1], body)
			return
		}
		if len(lower) == 4 && lower[2] == "billingproductassociations" {
			s.serveBillingOne(w, r, lower[1], lower[3])
			return
		}
		if len(lower) == 1 {
			// Writes on /Contacts do not exist (§2.1, §0.1).
			writeNoRoute(w, r)
			return
		}
		s.serveEntity(w, r, s.contacts, lower, body, base)
		return
	case "companies":
		if len(lower) >= 3 && lower[2] == "contacts" {
			s.serveCompanyContacts(w, r, lower, body, base)
			return
		}
		if len(lower) == 1 {
			s.serveCompanyWrite(w, r, body)
			return
		}
		s.serveEntity(w, r, s.companies, lower, body, base)
		return
	case "countries":
		s.serveEntity(w, r, s.countries, lower, body, base)
		return
	case "contactbillingproductassociations":
		s.serveEntity(w, r, s.billing, lower, body, base)
		return
	}
	writeNoRoute(w, r)
}

// serveEntity serves the read routes of an entity: {id}, query[/count|/next],
// entityInformation[/fields|/userDefinedFields].
func (s *Server) serveEntity(w http.ResponseWriter, r *http.Request, t *table, lower []string, body []byte, base string) {
	if len(lower) < 2 {
		writeNoRoute(w, r)
		return
	}
	rest := strings.Join(lower[1:], "/")
	switch rest {
	case "query", "query/count", "query/next":
		s.serveQuery(w, r, t, rest, body, base)
		return
	case "entityinformation", "entityinformation/fields", "entityinformation/userdefinedfields":
		if r.Method != http.MethodGet {
			writeMethodNotAllowed(w, r.Method)
			return
		}
		s.serveEntityInfo(w, t, rest)
		return
	}
	id, err := strconv.ParseInt(lower[1], 10, 64)
	if err != nil || len(lower) != 2 {
		writeNoRoute(w, r)
		return
	}
	s.serveItem(w, r, t, id, nil)
}

// serveItem answers a GET of one record of t as {"item": …}. A record that
// is missing, not visible yet, or that belongs refuses answers 200
// {"item": null} ([I] §5.3).
func (s *Server) serveItem(w http.ResponseWriter, r *http.Request, t *table, id int64, belongs func(record) bool) {
	if r.Method != http.MethodGet {
		writeMethodNotAllowed(w, r.Method)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	row, ok := t.byID[id]
	if !ok || s.hidden(t, row) || belongs != nil && !belongs(row) {
		writeJSON(w, http.StatusOK, map[string]any{"item": nil})
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"item": t.wire(row, nil, s.opts.OmitEmptyUDF)})
}

func (s *Server) serveEntityInfo(w http.ResponseWriter, t *table, rest string) {
	switch rest {
	case "entityinformation":
		writable := t == s.contacts || t == s.billing
		writeJSON(w, http.StatusOK, map[string]any{"info": map[string]any{
			"name": t.entity, "canCreate": writable || t == s.companies, "canDelete": t == s.contacts,
			"canQuery": true, "canUpdate": t != s.billing, "userAccessForCreate": "All",
			"userAccessForDelete": "All", "userAccessForQuery": "All", "userAccessForUpdate": "All",
			"hasUserDefinedFields": t == s.contacts || t == s.companies, "supportsWebhookCallouts": t == s.contacts}})
	case "entityinformation/fields":
		fields := make([]map[string]any, len(t.fields))
		for i := range t.fields {
			fields[i] = t.fields[i].wire()
		}
		writeJSON(w, http.StatusOK, map[string]any{"fields": fields})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"fields": []any{}})
	}
}

// serveCompanyContacts serves Companies/{id}/Contacts[/{cid}]: the only
// place contacts are written (§2.1, §4).
func (s *Server) serveCompanyContacts(w http.ResponseWriter, r *http.Request, lower []string, body []byte, base string) {
	companyID, err := strconv.ParseInt(lower[1], 10, 64)
	if err != nil || len(lower) > 4 {
		writeNoRoute(w, r)
		return
	}
	if len(lower) == 4 {
		id, err := strconv.ParseInt(lower[3], 10, 64)
		if err != nil {
			writeNoRoute(w, r)
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.serveItem(w, r, s.contacts, id, func(row record) bool { return row["companyID"] == companyID })
		case http.MethodDelete:
			// Deleting is supported by Autotask but never used by a sync; the
			// emulator refuses it so that a test notices (R-DEACT-1).
			writeErrors(w, http.StatusInternalServerError, "emulator: contacts are never deleted by adsync; deactivate (isActive: 0) instead.")
		default:
			writeMethodNotAllowed(w, r.Method)
		}
		return
	}
	switch r.Method {
	case http.MethodGet:
		// The child list: one company's contacts, first page only, in a
		// query envelope.
		q := fmt.Appendf(nil, `{"filter":[{"op":"eq","field":"companyID","value":%d}]}`, companyID)
		r2 := r.Clone(r.Context())
		r2.Method = http.MethodPost
		s.serveQuery(w, r2, s.contacts, "query", q, base)
	case http.MethodPost, http.MethodPatch, http.MethodPut:
		s.mu.Lock()
		delay, _ := r.Context().Value(commitDelayKey{}).(time.Duration)
		id, errs := s.writeContact(r.Method, companyID, body, delay)
		drop := len(errs) == 0 && s.dropWrites > 0
		if drop {
			s.dropWrites--
		}
		s.mu.Unlock()
		switch {
		case len(errs) > 0:
			writeErrors(w, http.StatusInternalServerError, errs...)
		case drop:
			dropConnection(w)
		default:
			writeJSON(w, http.StatusOK, map[string]any{"itemId": id})
		}
	default:
		writeMethodNotAllowed(w, r.Method)
	}
}

// writeContact applies a POST, PATCH or PUT on Companies/{companyID}/Contacts.
// A created contact stays hidden from reads for commitDelay. It returns the
// id, or the errors to answer with HTTP 500. s.mu is held.
func (s *Server) writeContact(method string, companyID int64, body []byte, commitDelay time.Duration) (int64, []string) {
	m, err := lowerKeys(body)
	if err != nil {
		return 0, []string{"The request body could not be parsed as a Contact: " + err.Error()}
	}
	if _, ok := s.companies.byID[companyID]; !ok {
		return 0, []string{fmt.Sprintf("Value does not reference an existing entity for companyID. The parent Company %d does not exist.", companyID)}
	}
	t := s.contacts
	var row record
	switch method {
	case http.MethodPost:
		row = t.blankRecord()
		row["companyID"] = companyID
	default:
		var id int64
		if raw, ok := m["id"]; !ok || json.Unmarshal(raw, &id) != nil || id == 0 {
			return 0, []string{"An id is required to update a Contact."}
		}
		cur, ok := t.byID[id]
		if !ok || cur["companyID"] != companyID || s.hidden(t, cur) {
			return 0, []string{fmt.Sprintf("No matching records found. Contact %d does not exist under Company %d, or the resource lacks permission.", id, companyID)}
		}
		row = make(record, len(cur))
		for k, v := range cur {
			row[k] = v
		}
		if method == http.MethodPut {
			// PUT replaces: writable fields missing from the body are nulled (§4.2).
			for _, f := range t.fields {
				if _, ok := m[strings.ToLower(f.Name)]; !ok && !f.ReadOnly && !f.CreateOnly {
					row[f.Name] = nil
				}
			}
		}
	}
	var errs []string
	var udfs []udf
	for k, raw := range m {
		if k == "userdefinedfields" {
			if err := json.Unmarshal(raw, &udfs); err != nil {
				errs = append(errs, "userDefinedFields must be an array of {name, value}.")
			}
			continue
		}
		f := t.field(k)
		if f == nil || f.ReadOnly {
			continue // unknown and read-only fields are ignored, as model binding does
		}
		v, err := convert(f, raw)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		if f.Name == "companyID" {
			if v != companyID {
				errs = append(errs, fmt.Sprintf("companyID %v in the body does not match the parent Company %d in the URL; a contact cannot be moved to another company.", v, companyID))
			}
			continue
		}
		row[f.Name] = v
	}
	errs = append(errs, s.validateContact(row)...)
	if len(errs) > 0 {
		return 0, errs
	}
	now := s.now()
	row["lastModifiedDate"] = now
	var id int64
	if method == http.MethodPost {
		row["createDate"] = now
		id = t.insert(row)
		s.byCompany[companyID] = append(s.byCompany[companyID], row)
		if commitDelay > 0 {
			s.pending[id] = now.Add(commitDelay)
		}
	} else {
		id = row["id"].(int64)
		s.replaceContact(row)
	}
	if len(udfs) > 0 {
		s.mergeUDFs(t, id, udfs)
	}
	return id, nil
}

// replaceContact writes row over the stored contact in place, so that every
// index sees it. s.mu is held.
func (s *Server) replaceContact(row record) {
	old := s.contacts.byID[row["id"].(int64)]
	for k, v := range row {
		old[k] = v
	}
}

func (s *Server) mergeUDFs(t *table, id int64, in []udf) {
	cur := t.udfs[id]
	for _, u := range in {
		found := false
		for i := range cur {
			if strings.EqualFold(cur[i].Name, u.Name) {
				cur[i].Value, found = u.Value, true
			}
		}
		if !found {
			cur = append(cur, u)
		}
	}
	t.udfs[id] = cur
}

// validateContact applies the required, length and reference checks of
// §2.2. s.mu is held.
func (s *Server) validateContact(row record) []string {
	var errs []string
	for _, f := range s.contacts.fields {
		v := row[f.Name]
		if f.Required && !f.ReadOnly && (v == nil || v == "") {
			errs = append(errs, fmt.Sprintf("The field %s is required.", f.Name))
			continue
		}
		if str, ok := v.(string); ok && f.Length > 0 && utf8.RuneCountInString(str) > f.Length {
			errs = append(errs, fmt.Sprintf("The value of the field %s is %d characters long; the maximum length is %d.", f.Name, utf8.RuneCountInString(str), f.Length))
		}
	}
	if a, ok := row["isActive"].(int64); ok && a != 0 && a != 1 {
		errs = append(errs, "The field isActive must be 0 or 1.")
	}
	if c, ok := row["countryID"].(int64); ok {
		if _, found := s.countries.byID[c]; !found {
			errs = append(errs, "Value does not reference an existing entity for countryID.")
		}
	}
	return errs
}

// serveBillingChild serves Contacts/{id}/BillingProductAssociations: POST
// creates an association, GET lists them.
func (s *Server) serveBillingChild(w http.ResponseWriter, r *http.Request, contactSeg string, body []byte) {
	contactID, err := strconv.ParseInt(contactSeg, 10, 64)
	if err != nil {
		writeNoRoute(w, r)
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	switch r.Method {
	case http.MethodGet:
		items := []map[string]any{}
		for _, row := range s.byContact[contactID] {
			items = append(items, s.billing.wire(row, nil, s.opts.OmitEmptyUDF))
		}
		writeJSON(w, http.StatusOK, map[string]any{"items": items, "pageDetails": map[string]any{
			"count": len(items), "requestCount": 500, "prevPageUrl": nil, "nextPageUrl": nil}})
	case http.MethodPost:
		m, err := lowerKeys(body)
		if err != nil {
			writeErrors(w, http.StatusInternalServerError, "The request body could not be parsed: "+err.Error())
			return
		}
		row := s.billing.blankRecord()
		row["contactID"] = contactID
		var errs []string
		for k, raw := range m {
			f := s.billing.field(k)
			if f == nil || f.ReadOnly {
				continue
			}
			v, err := convert(f, raw)
			if err != nil {
				errs = append(errs, err.Error())
				continue
			}
			if f.Name == "contactID" && v != contactID {
				errs = append(errs, fmt.Sprintf("contactID %v in the body does not match the parent Contact %d in the URL.", v, contactID))
				continue
			}
			row[f.Name] = v
		}
		if c, ok := s.contacts.byID[contactID]; !ok || s.hidden(s.contacts, c) {
			errs = append(errs, "Value does not reference an existing entity for contactID.")
		}
		if p, ok := row["billingProductID"].(int64); !ok {
			errs = append(errs, "The field billingProductID is required.")
		} else if _, found := s.products[p]; !found {
			errs = append(errs, "Value does not reference an existing entity for billingProductID.")
		}
		if row["effectiveDate"] == nil {
			errs = append(errs, "The field effectiveDate is required.")
		}
		if len(errs) > 0 {
			writeErrors(w, http.StatusInternalServerError, errs...)
			return
		}
		id := s.billing.insert(row)
		s.byContact[contactID] = append(s.byContact[contactID], row)
		if s.dropWrites > 0 {
			s.dropWrites--
			dropConnection(w)
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"itemId": id})
	default:
		writeMethodNotAllowed(w, r.Method)
	}
}

// serveBillingOne serves GET Contacts/{id}/BillingProductAssociations/{aid}:
// one association as {"item": …}, null when it is not the contact's.
func (s *Server) serveBillingOne(w http.ResponseWriter, r *http.Request, contactSeg, idSeg string) {
	contactID, err1 := strconv.ParseInt(contactSeg, 10, 64)
	id, err2 := strconv.ParseInt(idSeg, 10, 64)
	if err1 != nil || err2 != nil {
		writeNoRoute(w, r)
		return
	}
	s.serveItem(w, r, s.billing, id, func(row record) bool { return row["contactID"] == contactID })
}

// serveCompanyWrite serves POST and PATCH on /Companies (§2.3): companies
// can be created and updated, never deleted.
func (s *Server) serveCompanyWrite(w http.ResponseWriter, r *http.Request, body []byte) {
	if r.Method != http.MethodPost && r.Method != http.MethodPatch {
		writeMethodNotAllowed(w, r.Method)
		return
	}
	m, err := lowerKeys(body)
	if err != nil {
		writeErrors(w, http.StatusInternalServerError, "The request body could not be parsed as a Company: "+err.Error())
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.companies
	var row record
	if r.Method == http.MethodPost {
		row = t.blankRecord()
		row["isActive"] = true
	} else {
		var id int64
		if raw, ok := m["id"]; !ok || json.Unmarshal(raw, &id) != nil {
			writeErrors(w, http.StatusInternalServerError, "An id is required to update a Company.")
			return
		}
		cur, ok := t.byID[id]
		if !ok {
			writeErrors(w, http.StatusInternalServerError, fmt.Sprintf("No matching records found. Company %d does not exist.", id))
			return
		}
		row = copyRecord(cur)
	}
	var errs []string
	for k, raw := range m {
		f := t.field(k)
		if f == nil || f.ReadOnly {
			continue
		}
		v, err := convert(f, raw)
		if err != nil {
			errs = append(errs, err.Error())
			continue
		}
		row[f.Name] = v
	}
	for _, f := range t.fields {
		v := row[f.Name]
		if f.Required && !f.ReadOnly && (v == nil || v == "") {
			errs = append(errs, fmt.Sprintf("The field %s is required.", f.Name))
		}
		if str, ok := v.(string); ok && f.Length > 0 && utf8.RuneCountInString(str) > f.Length {
			errs = append(errs, fmt.Sprintf("The value of the field %s is %d characters long; the maximum length is %d.", f.Name, utf8.RuneCountInString(str), f.Length))
		}
	}
	if len(errs) > 0 {
		writeErrors(w, http.StatusInternalServerError, errs...)
		return
	}
	var id int64
	if r.Method == http.MethodPost {
		row["createDate"] = s.now()
		id = t.insert(row)
	} else {
		id = row["id"].(int64)
		cur := t.byID[id]
		for k, v := range row {
			cur[k] = v
		}
	}
	writeJSON(w, http.StatusOK, map[string]any{"itemId": id})
}
