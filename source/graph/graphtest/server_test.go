package graphtest_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/psasync/adsync/source/graph/graphtest"
)

type page struct {
	Value     []map[string]any `json:"value"`
	NextLink  string           `json:"@odata.nextLink"`
	DeltaLink string           `json:"@odata.deltaLink"`
	Error     *struct {
		Code    string  `json:"code"`
		Message *string `json:"message"`
	} `json:"error"`
}

func get(t *testing.T, rawURL, token string) (*http.Response, page) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, rawURL, nil)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var p page
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&p))
	return resp, p
}

func seed(t *testing.T, n int) (*graphtest.Server, string, []string) {
	srv := graphtest.NewServer()
	t.Cleanup(srv.Close)
	g := srv.AddGroup("", "Staff")
	ids := make([]string, n)
	for i := range ids {
		ids[i] = srv.PutUser(graphtest.User{GivenName: "G", Surname: "S", UserPrincipalName: "u@x.example",
			DisplayName: "U", City: "Paris", BusinessPhones: []string{"1"}})
	}
	srv.AddMembers(g, ids...)
	return srv, g, ids
}

func TestMembersEndpoints(t *testing.T) {
	srv, g, ids := seed(t, 5)
	dev := srv.AddObject("", "#microsoft.graph.device", "Phone")
	sub := srv.AddGroup("", "Sub")
	nested := srv.PutUser(graphtest.User{UserPrincipalName: "n@x.example"})
	srv.AddMembers(sub, nested)
	srv.AddMembers(g, dev, sub)

	for _, tt := range []struct {
		path string
		want int
	}{
		{"/groups/" + g + "/transitiveMembers/microsoft.graph.user", 6},
		{"/groups/" + g + "/transitiveMembers/graph.user", 6},
		{"/groups/" + g + "/members/microsoft.graph.user", 5},
		{"/groups/" + g + "/members/graph.user", 5},
		{"/groups/" + g + "/members", 7},           // users, the device, the group
		{"/groups/" + g + "/transitiveMembers", 8}, // and the nested user
	} {
		t.Run(tt.path, func(t *testing.T) {
			resp, p := get(t, srv.GraphURL()+tt.path+"?$select=id,city", "tok")
			require.Equal(t, http.StatusOK, resp.StatusCode)
			assert.Len(t, p.Value, tt.want)
			for _, v := range p.Value {
				assert.NotEmpty(t, v["@odata.type"])
				if v["@odata.type"] == "#microsoft.graph.user" {
					assert.Contains(t, v, "city", "selected")
					assert.NotContains(t, v, "givenName", "not selected: absent")
				}
			}
		})
	}
	_ = ids
}

func TestSelectDefaultsAndUnknown(t *testing.T) {
	srv, g, _ := seed(t, 1)
	_, p := get(t, srv.GraphURL()+"/groups/"+g+"/members/graph.user", "tok")
	require.Len(t, p.Value, 1)
	assert.Contains(t, p.Value[0], "givenName", "default set")
	assert.NotContains(t, p.Value[0], "city", "$select only")
	assert.NotContains(t, p.Value[0], "accountEnabled", "$select only")

	resp, p := get(t, srv.GraphURL()+"/groups/"+g+"/members/graph.user?$select=id,nope", "tok")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	require.NotNil(t, p.Error)
	require.NotNil(t, p.Error.Message, "error bodies always carry a message")
}

func TestPaging(t *testing.T) {
	srv, g, ids := seed(t, 25)
	next := srv.GraphURL() + "/groups/" + g + "/transitiveMembers/microsoft.graph.user?$select=id&$top=10"
	var got []string
	calls := 0
	for next != "" {
		calls++
		resp, p := get(t, next, "tok")
		require.Equal(t, http.StatusOK, resp.StatusCode)
		for _, v := range p.Value {
			got = append(got, v["id"].(string))
		}
		if p.NextLink != "" {
			u, err := url.Parse(p.NextLink)
			require.NoError(t, err)
			assert.True(t, u.IsAbs(), "absolute nextLink")
			assert.Equal(t, "id", u.Query().Get("$select"), "carries $select")
		}
		next = p.NextLink
	}
	assert.Equal(t, ids, got)
	assert.Equal(t, 3, calls)

	for _, top := range []string{"0", "1000", "x"} {
		resp, _ := get(t, srv.GraphURL()+"/groups/"+g+"/members?$top="+top, "tok")
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, top)
	}
}

func TestAuthAndPermissions(t *testing.T) {
	srv, g, _ := seed(t, 1)
	members := srv.GraphURL() + "/groups/" + g + "/transitiveMembers/graph.user?$select=id,mail"

	resp, _ := get(t, members, "")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode, "no token")
	srv.RequireToken("right")
	resp, _ = get(t, members, "wrong")
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	resp, _ = get(t, members, "right")
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	srv.SetPermissions(graphtest.PermGroupMemberReadAll)
	resp, p := get(t, members, "right")
	require.Equal(t, http.StatusOK, resp.StatusCode, "the limited-information trap answers 200")
	require.Len(t, p.Value, 1)
	assert.Equal(t, []string{"@odata.type", "id"}, keys(p.Value[0]), "only the id and type")
	resp, _ = get(t, srv.GraphURL()+"/users/delta()", "right")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)

	srv.SetPermissions(graphtest.PermUserReadAll)
	resp, p = get(t, members, "right")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	assert.Equal(t, "Authorization_RequestDenied", p.Error.Code)

	resp, _ = get(t, srv.GraphURL()+"/groups/3f2504e0-4f89-41d3-9a0c-0305e82c3301", "right")
	assert.Equal(t, http.StatusForbidden, resp.StatusCode)
	srv.SetPermissions(graphtest.PermDirectoryReadAll)
	resp, p = get(t, srv.GraphURL()+"/groups/3f2504e0-4f89-41d3-9a0c-0305e82c3301", "right")
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, "Request_ResourceNotFound", p.Error.Code)
}

func keys(m map[string]any) []string {
	var out []string
	for _, k := range []string{"@odata.type", "id", "mail"} {
		if _, ok := m[k]; ok {
			out = append(out, k)
		}
	}
	if len(out) != len(m) {
		out = append(out, "…others")
	}
	return out
}

func TestFaults(t *testing.T) {
	srv, g, _ := seed(t, 1)
	members := srv.GraphURL() + "/groups/" + g + "/members"
	srv.InjectFault(graphtest.Fault{Path: "/members", Status: 429, RetryAfter: "7", Times: 2})
	for range 2 {
		resp, p := get(t, members, "tok")
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		assert.Equal(t, "7", resp.Header.Get("Retry-After"))
		require.NotNil(t, p.Error.Message)
	}
	resp, _ := get(t, members, "tok")
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the fault ran out")

	srv.InjectFault(graphtest.Fault{Path: "/users/delta", Status: 503, Times: 1}) // matches none of the requests below
	srv.InjectFault(graphtest.Fault{Status: 403, OmitMessage: true})              // Times 0: every one
	for range 3 {
		resp, p := get(t, members, "tok")
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Nil(t, p.Error.Message, "a body without message, to test the SDK pitfall")
	}
	srv.ClearFaults()
	resp, _ = get(t, members, "tok")
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, 7, srv.CountRequests("/members"))
	assert.Len(t, srv.Requests(), 7)
}

func TestDelta(t *testing.T) {
	srv, _, ids := seed(t, 5)
	srv.SetDeltaPageSize(2)
	// Initial round: every user, over pages, then a deltaLink.
	var got []string
	next := srv.GraphURL() + "/users/delta()?$select=id,city"
	var delta string
	for next != "" {
		_, p := get(t, next, "tok")
		for _, v := range p.Value {
			got = append(got, v["id"].(string))
			assert.NotContains(t, v, "givenName")
		}
		next, delta = p.NextLink, p.DeltaLink
	}
	assert.Equal(t, ids, got)
	require.NotEmpty(t, delta)
	assert.Contains(t, delta, "select=id%2Ccity", "$select kept in the token link")

	srv.UpdateUser(ids[1], func(u *graphtest.User) { u.City = "Lyon" })
	srv.DeleteUser(ids[3])
	_, p := get(t, delta, "tok")
	require.Len(t, p.Value, 2)
	assert.Equal(t, "Lyon", p.Value[0]["city"])
	assert.Equal(t, map[string]any{"reason": "deleted"}, p.Value[1]["@removed"])
	require.NotEmpty(t, p.DeltaLink)

	_, latest := get(t, srv.GraphURL()+"/users/delta?$deltatoken=latest", "tok")
	assert.Empty(t, latest.Value)
	assert.NotEmpty(t, latest.DeltaLink)

	srv.ExpireDeltaTokens(0)
	resp, p := get(t, p.DeltaLink, "tok")
	assert.Equal(t, http.StatusGone, resp.StatusCode)
	assert.True(t, strings.Contains(resp.Header.Get("Location"), "/users/delta"))
	assert.Equal(t, "resyncRequired", p.Error.Code)
}

func TestDeltaPagingStableWhileUsersChange(t *testing.T) {
	srv, _, ids := seed(t, 6)
	_, start := get(t, srv.GraphURL()+"/users/delta?$select=id,city&$deltatoken=latest", "tok")
	for _, id := range ids {
		srv.UpdateUser(id, func(u *graphtest.User) { u.City = "Rome" })
	}
	srv.SetDeltaPageSize(2)
	_, p := get(t, start.DeltaLink, "tok")
	var got []string
	for _, v := range p.Value {
		got = append(got, v["id"].(string))
	}
	// Changes made while the round is paged do not move the others.
	srv.UpdateUser(ids[0], func(u *graphtest.User) { u.City = "Milan" })
	srv.UpdateUser(ids[4], func(u *graphtest.User) { u.City = "Milan" })
	for p.NextLink != "" {
		_, p = get(t, p.NextLink, "tok")
		for _, v := range p.Value {
			got = append(got, v["id"].(string))
		}
	}
	assert.Equal(t, ids, got, "the round's window, each once, none skipped")
	_, next := get(t, p.DeltaLink, "tok")
	require.Len(t, next.Value, 2, "the changes made during the round come in the next one")
	assert.Equal(t, "Milan", next.Value[1]["city"])
}

func TestAdvancedQueryForCast(t *testing.T) {
	srv, g, _ := seed(t, 3)
	srv.RequireAdvancedQueryForCast(true)
	u := srv.GraphURL() + "/groups/" + g + "/transitiveMembers/microsoft.graph.user?$count=true"
	resp, p := get(t, u, "tok")
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, "Request_UnsupportedQuery", p.Error.Code)

	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer tok")
	req.Header.Set("ConsistencyLevel", "eventual")
	r2, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer r2.Body.Close()
	var body struct {
		Count int `json:"@odata.count"`
	}
	require.NoError(t, json.NewDecoder(r2.Body).Decode(&body))
	assert.Equal(t, http.StatusOK, r2.StatusCode)
	assert.Equal(t, 3, body.Count)
}
