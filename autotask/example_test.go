package autotask_test

import (
	"context"
	"fmt"
	"log"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/autotask"
	"github.com/psasync/adsync/autotask/autotasktest"
)

// A Client is an adsync.ContactStore: here against the emulator; against
// Autotask, leave ZoneLookupURL and HTTPClient at their defaults.
func Example() {
	srv := autotasktest.NewServer(autotasktest.Options{})
	defer srv.Close()
	company := srv.AddCompany("Contoso")
	cr := srv.Credentials()

	c, err := autotask.New(autotask.Config{
		IntegrationCode: cr.IntegrationCode,
		Username:        cr.Username,
		Secret:          adsync.NewSecret(cr.Secret),
		ZoneLookupURL:   srv.ZoneLookupURL(), // default: Autotask's well-known host
	})
	if err != nil {
		log.Fatal(err)
	}
	ctx := context.Background()
	if err := c.Check(ctx, company); err != nil {
		log.Fatal(err)
	}

	var v adsync.Values
	v[adsync.FirstName], v[adsync.LastName], v[adsync.Email] = "Ada", "Lovelace", "ada@contoso.example"
	id, err := c.Create(ctx, adsync.NewContact{CompanyID: company, Values: v})
	if err != nil {
		log.Fatal(err)
	}

	u := adsync.ContactUpdate{ContactID: id, CompanyID: company, Fields: adsync.NewFieldSet(adsync.Title)}
	u.Values[adsync.Title] = "CTO"
	if err := c.Update(ctx, u); err != nil { // PATCH {"id":…, "title":"CTO"}
		log.Fatal(err)
	}

	err = c.Contacts(ctx, company, adsync.NewFieldSet(adsync.FirstName, adsync.LastName, adsync.Title), func(page []adsync.Contact) error {
		for _, ct := range page {
			fmt.Println(ct.Values[adsync.FirstName], ct.Values[adsync.LastName], ct.Values[adsync.Title], ct.Active)
		}
		return nil
	})
	if err != nil {
		log.Fatal(err)
	}
	// Output: Ada Lovelace CTO true
}

// The secret never shows in a printed configuration.
func ExampleConfig_String() {
	cfg := autotask.Config{IntegrationCode: "ABC123", Username: "api-sync@msp.example", Secret: adsync.NewSecret("hunter2")}
	fmt.Println(cfg)
	// Output: autotask.Config{IntegrationCode:"ABC123" Username:"api-sync@msp.example" Secret:"[redacted]" ImpersonationResourceID:0 BaseURL:"" MaxInFlight:0 BudgetShare:0 BudgetStop:0}
}

// Countries maps ISO codes to Autotask's countryID (R-FIELD-6).
func ExampleClient_Countries() {
	srv := autotasktest.NewServer(autotasktest.Options{})
	defer srv.Close()
	cr := srv.Credentials()
	c, err := autotask.New(autotask.Config{IntegrationCode: cr.IntegrationCode, Username: cr.Username,
		Secret: adsync.NewSecret(cr.Secret), BaseURL: srv.BaseURL()})
	if err != nil {
		log.Fatal(err)
	}
	cs, err := c.Countries(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	for _, x := range cs {
		if x.Code == "US" || x.Code == "DE" {
			fmt.Println(x.Code, x.ID, x.Name)
		}
	}
	// Output:
	// DE 85 Germany
	// US 237 United States
}
