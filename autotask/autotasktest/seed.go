package autotasktest

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Fields are a contact's values by Autotask REST field name (for example
// "firstName", "emailAddress", "isActive", "countryID"), as seeded and as
// inspected. Names are matched case-insensitively. Integer fields are int64
// on output (isActive is 0 or 1), dates time.Time, blanks nil.
type Fields map[string]any

// AddCompany adds a company and returns its id.
func (s *Server) AddCompany(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	r := s.companies.blankRecord()
	r["companyName"] = name
	r["companyType"] = int64(1)
	r["isActive"] = true
	r["ownerResourceID"] = int64(29682885)
	r["phone"] = "555-0100"
	r["createDate"] = s.now()
	return s.companies.insert(r)
}

// SeedContact adds a contact under companyID with the given fields, through
// the same validation as a POST (required names, lengths, references), and
// returns its id. isActive defaults to 1. createDate and lastModifiedDate,
// read-only on the wire, may be set here as time.Time.
func (s *Server) SeedContact(companyID int64, f Fields) (int64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	t := s.contacts
	if _, ok := s.companies.byID[companyID]; !ok {
		return 0, fmt.Errorf("autotasktest: company %d does not exist; add it with AddCompany", companyID)
	}
	row := t.blankRecord()
	row["companyID"] = companyID
	row["isActive"] = int64(1)
	now := s.now()
	row["createDate"], row["lastModifiedDate"] = now, now
	for k, v := range f {
		m := t.field(k)
		if m == nil {
			return 0, fmt.Errorf("autotasktest: unknown contact field %q", k)
		}
		if m.Name == "id" || m.Name == "companyID" {
			continue
		}
		if b, ok := v.(bool); ok && m.Name == "isActive" {
			v = map[bool]int64{false: 0, true: 1}[b]
		}
		cv, err := convertValue(m, v)
		if err != nil {
			return 0, fmt.Errorf("autotasktest: %w", err)
		}
		row[m.Name] = cv
	}
	if errs := s.validateContact(row); len(errs) > 0 {
		return 0, errors.New("autotasktest: " + strings.Join(errs, "; "))
	}
	id := t.insert(row)
	s.byCompany[companyID] = append(s.byCompany[companyID], row)
	return id, nil
}

// SetContactUDF sets a user-defined field of a contact, as an admin would
// in the Autotask UI: queries and reads then return it in
// userDefinedFields (§2.5). A blank value is stored as null. The
// contact's other UDFs are kept; its lastModifiedDate becomes now, as
// after any edit.
func (s *Server) SetContactUDF(contactID int64, name, value string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.contacts.byID[contactID]; !ok {
		return fmt.Errorf("autotasktest: contact %d does not exist", contactID)
	}
	if strings.TrimSpace(name) == "" {
		return errors.New("autotasktest: a user-defined field needs a name")
	}
	u := udf{Name: name}
	if value != "" {
		u.Value = &value
	}
	s.mergeUDFs(s.contacts, contactID, []udf{u})
	s.contacts.byID[contactID]["lastModifiedDate"] = s.now()
	return nil
}

// Contact returns a copy of a contact's fields, and whether it exists.
func (s *Server) Contact(id int64) (Fields, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	r, ok := s.contacts.byID[id]
	if !ok {
		return nil, false
	}
	return Fields(copyRecord(r)), true
}

// Contacts returns copies of a company's contacts in ascending id order.
func (s *Server) Contacts(companyID int64) []Fields {
	s.mu.Lock()
	defer s.mu.Unlock()
	rows := s.byCompany[companyID]
	out := make([]Fields, len(rows))
	for i, r := range rows {
		out[i] = Fields(copyRecord(r))
	}
	return out
}

// ContactCount is the number of contacts in all companies.
func (s *Server) ContactCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.contacts.rows)
}

// Touch sets a contact's lastModifiedDate, as an edit in the Autotask UI
// would.
func (s *Server) Touch(id int64, at time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r, ok := s.contacts.byID[id]; ok {
		r["lastModifiedDate"] = at.UTC().Truncate(time.Millisecond)
	}
}

// AddBillingProduct adds a product that billing product associations may
// reference, and returns its id.
func (s *Server) AddBillingProduct(name string) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	id := int64(29_683_000 + len(s.products))
	s.products[id] = name
	return id
}

// BillingProducts returns the ids of the products associated with a
// contact, in the order the associations were made.
func (s *Server) BillingProducts(contactID int64) []int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	var ids []int64
	for _, r := range s.byContact[contactID] {
		ids = append(ids, r["billingProductID"].(int64))
	}
	return ids
}

func copyRecord(r record) record {
	c := make(record, len(r))
	for k, v := range r {
		c[k] = v
	}
	return c
}

func sortRows(rows []record) {
	slices.SortFunc(rows, func(a, b record) int {
		x, y := a["id"].(int64), b["id"].(int64)
		switch {
		case x < y:
			return -1
		case x > y:
			return 1
		}
		return 0
	})
}
