package autotasktest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/psasync/adsync/autotask/autotasktest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests pin the quirks of the notes on the Autotask REST API; each
// cites its section.

type emu struct {
	t   *testing.T
	srv *autotasktest.Server
}

func newEmu(t *testing.T, opts autotasktest.Options) *emu {
	if opts.TimeScale == 0 {
		opts.TimeScale = 0.001
	}
	srv := autotasktest.NewServer(opts)
	t.Cleanup(srv.Close)
	return &emu{t: t, srv: srv}
}

type answer struct {
	status int
	body   map[string]any
	raw    string
}

// call sends a request with the right credentials unless hdr overrides them.
func (e *emu) call(method, path string, body any, hdr map[string]string) answer {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		switch b := body.(type) {
		case string:
			rd = strings.NewReader(b)
		default:
			j, err := json.Marshal(b)
			require.NoError(e.t, err)
			rd = bytes.NewReader(j)
		}
	}
	u := path
	if !strings.HasPrefix(path, "http") {
		u = e.srv.BaseURL() + "V1.0/" + path
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(e.t, err)
	cr := e.srv.Credentials()
	req.Header.Set("ApiIntegrationCode", cr.IntegrationCode)
	req.Header.Set("UserName", cr.Username)
	req.Header.Set("Secret", cr.Secret)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := e.srv.Client().Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	a := answer{status: resp.StatusCode, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func (a answer) errors() []string {
	var out []string
	if l, ok := a.body["errors"].([]any); ok {
		for _, m := range l {
			out = append(out, m.(string))
		}
	}
	return out
}

func (a answer) items() []map[string]any {
	var out []map[string]any
	for _, it := range a.body["items"].([]any) {
		out = append(out, it.(map[string]any))
	}
	return out
}

func (a answer) ids() []int64 {
	var out []int64
	for _, it := range a.items() {
		out = append(out, int64(it["id"].(float64)))
	}
	return out
}

func TestZoneInformation(t *testing.T) {
	e := newEmu(t, autotasktest.Options{})
	user := url.QueryEscape(e.srv.Credentials().Username)
	t.Run("§1.2 no credentials needed, url ends in /ATServicesRest/", func(t *testing.T) {
		resp, err := http.Get(e.srv.ZoneLookupURL() + "v1.0/zoneInformation?user=" + user)
		require.NoError(t, err)
		defer resp.Body.Close()
		var zi map[string]any
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&zi))
		assert.Equal(t, 200, resp.StatusCode)
		assert.True(t, strings.HasSuffix(zi["url"].(string), "/ATServicesRest/"), zi["url"])
		for _, k := range []string{"zoneName", "webUrl", "ci"} {
			assert.Contains(t, zi, k)
		}
	})
	t.Run("§1.2 unknown user is 500 Zone information could not be determined", func(t *testing.T) {
		a := e.call("GET", e.srv.ZoneLookupURL()+"V1.0/ZoneInformation?user=nobody%40example.com", nil, nil)
		assert.Equal(t, 500, a.status)
		assert.Equal(t, []string{autotasktest.UnknownUserMessage}, a.errors())
	})
	t.Run("§1.2 unknown user status is configurable", func(t *testing.T) {
		e2 := newEmu(t, autotasktest.Options{UnknownUserStatus: 404})
		a := e2.call("GET", e2.srv.ZoneLookupURL()+"v1.0/zoneInformation?user=x", nil, nil)
		assert.Equal(t, 404, a.status)
	})
}

func TestAuthentication(t *testing.T) {
	e := newEmu(t, autotasktest.Options{})
	for _, tc := range []struct {
		name   string
		hdr    map[string]string
		status int
	}{
		{"§1.1 right credentials", nil, 200},
		{"§1.1 wrong secret is 401", map[string]string{"Secret": "wrong"}, 401},
		{"§1.1 unknown user is 500, not 401", map[string]string{"UserName": "nobody@example.com"}, 500},
		{"§1.1 invalid integration code is 500, not 401", map[string]string{"ApiIntegrationCode": "NOPE"}, 500},
		{"§1.1 header names are case-insensitive", map[string]string{"apiintegrationcode": e.srv.Credentials().IntegrationCode}, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call("GET", "ThresholdInformation", nil, tc.hdr)
			assert.Equal(t, tc.status, a.status, a.raw)
		})
	}
	t.Run("§1.2 after a zone move the old zone answers 401", func(t *testing.T) {
		old := e.srv.BaseURL()
		e.srv.MoveZone()
		a := e.call("GET", old+"V1.0/ThresholdInformation", nil, nil)
		assert.Equal(t, 401, a.status)
		assert.NotEqual(t, old, e.srv.BaseURL())
		assert.Equal(t, 200, e.call("GET", "ThresholdInformation", nil, nil).status)
	})
}

func TestRoutes(t *testing.T) {
	e := newEmu(t, autotasktest.Options{})
	co := e.srv.AddCompany("Acme")
	id, err := e.srv.SeedContact(co, autotasktest.Fields{"firstName": "Ada", "lastName": "Lovelace"})
	require.NoError(t, err)
	for _, tc := range []struct {
		name, method, path string
		body               any
		status             int
	}{
		{"§2.1 POST on /Contacts does not exist", "POST", "Contacts", map[string]any{"firstName": "A"}, 404},
		{"§2.1 PATCH on /Contacts does not exist", "PATCH", "Contacts", map[string]any{"id": id}, 404},
		{"§2.1 PUT on /Contacts does not exist", "PUT", "Contacts", map[string]any{"id": id}, 404},
		{"§2.1 GET one contact", "GET", "Contacts/" + itoa(id), nil, 200},
		{"§1.3 paths are case-insensitive", "GET", "contacts/" + itoa(id), nil, 200},
		{"§7 wrong verb on a known route is 405", "DELETE", "Contacts/query", nil, 405},
		{"§2.6 entityInformation", "GET", "Contacts/entityInformation", nil, 200},
		{"§2.1 the child list", "GET", "Companies/" + itoa(co) + "/Contacts", nil, 200},
		{"§2.1 entityInformation/fields", "GET", "Contacts/entityInformation/fields", nil, 200},
		{"§2.1 entityInformation/userDefinedFields", "GET", "Contacts/entityInformation/userDefinedFields", nil, 200},
		{"§2.1 query/count", "POST", "Contacts/query/count", map[string]any{"filter": []any{map[string]any{"op": "gt", "field": "id", "value": 0}}}, 200},
		{"§2.1 GET one contact through its company", "GET", "Companies/" + itoa(co) + "/Contacts/" + itoa(id), nil, 200},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.status, e.call(tc.method, tc.path, tc.body, nil).status)
		})
	}
	t.Run("§5.3 a missing record is 200 with a null item", func(t *testing.T) {
		a := e.call("GET", "Contacts/1", nil, nil)
		assert.Equal(t, 200, a.status)
		assert.Contains(t, a.body, "item")
		assert.Nil(t, a.body["item"])
	})
	t.Run("§0.2 isActive is an integer on Contacts, a boolean on Companies", func(t *testing.T) {
		a := e.call("GET", "Contacts/"+itoa(id), nil, nil)
		assert.Equal(t, float64(1), a.body["item"].(map[string]any)["isActive"])
		c := e.call("GET", "Companies/"+itoa(co), nil, nil)
		assert.Equal(t, true, c.body["item"].(map[string]any)["isActive"])
	})
	t.Run("§2.2 every field is present, blanks as null, dates with Z", func(t *testing.T) {
		item := e.call("GET", "Contacts/"+itoa(id), nil, nil).body["item"].(map[string]any)
		assert.Contains(t, item, "emailAddress")
		assert.Nil(t, item["emailAddress"])
		assert.True(t, strings.HasSuffix(item["lastModifiedDate"].(string), "Z"), item["lastModifiedDate"])
		assert.Equal(t, []any{}, item["userDefinedFields"])
	})
	t.Run("a contact carries only the contract's properties", func(t *testing.T) {
		item := e.call("GET", "Contacts/"+itoa(id), nil, nil).body["item"].(map[string]any)
		assert.NotContains(t, item, "billingContact")
		a := e.call("POST", "Contacts/query", map[string]any{"filter": []any{map[string]any{"op": "eq", "field": "billingContact", "value": true}}}, nil)
		assert.Equal(t, 500, a.status, "not a Contact field")
	})
	t.Run("a single billing association is {\"item\": …}", func(t *testing.T) {
		p := e.srv.AddBillingProduct("Seat")
		bp := "Contacts/" + itoa(id) + "/BillingProductAssociations"
		a := e.call("POST", bp, map[string]any{"billingProductID": p, "effectiveDate": "2026-01-01T00:00:00Z"}, nil)
		require.Equal(t, 200, a.status, a.raw)
		aid := int64(a.body["itemId"].(float64))
		one := e.call("GET", bp+"/"+itoa(aid), nil, nil)
		require.Equal(t, 200, one.status, one.raw)
		item, ok := one.body["item"].(map[string]any)
		require.True(t, ok, one.raw)
		assert.Equal(t, float64(p), item["billingProductID"])
		assert.NotContains(t, one.body, "items")
		assert.NotContains(t, item, "userDefinedFields", "associations have none")
		assert.Nil(t, e.call("GET", bp+"/424242", nil, nil).body["item"])
		assert.Equal(t, float64(p), e.call("GET", "ContactBillingProductAssociations/"+itoa(aid), nil, nil).body["item"].(map[string]any)["billingProductID"])
	})
	t.Run("§2.6 field metadata carries lengths and required flags", func(t *testing.T) {
		a := e.call("GET", "Contacts/entityInformation/fields", nil, nil)
		byName := map[string]map[string]any{}
		for _, f := range a.body["fields"].([]any) {
			m := f.(map[string]any)
			byName[m["name"].(string)] = m
		}
		assert.Equal(t, float64(50), byName["firstName"]["length"])
		assert.Equal(t, true, byName["firstName"]["isRequired"])
		assert.Equal(t, float64(254), byName["emailAddress"]["length"])
		assert.Equal(t, float64(0), byName["countryID"]["length"])
		assert.Equal(t, "Country", byName["countryID"]["referenceEntityType"])
		assert.Equal(t, false, byName["surveyOptOut"]["isQueryable"])
	})
	t.Run("§2.4 countries carry ISO codes; the United States is 237", func(t *testing.T) {
		a := e.call("POST", "Countries/query", `{"filter":[{"op":"eq","field":"countryCode","value":"US"}]}`, nil)
		require.Len(t, a.items(), 1)
		assert.Equal(t, float64(237), a.items()[0]["id"])
		assert.Equal(t, "United States", a.items()[0]["displayName"])
	})
}

func itoa(n int64) string { return strconv.FormatInt(n, 10) }

// seedQuery seeds a company for the filter tests and returns the ids.
func seedQuery(t *testing.T, e *emu) (int64, []int64) {
	co := e.srv.AddCompany("Query")
	var ids []int64
	for _, f := range []autotasktest.Fields{
		{"firstName": "Ada", "lastName": "Lovelace", "emailAddress": "ada@example.com", "city": "London", "countryID": 236},
		{"firstName": "Alan", "lastName": "Turing", "emailAddress": "alan@example.org", "city": "Wilmslow", "isActive": 0},
		{"firstName": "Grace", "lastName": "Hopper", "emailAddress": "grace@EXAMPLE.com", "countryID": 237},
		{"firstName": "Edsger", "lastName": "Dijkstra"},
	} {
		id, err := e.srv.SeedContact(co, f)
		require.NoError(t, err)
		ids = append(ids, id)
	}
	return co, ids
}

func TestQueryGrammar(t *testing.T) {
	e := newEmu(t, autotasktest.Options{})
	co, ids := seedQuery(t, e)
	ada, alan, grace, edsger := ids[0], ids[1], ids[2], ids[3]
	company := map[string]any{"op": "eq", "field": "companyID", "value": co}
	for _, tc := range []struct {
		name string
		cond map[string]any
		want []int64
	}{
		{"§3.2 eq, string match case-insensitive", map[string]any{"op": "eq", "field": "lastName", "value": "lovelace"}, []int64{ada}},
		{"§3.2 field names case-insensitive", map[string]any{"op": "eq", "field": "LASTNAME", "value": "Turing"}, []int64{alan}},
		{"§3.2 noteq", map[string]any{"op": "noteq", "field": "lastName", "value": "Turing"}, []int64{ada, grace, edsger}},
		{"§3.2 gt on id", map[string]any{"op": "gt", "field": "id", "value": alan}, []int64{grace, edsger}},
		{"§3.2 gte on id", map[string]any{"op": "gte", "field": "id", "value": alan}, []int64{alan, grace, edsger}},
		{"§3.2 lt on id", map[string]any{"op": "lt", "field": "id", "value": alan}, []int64{ada}},
		{"§3.2 lte on id", map[string]any{"op": "lte", "field": "id", "value": alan}, []int64{ada, alan}},
		{"§3.2 beginsWith", map[string]any{"op": "beginsWith", "field": "firstName", "value": "al"}, []int64{alan}},
		{"§3.2 lower-case op spelling", map[string]any{"op": "beginswith", "field": "firstName", "value": "A"}, []int64{ada, alan}},
		{"§3.2 endsWith", map[string]any{"op": "endsWith", "field": "emailAddress", "value": "@example.com"}, []int64{ada, grace}},
		{"§3.2 contains", map[string]any{"op": "contains", "field": "lastName", "value": "OPP"}, []int64{grace}},
		{"§3.2 exist", map[string]any{"op": "exist", "field": "city"}, []int64{ada, alan}},
		{"§3.2 notExist", map[string]any{"op": "notExist", "field": "emailAddress"}, []int64{edsger}},
		{"§3.2 in", map[string]any{"op": "in", "field": "id", "value": []int64{ada, edsger}}, []int64{ada, edsger}},
		{"§3.2 notIn (null is not in any list [I])", map[string]any{"op": "notIn", "field": "countryID", "value": []int64{236}}, []int64{alan, grace, edsger}},
		{"§3.2 isActive compared with 0/1", map[string]any{"op": "eq", "field": "isActive", "value": 0}, []int64{alan}},
		{"§3.2 nested or/and", map[string]any{"op": "or", "items": []any{
			map[string]any{"op": "eq", "field": "firstName", "value": "Edsger"},
			map[string]any{"op": "and", "items": []any{
				map[string]any{"op": "endsWith", "field": "emailAddress", "value": ".com"},
				map[string]any{"op": "gt", "field": "countryID", "value": 236},
			}},
		}}, []int64{grace, edsger}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call("POST", "Contacts/query", map[string]any{"filter": []any{company, tc.cond}}, nil)
			require.Equal(t, 200, a.status, a.raw)
			assert.Equal(t, tc.want, a.ids())
			c := e.call("POST", "Contacts/query/count", map[string]any{"filter": []any{company, tc.cond}}, nil)
			assert.Equal(t, float64(len(tc.want)), c.body["queryCount"], "§3.1 count agrees")
		})
	}
	for _, tc := range []struct {
		name string
		body string
		want string
	}{
		{"§3.4 MaxRecords 0 is refused", `{"MaxRecords":0,"filter":[{"op":"gt","field":"id","value":0}]}`, "maxCountOfRecordsToReturn must be between 1 and 500"},
		{"§3.4 MaxRecords 501 is refused", `{"maxRecords":501,"filter":[{"op":"gt","field":"id","value":0}]}`, "maxCountOfRecordsToReturn must be between 1 and 500"},
		{"§2.2 non-queryable fields cannot be queried", `{"filter":[{"op":"eq","field":"surveyOptOut","value":true}]}`, "cannot be queried"},
		{"§2.5 only one UDF condition", `{"filter":[{"op":"eq","field":"A","udf":true,"value":"x"},{"op":"eq","field":"B","udf":true,"value":"y"}]}`, "Only one user-defined field"},
		{"§3.2 booleans must be literal", `{"filter":[{"op":"eq","field":"primaryContact","value":"yes"}]}`, "must be true or false"},
		{"§3.2 unknown field", `{"filter":[{"op":"eq","field":"nope","value":1}]}`, "Unable to find nope"},
		{"§3.2 unknown operator", `{"filter":[{"op":"between","field":"id","value":1}]}`, "Invalid filter operator"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := e.call("POST", "Contacts/query", tc.body, nil)
			assert.Equal(t, 500, a.status)
			require.Len(t, a.errors(), 1, a.raw)
			assert.Contains(t, a.errors()[0], tc.want)
		})
	}
	t.Run("§3.1 GET with ?search= works like POST", func(t *testing.T) {
		s := url.QueryEscape(`{"filter":[{"op":"eq","field":"lastName","value":"Hopper"}]}`)
		a := e.call("GET", "Contacts/query?search="+s, nil, nil)
		assert.Equal(t, []int64{grace}, a.ids())
	})
	t.Run("§3.3 IncludeFields returns those plus id and userDefinedFields", func(t *testing.T) {
		a := e.call("POST", "Contacts/query", map[string]any{"IncludeFields": []string{"FirstName"},
			"filter": []any{map[string]any{"op": "eq", "field": "id", "value": ada}}}, nil)
		require.Len(t, a.items(), 1)
		item := a.items()[0]
		assert.Len(t, item, 3)
		assert.Equal(t, "Ada", item["firstName"])
		assert.Contains(t, item, "userDefinedFields")
	})
}

func TestPaging(t *testing.T) {
	e := newEmu(t, autotasktest.Options{})
	co := e.srv.AddCompany("Big")
	for i := range 1203 {
		_, err := e.srv.SeedContact(co, autotasktest.Fields{"firstName": "F", "lastName": "L" + itoa(int64(i))})
		require.NoError(t, err)
	}
	body := map[string]any{"filter": []any{map[string]any{"op": "eq", "field": "companyID", "value": co}}}
	t.Run("§3.4 pages of 500 by POST; nextPageUrl replayed by POST with the same body", func(t *testing.T) {
		a := e.call("POST", "Contacts/query", body, nil)
		var all []int64
		pages := 0
		for {
			pages++
			require.Equal(t, 200, a.status, a.raw)
			all = append(all, a.ids()...)
			pd := a.body["pageDetails"].(map[string]any)
			assert.Equal(t, float64(len(a.items())), pd["count"])
			next, _ := pd["nextPageUrl"].(string)
			if next == "" {
				break
			}
			assert.Equal(t, 405, e.call("GET", next, nil, nil).status, "§3.4 GET on a POST query's nextPageUrl is 405")
			a = e.call("POST", next, body, nil)
		}
		assert.Equal(t, 3, pages)
		assert.Len(t, all, 1203)
		assert.IsIncreasing(t, all, "§3.4 ascending ids")
	})
	t.Run("§3.4 a GET query's nextPageUrl carries search and is followed by GET", func(t *testing.T) {
		s, _ := json.Marshal(body)
		a := e.call("GET", "Contacts/query?search="+url.QueryEscape(string(s)), nil, nil)
		n := len(a.items())
		for next, _ := a.body["pageDetails"].(map[string]any)["nextPageUrl"].(string); next != ""; next, _ = a.body["pageDetails"].(map[string]any)["nextPageUrl"].(string) {
			a = e.call("GET", next, nil, nil)
			require.Equal(t, 200, a.status, a.raw)
			n += len(a.items())
		}
		assert.Equal(t, 1203, n)
	})
	t.Run("§3.4 the id cursor reads everything", func(t *testing.T) {
		var last int64
		n := 0
		for {
			a := e.call("POST", "Contacts/query", map[string]any{"MaxRecords": 500, "filter": []any{
				map[string]any{"op": "eq", "field": "companyID", "value": co},
				map[string]any{"op": "gt", "field": "id", "value": last}}}, nil)
			ids := a.ids()
			n += len(ids)
			if len(ids) < 500 {
				break
			}
			last = ids[len(ids)-1]
		}
		assert.Equal(t, 1203, n)
	})
}

func TestWrites(t *testing.T) {
	e := newEmu(t, autotasktest.Options{})
	co := e.srv.AddCompany("Acme")
	other := e.srv.AddCompany("Other")
	path := "Companies/" + itoa(co) + "/Contacts"
	create := func(body map[string]any) answer { return e.call("POST", path, body, nil) }
	a := create(map[string]any{"companyID": co, "firstName": "Ada", "lastName": "Lovelace", "isActive": 1, "title": "CTO", "city": "London"})
	require.Equal(t, 200, a.status, a.raw)
	id := int64(a.body["itemId"].(float64))
	t.Run("§4.1 create answers 200 with itemId only", func(t *testing.T) {
		assert.Len(t, a.body, 1)
		c, ok := e.srv.Contact(id)
		require.True(t, ok)
		assert.Equal(t, "Ada", c["firstName"])
		assert.Equal(t, co, c["companyID"])
	})
	for _, tc := range []struct {
		name string
		body map[string]any
		want string
	}{
		{"§2.2 firstName is required", map[string]any{"lastName": "X", "isActive": 1}, "firstName is required"},
		{"§2.2 lastName is required", map[string]any{"firstName": "X", "isActive": 1}, "lastName is required"},
		{"§2.2 maximum length", map[string]any{"firstName": "X", "lastName": "Y", "isActive": 1, "title": strings.Repeat("t", 51)}, "title"},
		{"§4.1 companyID in the body must match the URL", map[string]any{"companyID": other, "firstName": "X", "lastName": "Y", "isActive": 1}, "does not match"},
		{"§2.4 countryID must reference a country", map[string]any{"firstName": "X", "lastName": "Y", "isActive": 1, "countryID": 99999}, "countryID"},
		{"§0.2 isActive is an integer, not a boolean", map[string]any{"firstName": "X", "lastName": "Y", "isActive": true}, "isActive"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			before := len(e.srv.Contacts(co))
			a := create(tc.body)
			assert.Equal(t, 500, a.status, "§0.3 validation is HTTP 500")
			require.NotEmpty(t, a.errors(), a.raw)
			assert.Contains(t, strings.Join(a.errors(), " "), tc.want)
			assert.Len(t, e.srv.Contacts(co), before, "nothing created")
		})
	}
	t.Run("§4.1 a missing parent company is refused", func(t *testing.T) {
		a := e.call("POST", "Companies/424242/Contacts", map[string]any{"firstName": "X", "lastName": "Y", "isActive": 1}, nil)
		assert.Equal(t, 500, a.status)
	})
	t.Run("§4.2 PATCH changes only the fields sent and moves lastModifiedDate", func(t *testing.T) {
		before, _ := e.srv.Contact(id)
		e.srv.Advance(time.Second)
		a := e.call("PATCH", path, map[string]any{"id": id, "title": "CEO"}, nil)
		require.Equal(t, 200, a.status, a.raw)
		assert.Equal(t, float64(id), a.body["itemId"])
		c, _ := e.srv.Contact(id)
		assert.Equal(t, "CEO", c["title"])
		assert.Equal(t, "London", c["city"])
		assert.True(t, c["lastModifiedDate"].(time.Time).After(before["lastModifiedDate"].(time.Time)))
	})
	t.Run("§4.2 PATCH with null clears the field", func(t *testing.T) {
		e.call("PATCH", path, map[string]any{"id": id, "city": nil}, nil)
		c, _ := e.srv.Contact(id)
		assert.Nil(t, c["city"])
	})
	t.Run("§4.2 PATCH in another company's route is refused", func(t *testing.T) {
		a := e.call("PATCH", "Companies/"+itoa(other)+"/Contacts", map[string]any{"id": id, "title": "X"}, nil)
		assert.Equal(t, 500, a.status)
		c, _ := e.srv.Contact(id)
		assert.Equal(t, "CEO", c["title"])
	})
	t.Run("§4.2 PUT nulls what it omits", func(t *testing.T) {
		a := e.call("PUT", path, map[string]any{"id": id, "firstName": "Ada", "lastName": "King", "isActive": 1}, nil)
		require.Equal(t, 200, a.status, a.raw)
		c, _ := e.srv.Contact(id)
		assert.Nil(t, c["title"])
		assert.Equal(t, "King", c["lastName"])
		assert.Equal(t, co, c["companyID"])
	})
	t.Run("§2.5 user-defined fields are written and returned", func(t *testing.T) {
		e.call("PATCH", path, map[string]any{"id": id, "userDefinedFields": []any{map[string]any{"name": "Badge", "value": "A-17"}}}, nil)
		item := e.call("GET", "Contacts/"+itoa(id), nil, nil).body["item"].(map[string]any)
		assert.Equal(t, []any{map[string]any{"name": "Badge", "value": "A-17"}}, item["userDefinedFields"])
		q := e.call("POST", "Contacts/query", `{"filter":[{"op":"eq","field":"Badge","udf":true,"value":"a-17"}]}`, nil)
		assert.Equal(t, []int64{id}, q.ids())
	})
	t.Run("§2.3 companies are created and updated at the root, never deleted", func(t *testing.T) {
		a := e.call("POST", "Companies", map[string]any{"companyName": "Initech", "companyType": 1, "ownerResourceID": 29682885, "phone": "555-0199"}, nil)
		require.Equal(t, 200, a.status, a.raw)
		id := int64(a.body["itemId"].(float64))
		assert.Equal(t, 500, e.call("POST", "Companies", map[string]any{"companyName": "No phone", "companyType": 1, "ownerResourceID": 1}, nil).status)
		assert.Equal(t, 200, e.call("PATCH", "Companies", map[string]any{"id": id, "phone": "555-0100"}, nil).status)
		got := e.call("GET", "Companies/"+itoa(id), nil, nil).body["item"].(map[string]any)
		assert.Equal(t, "555-0100", got["phone"])
		assert.Equal(t, "Initech", got["companyName"])
		assert.Equal(t, 405, e.call("DELETE", "Companies", nil, nil).status)
	})
	t.Run("billing product associations reference existing products", func(t *testing.T) {
		p := e.srv.AddBillingProduct("Seat")
		bp := "Contacts/" + itoa(id) + "/BillingProductAssociations"
		assert.Equal(t, 500, e.call("POST", bp, map[string]any{"billingProductID": 1, "effectiveDate": "2026-01-01T00:00:00Z"}, nil).status)
		a := e.call("POST", bp, map[string]any{"billingProductID": p, "effectiveDate": "2026-01-01T00:00:00Z"}, nil)
		require.Equal(t, 200, a.status, a.raw)
		assert.Equal(t, []int64{p}, e.srv.BillingProducts(id))
		other, err := e.srv.SeedContact(co, autotasktest.Fields{"firstName": "Other", "lastName": "Contact"})
		require.NoError(t, err)
		q := func(contact int64) []any {
			a := e.call("POST", "ContactBillingProductAssociations/query", map[string]any{"filter": []any{
				map[string]any{"op": "eq", "field": "contactID", "value": contact},
				map[string]any{"op": "eq", "field": "billingProductID", "value": p}}}, nil)
			require.Equal(t, 200, a.status, a.raw)
			return a.body["items"].([]any)
		}
		assert.Len(t, q(id), 1, "found through the per-contact index")
		assert.Empty(t, q(other))
		assert.Len(t, e.call("GET", bp, nil, nil).body["items"], 1)
		assert.Empty(t, e.call("GET", "Contacts/"+itoa(other)+"/BillingProductAssociations", nil, nil).body["items"])
	})
	t.Run("id bounds select exactly the rows between them", func(t *testing.T) {
		count := func(filter ...map[string]any) float64 {
			a := e.call("POST", "Companies/query/count", map[string]any{"filter": filter}, nil)
			require.Equal(t, 200, a.status, a.raw)
			return a.body["queryCount"].(float64)
		}
		assert.Equal(t, float64(1), count(map[string]any{"op": "eq", "field": "id", "value": co}))
		assert.Equal(t, float64(0), count(map[string]any{"op": "eq", "field": "id", "value": 424242}))
		assert.Equal(t, float64(1), count(map[string]any{"op": "lt", "field": "id", "value": 1}), "the root company 0")
		assert.Equal(t, float64(2), count(map[string]any{"op": "lte", "field": "id", "value": 1}))
		assert.Equal(t, float64(0), count(map[string]any{"op": "gt", "field": "id", "value": 5}, map[string]any{"op": "lt", "field": "id", "value": 3}))
	})
}

// BenchmarkBillingCheck is the billing-association check of a contact
// among many associations: it costs the same whatever their number.
func BenchmarkBillingCheck(b *testing.B) {
	for _, n := range []int{100, 10_000} {
		b.Run(itoa(int64(n)), func(b *testing.B) {
			srv := autotasktest.NewServer(autotasktest.Options{HourlyLimit: 1 << 30})
			defer srv.Close()
			co := srv.AddCompany("Acme")
			p := srv.AddBillingProduct("Seat")
			cr := srv.Credentials()
			post := func(path, body string) int {
				req, _ := http.NewRequest("POST", srv.BaseURL()+"V1.0/"+path, strings.NewReader(body))
				req.Header.Set("ApiIntegrationCode", cr.IntegrationCode)
				req.Header.Set("UserName", cr.Username)
				req.Header.Set("Secret", cr.Secret)
				resp, err := srv.Client().Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				return resp.StatusCode
			}
			var last int64
			for i := range n {
				id, err := srv.SeedContact(co, autotasktest.Fields{"firstName": "F", "lastName": "L" + itoa(int64(i))})
				if err != nil {
					b.Fatal(err)
				}
				post("Contacts/"+itoa(id)+"/BillingProductAssociations", `{"billingProductID":`+itoa(p)+`,"effectiveDate":"2026-01-01T00:00:00Z"}`)
				last = id
			}
			q := `{"filter":[{"op":"eq","field":"contactID","value":` + itoa(last) + `},{"op":"eq","field":"billingProductID","value":` + itoa(p) + `}]}`
			b.ResetTimer()
			for b.Loop() {
				if post("ContactBillingProductAssociations/query", q) != 200 {
					b.Fatal("query failed")
				}
			}
		})
	}
}

func TestThreshold(t *testing.T) {
	e := newEmu(t, autotasktest.Options{HourlyLimit: 100})
	threshold := func() map[string]any { return e.call("GET", "ThresholdInformation", nil, nil).body }
	t.Run("§5.1 ThresholdInformation counts the rolling hour", func(t *testing.T) {
		th := threshold()
		assert.Equal(t, float64(100), th["externalRequestThreshold"])
		assert.Equal(t, float64(60), th["requestThresholdTimeframe"])
		assert.Equal(t, float64(1), th["currentTimeframeRequestCount"])
		e.srv.AddUsage(10)
		assert.Equal(t, float64(12), threshold()["currentTimeframeRequestCount"])
	})
	t.Run("§5.1 requests over the limit are refused until the hour rolls on", func(t *testing.T) {
		e.srv.AddUsage(100)
		a := e.call("GET", "ThresholdInformation", nil, nil)
		assert.Equal(t, 429, a.status)
		e.srv.Advance(61 * time.Minute)
		assert.Equal(t, float64(1), threshold()["currentTimeframeRequestCount"])
	})
	t.Run("§1.2 zoneInformation is not counted", func(t *testing.T) {
		before := e.srv.RollingHourCount()
		e.call("GET", e.srv.ZoneLookupURL()+"v1.0/zoneInformation?user=x", nil, nil)
		assert.Equal(t, before, e.srv.RollingHourCount())
	})
}

// The latency model is spent while the request holds its thread slot, so
// that the thread limit shapes a run's wall time as it does at Autotask.
func TestLatencyModel(t *testing.T) {
	three := []autotasktest.Country{{ID: 1, Code: "AA", Name: "A"}, {ID: 2, Code: "BB", Name: "B"}, {ID: 3, Code: "CC", Name: "C"}}
	for name, lat := range map[string]autotasktest.Latency{
		"per call":   {PerCall: 300 * time.Millisecond},
		"per record": {PerRecord: 100 * time.Millisecond},
	} {
		t.Run("§5.2 "+name+" cost holds the thread slot", func(t *testing.T) {
			e := newEmu(t, autotasktest.Options{Latency: lat, Countries: three})
			var wg sync.WaitGroup
			got := make([]answer, 4)
			for i := range got {
				wg.Go(func() {
					got[i] = e.call("POST", "Countries/query", map[string]any{"filter": []any{map[string]any{"op": "gt", "field": "id", "value": 0}}}, nil)
				})
			}
			wg.Wait()
			assert.Equal(t, 1, e.srv.ThreadRejections(), "the 4th request in flight is refused")
			for _, a := range got {
				if a.status == 200 {
					assert.Len(t, a.body["items"], 3)
				}
			}
		})
	}
	assert.Equal(t, autotasktest.Latency{PerCall: 200 * time.Millisecond, PerRecord: time.Millisecond}, autotasktest.RealisticLatency())

	// The model is a response time: the write is done when the request
	// arrives and its answer waits, so a client that gives up while it
	// waits finds the contact created (and has to look it up).
	t.Run("a write commits before its answer waits", func(t *testing.T) {
		e := newEmu(t, autotasktest.Options{Latency: autotasktest.Latency{PerCall: time.Hour}})
		co := e.srv.AddCompany("Contoso")
		ctx, cancel := context.WithCancel(t.Context())
		req, err := http.NewRequestWithContext(ctx, "POST", e.srv.BaseURL()+"V1.0/Companies/"+itoa(co)+"/Contacts",
			strings.NewReader(`{"firstName":"Ada","lastName":"Lovelace","isActive":1}`))
		require.NoError(t, err)
		cr := e.srv.Credentials()
		req.Header.Set("ApiIntegrationCode", cr.IntegrationCode)
		req.Header.Set("UserName", cr.Username)
		req.Header.Set("Secret", cr.Secret)
		req.Header.Set("Content-Type", "application/json")
		errc := make(chan error, 1)
		go func() {
			resp, err := e.srv.Client().Do(req)
			if err == nil {
				resp.Body.Close()
			}
			errc <- err
		}()
		require.Eventually(t, func() bool { return len(e.srv.Contacts(co)) == 1 }, 10*time.Second, 5*time.Millisecond,
			"the contact exists while its answer waits")
		cancel()
		require.ErrorIs(t, <-errc, context.Canceled, "no answer came: the hour is not up")
		e.srv.SetLatencyModel(autotasktest.Latency{})
		a := e.call("GET", "Companies/"+itoa(co)+"/Contacts", nil, nil)
		assert.Equal(t, 200, a.status, "answered at once without the model")
		assert.Len(t, a.items(), 1)
	})
}

func TestThreadLimit(t *testing.T) {
	for _, status := range []int{429, 500} {
		t.Run("§5.2 the 4th concurrent request on an endpoint is refused with "+itoa(int64(status)), func(t *testing.T) {
			e := newEmu(t, autotasktest.Options{ThreadLimitStatus: status})
			e.srv.SetLatency(300 * time.Millisecond)
			var wg sync.WaitGroup
			got := make([]answer, 4)
			for i := range got {
				wg.Go(func() {
					got[i] = e.call("GET", "Countries/query?search="+url.QueryEscape(`{"filter":[{"op":"eq","field":"id","value":237}]}`), nil, nil)
				})
			}
			wg.Wait()
			refused := 0
			for _, a := range got {
				if a.status == status && len(a.errors()) > 0 {
					assert.Equal(t, autotasktest.ThreadLimitMessage, a.errors()[0])
					refused++
				}
			}
			assert.Equal(t, 1, refused)
			assert.Equal(t, 3, e.srv.MaxConcurrent("Countries"))
			assert.Equal(t, 1, e.srv.ThreadRejections())
		})
	}
}

func TestFaults(t *testing.T) {
	e := newEmu(t, autotasktest.Options{})
	co := e.srv.AddCompany("Acme")
	path := "Companies/" + itoa(co) + "/Contacts"
	t.Run("InjectFault answers the scripted status with Retry-After", func(t *testing.T) {
		e.srv.InjectFault(autotasktest.Fault{Method: "GET", Path: "threshold", Status: 503, RetryAfter: "2", Times: 2})
		assert.Equal(t, 503, e.call("GET", "ThresholdInformation", nil, nil).status)
		assert.Equal(t, 503, e.call("GET", "ThresholdInformation", nil, nil).status)
		assert.Equal(t, 200, e.call("GET", "ThresholdInformation", nil, nil).status)
	})
	t.Run("DropResponseAfterWrite commits the write and loses the answer", func(t *testing.T) {
		e.srv.DropResponseAfterWrite(1)
		req, _ := http.NewRequest("POST", e.srv.BaseURL()+"V1.0/"+path, strings.NewReader(`{"firstName":"Lost","lastName":"Answer","isActive":1}`))
		cr := e.srv.Credentials()
		req.Header.Set("ApiIntegrationCode", cr.IntegrationCode)
		req.Header.Set("UserName", cr.Username)
		req.Header.Set("Secret", cr.Secret)
		_, err := e.srv.Client().Do(req)
		assert.Error(t, err)
		assert.Len(t, e.srv.Contacts(co), 1)
	})
	post := func(body string) (*http.Response, []byte, error) {
		req, _ := http.NewRequest("POST", e.srv.BaseURL()+"V1.0/"+path, strings.NewReader(body))
		cr := e.srv.Credentials()
		req.Header.Set("ApiIntegrationCode", cr.IntegrationCode)
		req.Header.Set("UserName", cr.Username)
		req.Header.Set("Secret", cr.Secret)
		resp, err := e.srv.Client().Do(req)
		if err != nil {
			return nil, nil, err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		return resp, b, err
	}
	findByName := func(last string) int {
		a := e.call("POST", "Contacts/query", map[string]any{"filter": []any{
			map[string]any{"op": "eq", "field": "lastName", "value": last}}}, nil)
		require.Equal(t, 200, a.status, a.raw)
		return len(a.body["items"].([]any))
	}
	t.Run("AfterWrite with a 5xx commits the write and answers the error", func(t *testing.T) {
		e.srv.InjectFault(autotasktest.Fault{Method: "POST", Path: "/Contacts", AfterWrite: true, Status: 502, Times: 1})
		resp, _, err := post(`{"firstName":"Five","lastName":"AfterWrite","isActive":1}`)
		require.NoError(t, err)
		assert.Equal(t, 502, resp.StatusCode)
		assert.Equal(t, 1, findByName("AfterWrite"))
	})
	t.Run("Truncate commits the write and cuts the body short", func(t *testing.T) {
		e.srv.InjectFault(autotasktest.Fault{Method: "POST", Path: "/Contacts", Truncate: true, Times: 1})
		resp, _, err := post(`{"firstName":"Cut","lastName":"Truncated","isActive":1}`)
		if err == nil {
			t.Fatalf("the body was read whole (status %d)", resp.StatusCode)
		}
		assert.ErrorIs(t, err, io.ErrUnexpectedEOF)
		assert.Equal(t, 1, findByName("Truncated"))
	})
	t.Run("NoItemID commits the write and answers 200 without an id", func(t *testing.T) {
		e.srv.InjectFault(autotasktest.Fault{Method: "POST", Path: "/Contacts", NoItemID: true, Times: 1})
		resp, b, err := post(`{"firstName":"No","lastName":"ItemID","isActive":1}`)
		require.NoError(t, err)
		assert.Equal(t, 200, resp.StatusCode)
		assert.JSONEq(t, `{}`, string(b))
		assert.Equal(t, 1, findByName("ItemID"))
	})
	t.Run("R-DEACT-5 EmptyPage answers a query 200 with no items", func(t *testing.T) {
		e.srv.InjectFault(autotasktest.Fault{Path: "Contacts/query", EmptyPage: true, Times: 1})
		assert.Equal(t, 0, findByName("ItemID"))
		assert.Equal(t, 1, findByName("ItemID"), "only the next query")
	})
	t.Run("CommitDelay hides a lost create from reads until the clock passes it", func(t *testing.T) {
		e.srv.InjectFault(autotasktest.Fault{Method: "POST", Path: "/Contacts", AfterWrite: true, Drop: true, CommitDelay: time.Minute, Times: 1})
		_, _, err := post(`{"firstName":"Late","lastName":"Commit","isActive":1}`)
		require.Error(t, err, "the answer is lost")
		assert.Equal(t, 0, findByName("Commit"), "a look-up right after the create does not find it")
		var id int64
		for _, c := range e.srv.Contacts(co) {
			if c["lastName"] == "Commit" {
				id = c["id"].(int64)
			}
		}
		require.NotZero(t, id, "inspection sees it at once")
		assert.Nil(t, e.call("GET", "Contacts/"+itoa(id), nil, nil).body["item"])
		assert.Equal(t, 500, e.call("PATCH", path, map[string]any{"id": id, "title": "x"}, nil).status)
		e.srv.Advance(time.Minute)
		assert.Equal(t, 1, findByName("Commit"))
		assert.NotNil(t, e.call("GET", "Contacts/"+itoa(id), nil, nil).body["item"])
	})
	t.Run("Delay holds the answer past a client's timeout; the write still commits", func(t *testing.T) {
		e.srv.InjectFault(autotasktest.Fault{Method: "POST", Path: "/Contacts", AfterWrite: true, Delay: time.Hour, Times: 1})
		hc := e.srv.Client()
		hc.Timeout = 20 * time.Millisecond
		req, _ := http.NewRequest("POST", e.srv.BaseURL()+"V1.0/"+path, strings.NewReader(`{"firstName":"Slow","lastName":"Answer","isActive":1}`))
		cr := e.srv.Credentials()
		req.Header.Set("ApiIntegrationCode", cr.IntegrationCode)
		req.Header.Set("UserName", cr.Username)
		req.Header.Set("Secret", cr.Secret)
		_, err := hc.Do(req)
		require.Error(t, err)
		require.Eventually(t, func() bool { return findByName("Answer") == 2 }, 5*time.Second, 5*time.Millisecond,
			"committed once the client gave up (one Answer from DropResponseAfterWrite above)")
	})
	t.Run("SetRandomFaults is deterministic for a seed", func(t *testing.T) {
		statuses := func() []int {
			e := newEmu(t, autotasktest.Options{Seed: 42})
			e.srv.SetRandomFaults(0.5, autotasktest.Fault{Status: 503}, autotasktest.Fault{Status: 502}, autotasktest.Fault{EmptyPage: true})
			var out []int
			for range 20 {
				a := e.call("POST", "Countries/query", map[string]any{"filter": []any{map[string]any{"op": "gt", "field": "id", "value": 0}}}, nil)
				n := a.status
				if n == 200 && len(a.body["items"].([]any)) == 0 {
					n = 0
				}
				out = append(out, n)
			}
			return out
		}
		first := statuses()
		assert.Equal(t, first, statuses())
		assert.Contains(t, first, 200)
		assert.Contains(t, first, 503)
	})
	t.Run("Times 0 applies the fault to every matching request until ClearFaults", func(t *testing.T) {
		e.srv.InjectFault(autotasktest.Fault{Method: "GET", Path: "threshold", Status: 502})
		for range 3 {
			assert.Equal(t, 502, e.call("GET", "ThresholdInformation", nil, nil).status)
		}
		e.srv.ClearFaults()
		assert.Equal(t, 200, e.call("GET", "ThresholdInformation", nil, nil).status)
	})
	t.Run("SetErrorRate 1 fails every request", func(t *testing.T) {
		e.srv.SetErrorRate(1, 502)
		assert.Equal(t, 502, e.call("GET", "ThresholdInformation", nil, nil).status)
		e.srv.SetErrorRate(0, 0)
		assert.Equal(t, 200, e.call("GET", "ThresholdInformation", nil, nil).status)
	})
	t.Run("the request log records method, path, endpoint and status", func(t *testing.T) {
		e.srv.ResetRequests()
		e.call("PATCH", path, map[string]any{"id": 1}, nil)
		rs := e.srv.Requests()
		require.Len(t, rs, 1)
		assert.Equal(t, "PATCH", rs[0].Method)
		assert.Equal(t, "Contacts", rs[0].Endpoint)
		assert.Equal(t, 500, rs[0].Status)
		assert.Equal(t, 1, e.srv.CountRequests("PATCH", "/contacts"))
	})
}
