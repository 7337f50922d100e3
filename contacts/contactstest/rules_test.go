package contactstest

import (
	"reflect"
	"testing"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/conform"
)

// Every rule the suite enforces names the doc comment that states it.
func TestRulesNameTheirContract(t *testing.T) {
	conform.CheckRuleNames(t, "contactstest.go", reflect.TypeFor[adsync.ContactStore](),
		reflect.TypeFor[adsync.CountryLister](), reflect.TypeFor[adsync.BillingProductAssigner](),
		reflect.TypeFor[adsync.ContactGetter]())
}
