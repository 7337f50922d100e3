package history_test

import (
	"testing"

	"github.com/psasync/adsync/history"
	"github.com/psasync/adsync/history/historytest"
)

func TestHostileText(t *testing.T) {
	historytest.TestHostileText(t, history.NewMemory())
}
