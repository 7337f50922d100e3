package merge_test

import (
	"errors"
	"fmt"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/merge"
)

func Example() {
	rules, err := merge.New(adsync.FieldParams{
		Selected:  adsync.NewFieldSet(adsync.Title, adsync.Phone, adsync.CountryID),
		Countries: []adsync.Country{{ID: 81, Code: "DE", Name: "Germany"}},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	u := &adsync.User{ID: "u1", Values: adsync.Values{
		adsync.FirstName: "Alice", adsync.LastName: "Jones", adsync.Email: "alice@example.com",
		adsync.Title: "  Head of IT ", adsync.Phone: "", adsync.CountryID: "de",
	}}
	c := &adsync.Contact{ID: 42, CompanyID: 7, Values: adsync.Values{
		adsync.FirstName: "Alice", adsync.LastName: "Jones", adsync.Email: "alice@example.com",
		adsync.Title: "IT", adsync.Phone: "+49 30 1234",
	}}
	up, _ := rules.Update(u, c)
	for _, f := range up.Fields.Fields() {
		fmt.Printf("%s: %q → %q\n", f, c.Values[f], up.Values[f])
	}

	_, _, err = rules.Create(&adsync.User{ID: "u2", Values: adsync.Values{adsync.LastName: "Brown"}})
	fmt.Println(errors.Is(err, merge.ErrMissingName))
	// Output:
	// title: "IT" → "Head of IT"
	// countryID: "" → "81"
	// true
}
