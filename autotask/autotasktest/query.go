package autotasktest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// maxRecordsMessage is the production message for MaxRecords out of range
// (docs/autotask-api.md §3.4).
const maxRecordsMessage = "maxCountOfRecordsToReturn must be between 1 and 500"

// queryModel is a parsed QueryModel (§3.2): keys are case-insensitive.
type queryModel struct {
	filter     []*cond
	maxRecords int // 0: absent
	include    map[string]bool
}

// cond is one compiled filter condition.
type cond struct {
	op    string // lower case
	field *fieldMeta
	udf   string // UDF name when udf:true
	value any
	list  []any
	items []*cond
}

var knownOps = map[string]bool{
	"eq": true, "noteq": true, "gt": true, "gte": true, "lt": true, "lte": true,
	"beginswith": true, "endswith": true, "contains": true, "exist": true, "notexist": true,
	"in": true, "notin": true, "and": true, "or": true,
}

// lowerKeys decodes a JSON object with its keys lower-cased.
func lowerKeys(b []byte) (map[string]json.RawMessage, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, err
	}
	out := make(map[string]json.RawMessage, len(m))
	for k, v := range m {
		out[strings.ToLower(k)] = v
	}
	return out, nil
}

// parseQuery compiles a QueryModel for table t. The error text is what the
// emulator answers with HTTP 500.
func parseQuery(t *table, body []byte) (*queryModel, error) {
	m, err := lowerKeys(body)
	if err != nil {
		return nil, msgf("The query could not be parsed: %v", err)
	}
	q := &queryModel{}
	if raw, ok := m["maxrecords"]; ok && string(raw) != "null" {
		n, err := strconv.Atoi(string(raw))
		if err != nil || n < 1 || n > 500 {
			return nil, msgf(maxRecordsMessage)
		}
		q.maxRecords = n
	}
	if raw, ok := m["includefields"]; ok && string(raw) != "null" {
		var names []string
		if err := json.Unmarshal(raw, &names); err != nil {
			return nil, msgf("IncludeFields must be an array of field names")
		}
		if len(names) > 0 {
			q.include = map[string]bool{}
			for _, n := range names {
				f := t.field(n)
				if f == nil {
					return nil, msgf("Unable to find %s in the %s entity.", n, t.entity)
				}
				q.include[f.Name] = true
			}
		}
	}
	raw, ok := m["filter"]
	if !ok || string(raw) == "null" {
		return nil, msgf("A filter is required.")
	}
	var items []json.RawMessage
	if err := json.Unmarshal(raw, &items); err != nil {
		return nil, msgf("The filter must be an array of conditions.")
	}
	udfs := 0
	for _, it := range items {
		c, err := parseCond(t, it, &udfs)
		if err != nil {
			return nil, err
		}
		q.filter = append(q.filter, c)
	}
	if udfs > 1 {
		return nil, msgf("Only one user-defined field condition is allowed per query.")
	}
	return q, nil
}

func parseCond(t *table, raw json.RawMessage, udfs *int) (*cond, error) {
	m, err := lowerKeys(raw)
	if err != nil {
		return nil, msgf("A filter condition could not be parsed: %v", err)
	}
	var op, field string
	var isUDF bool
	_ = json.Unmarshal(m["op"], &op)
	_ = json.Unmarshal(m["field"], &field)
	_ = json.Unmarshal(m["udf"], &isUDF)
	c := &cond{op: strings.ToLower(op)}
	if !knownOps[c.op] {
		return nil, msgf("Invalid filter operator %q.", op)
	}
	if c.op == "and" || c.op == "or" {
		var items []json.RawMessage
		if err := json.Unmarshal(m["items"], &items); err != nil || len(items) == 0 {
			return nil, msgf("The %s operator needs a non-empty items array.", c.op)
		}
		for _, it := range items {
			sub, err := parseCond(t, it, udfs)
			if err != nil {
				return nil, err
			}
			c.items = append(c.items, sub)
		}
		return c, nil
	}
	if isUDF {
		*udfs++
		c.udf = field
		c.field = &fieldMeta{Name: field, DataType: "string"}
	} else {
		c.field = t.field(field)
		if c.field == nil {
			return nil, msgf("Unable to find %s in the %s entity.", field, t.entity)
		}
		if c.field.NoQuery {
			return nil, msgf("The field %s cannot be queried.", c.field.Name)
		}
	}
	if c.op == "exist" || c.op == "notexist" {
		return c, nil
	}
	var v any
	if rv, ok := m["value"]; ok {
		if err := json.Unmarshal(rv, &v); err != nil {
			return nil, msgf("The value for %s could not be parsed.", field)
		}
	}
	if c.op == "in" || c.op == "notin" {
		arr, ok := v.([]any)
		if !ok {
			return nil, msgf("The %s operator needs an array value for %s.", op, field)
		}
		for _, x := range arr {
			cv, err := convertFilterValue(c.field, x)
			if err != nil {
				return nil, err
			}
			c.list = append(c.list, cv)
		}
		return c, nil
	}
	if c.field.DataType == "boolean" {
		if _, ok := v.(bool); !ok {
			return nil, msgf("The value for the boolean field %s must be true or false.", c.field.Name)
		}
	}
	cv, err := convertFilterValue(c.field, v)
	if err != nil {
		return nil, err
	}
	c.value = cv
	return c, nil
}

func convertFilterValue(f *fieldMeta, v any) (any, error) {
	if v == nil {
		return nil, msgf("A null value is not allowed in a filter on %s; use exist or notExist.", f.Name)
	}
	if s, ok := v.(string); ok && f.DataType == "string" {
		return strings.ToLower(s), nil
	}
	if b, ok := v.(bool); ok && (f.DataType == "integer" || f.DataType == "long") {
		// [I] an int field compared with a boolean: treat as 0/1.
		if b {
			return int64(1), nil
		}
		return int64(0), nil
	}
	cv, err := convertValue(f, v)
	if err != nil {
		return nil, msgf("The value %v is not valid for %s.", v, f.Name)
	}
	return cv, nil
}

// compare returns -1, 0, 1 comparing a record value with a filter value of
// the same field type; ok is false when either is null.
func compare(a, b any) (int, bool) {
	switch x := a.(type) {
	case string:
		y, ok := b.(string)
		if !ok {
			return 0, false
		}
		return strings.Compare(strings.ToLower(x), y), true
	case int64:
		y, ok := b.(int64)
		if !ok {
			return 0, false
		}
		switch {
		case x < y:
			return -1, true
		case x > y:
			return 1, true
		}
		return 0, true
	case bool:
		y, ok := b.(bool)
		if !ok {
			return 0, false
		}
		if x == y {
			return 0, true
		}
		return 1, true
	case time.Time:
		y, ok := b.(time.Time)
		if !ok {
			return 0, false
		}
		return x.Compare(y), true
	}
	return 0, false
}

func (c *cond) match(t *table, r record) bool {
	switch c.op {
	case "and":
		for _, it := range c.items {
			if !it.match(t, r) {
				return false
			}
		}
		return true
	case "or":
		for _, it := range c.items {
			if it.match(t, r) {
				return true
			}
		}
		return false
	}
	var v any
	if c.udf != "" {
		id, _ := r["id"].(int64)
		for _, u := range t.udfs[id] {
			if strings.EqualFold(u.Name, c.udf) && u.Value != nil {
				v = *u.Value
			}
		}
	} else {
		v = r[c.field.Name]
	}
	switch c.op {
	case "exist":
		return v != nil
	case "notexist":
		return v == nil
	case "in", "notin":
		found := false
		for _, x := range c.list {
			if cmp, ok := compare(v, x); ok && cmp == 0 {
				found = true
				break
			}
		}
		return found == (c.op == "in")
	case "beginswith", "endswith", "contains":
		s, ok := v.(string)
		want, _ := c.value.(string)
		if !ok {
			return false
		}
		s = strings.ToLower(s)
		switch c.op {
		case "beginswith":
			return strings.HasPrefix(s, want)
		case "endswith":
			return strings.HasSuffix(s, want)
		}
		return strings.Contains(s, want)
	}
	cmp, ok := compare(v, c.value)
	if !ok {
		// [I] null is "not equal" to any value, and no other comparison holds.
		return c.op == "noteq"
	}
	switch c.op {
	case "eq":
		return cmp == 0
	case "noteq":
		return cmp != 0
	case "gt":
		return cmp > 0
	case "gte":
		return cmp >= 0
	case "lt":
		return cmp < 0
	case "lte":
		return cmp <= 0
	}
	return false
}

// candidates narrows the rows to scan, so that the usual queries cost what
// they return rather than the table's size: a top-level "companyID eq" on
// contacts and "contactID eq" on billing associations use their index, and
// top-level id bounds (gt, gte, eq, lt, lte) cut the rows by binary search.
func (s *Server) candidates(t *table, q *queryModel) []record {
	rows := t.rows
	for _, c := range q.filter {
		if c.op != "eq" || c.field == nil || c.udf != "" {
			continue
		}
		id, _ := c.value.(int64)
		if t == s.contacts && c.field.Name == "companyID" {
			rows = s.byCompany[id]
			break
		}
		if t == s.billing && c.field.Name == "contactID" {
			rows = s.byContact[id]
			break
		}
	}
	var minID, maxID int64 = -1 << 62, 1 << 62
	for _, c := range q.filter {
		if c.field != nil && c.udf == "" && c.field.Name == "id" {
			if n, ok := c.value.(int64); ok {
				switch c.op {
				case "gt":
					minID = max(minID, n+1)
				case "gte":
					minID = max(minID, n)
				case "eq":
					minID, maxID = max(minID, n), min(maxID, n)
				case "lt":
					maxID = min(maxID, n-1)
				case "lte":
					maxID = min(maxID, n)
				}
			}
		}
	}
	// Rows are in ascending id order in every table and index.
	first := func(bound int64) int {
		lo, hi := 0, len(rows)
		for lo < hi {
			mid := (lo + hi) / 2
			if rows[mid]["id"].(int64) < bound {
				lo = mid + 1
			} else {
				hi = mid
			}
		}
		return lo
	}
	lo, hi := first(minID), len(rows)
	if maxID < 1<<62 {
		hi = first(maxID + 1)
	}
	if lo >= hi {
		return nil
	}
	return rows[lo:hi]
}

func (q *queryModel) matches(t *table, r record) bool {
	for _, c := range q.filter {
		if !c.match(t, r) {
			return false
		}
	}
	return true
}

// paging is the cursor carried by nextPageUrl (§3.4).
type paging struct {
	PageSize    int     `json:"pageSize"`
	PreviousIDs []int64 `json:"previousIds"`
	NextIDs     []int64 `json:"nextIds"`
}

// serveQuery answers query, query/count and query/next for table t.
// rest is the path after the entity segment, lower case ("query",
// "query/count", "query/next").
func (s *Server) serveQuery(w http.ResponseWriter, r *http.Request, t *table, rest string, body []byte, base string) {
	var search []byte
	switch r.Method {
	case http.MethodPost:
		search = body
	case http.MethodGet:
		sp := r.URL.Query().Get("search")
		if sp == "" {
			// A nextPageUrl of a POST query carries no search: GET cannot
			// replay it (§3.4, WYRE PR #170).
			writeMethodNotAllowed(w, "GET")
			return
		}
		search = []byte(sp)
	default:
		writeMethodNotAllowed(w, r.Method)
		return
	}
	status, answer, records := s.answerQuery(r, t, rest, search, base)
	if n, ok := r.Context().Value(recordsKey{}).(*int); ok {
		*n = records // answerAt waits for the model's response time
	} else if d := time.Duration(records) * s.modelPerRecord(); d > 0 {
		// A fault's request: the per-record cost, spent in the thread
		// slot, not under the lock.
		select {
		case <-time.After(d):
		case <-r.Context().Done():
			return
		case <-s.done:
		}
	}
	writeJSON(w, status, answer)
}

// answerQuery computes the answer of a query and the number of records it
// returns.
func (s *Server) answerQuery(r *http.Request, t *table, rest string, search []byte, base string) (int, any, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	q, err := parseQuery(t, search)
	if err != nil {
		return http.StatusInternalServerError, errorsBody(err.Error()), 0
	}
	if rest == "query/count" {
		n := 0
		for _, row := range s.candidates(t, q) {
			if q.matches(t, row) && !s.hidden(t, row) {
				n++
			}
		}
		return http.StatusOK, map[string]any{"queryCount": n}, 0
	}
	pageSize := 500
	if q.maxRecords > 0 {
		pageSize = q.maxRecords
	}
	var pg paging
	if rest == "query/next" {
		if err := json.Unmarshal([]byte(r.URL.Query().Get("paging")), &pg); err != nil || len(pg.NextIDs) == 0 {
			return http.StatusInternalServerError, errorsBody("The paging parameter is missing or invalid."), 0
		}
		pageSize = pg.PageSize
		q.filter = append(q.filter, &cond{op: "gte", field: t.field("id"), value: pg.NextIDs[0]})
	}
	items := make([]map[string]any, 0, min(pageSize, 64))
	var nextID int64 = -1
	for _, row := range s.candidates(t, q) {
		if !q.matches(t, row) || s.hidden(t, row) {
			continue
		}
		if len(items) == pageSize {
			nextID = row["id"].(int64)
			break
		}
		items = append(items, t.wire(row, q.include, s.opts.OmitEmptyUDF))
	}
	details := map[string]any{"count": len(items), "requestCount": pageSize, "prevPageUrl": nil, "nextPageUrl": nil}
	if nextID >= 0 {
		prev := []int64{-1}
		if len(pg.NextIDs) > 0 {
			prev = pg.NextIDs
		}
		pj, _ := json.Marshal(paging{PageSize: pageSize, PreviousIDs: prev, NextIDs: []int64{nextID}})
		u := base + "V1.0/" + t.path + "/query/next?paging=" + url.QueryEscape(string(pj))
		if r.Method == http.MethodGet {
			u += "&search=" + url.QueryEscape(string(search))
		}
		details["nextPageUrl"] = u
	}
	return http.StatusOK, map[string]any{"items": items, "pageDetails": details}, len(items)
}
