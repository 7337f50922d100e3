package graphtest_test

import (
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/psasync/adsync/source/graph/graphtest"
)

// Seeding a tenant and reading a group's members over plain HTTP, as any
// Graph client would.
func Example() {
	srv := graphtest.NewServer()
	defer srv.Close()
	g := srv.AddGroup("", "Staff")
	srv.AddUsers(g, graphtest.User{DisplayName: "Ann Lee", City: "Oslo"})
	srv.InjectFault(graphtest.Fault{Status: 429, RetryAfter: "0", Times: 1}) // the first call is throttled

	req, _ := http.NewRequest(http.MethodGet, srv.GraphURL()+"/groups/"+g+"/transitiveMembers/microsoft.graph.user?$select=displayName,city", nil)
	req.Header.Set("Authorization", "Bearer any-token")
	for range 2 {
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			panic(err)
		}
		var body struct {
			Value []struct{ DisplayName, City string }
		}
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), body.Value)
	}
	// Output:
	// 429 0 []
	// 200  [{Ann Lee Oslo}]
}
