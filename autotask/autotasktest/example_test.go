package autotasktest_test

import (
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/psasync/adsync/autotask/autotasktest"
)

// A test seeds the emulator, points the code under test at it, injects
// faults and inspects what was written and which requests were made.
func Example() {
	srv := autotasktest.NewServer(autotasktest.Options{})
	defer srv.Close()
	company := srv.AddCompany("Contoso")
	id, _ := srv.SeedContact(company, autotasktest.Fields{"firstName": "Ada", "lastName": "Lovelace", "emailAddress": "ada@contoso.example"})

	// The next write to a company's contacts commits, then its response is lost.
	srv.DropResponseAfterWrite(1)
	// The next query answers 429 with Retry-After.
	srv.InjectFault(autotasktest.Fault{Path: "Contacts/query", Status: 429, RetryAfter: "1", Times: 1})

	// A raw call, as a client makes it.
	cr := srv.Credentials()
	req, _ := http.NewRequest("POST", srv.BaseURL()+"V1.0/Contacts/query",
		strings.NewReader(`{"filter":[{"op":"eq","field":"companyID","value":`+fmt.Sprint(company)+`}]}`))
	req.Header.Set("ApiIntegrationCode", cr.IntegrationCode)
	req.Header.Set("UserName", cr.Username)
	req.Header.Set("Secret", cr.Secret)
	resp, err := srv.Client().Do(req)
	if err != nil {
		panic(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	fmt.Println(resp.StatusCode, resp.Header.Get("Retry-After"), strings.Contains(string(body), "errors"))

	c, _ := srv.Contact(id)
	fmt.Println(c["firstName"], c["isActive"], srv.CountRequests("POST", "Contacts/query"))
	// Output:
	// 429 1 true
	// Ada 1 1
}
