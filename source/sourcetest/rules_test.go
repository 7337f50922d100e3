package sourcetest

import (
	"reflect"
	"testing"

	"github.com/psasync/adsync"
	"github.com/psasync/adsync/internal/conform"
)

// Every rule the suite enforces names the doc comment that states it.
func TestRulesNameTheirContract(t *testing.T) {
	conform.CheckRuleNames(t, "sourcetest.go", reflect.TypeFor[adsync.DirectorySource](),
		reflect.TypeFor[adsync.IncrementalSource](), reflect.TypeFor[Harness]())
}
