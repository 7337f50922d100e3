package adsync

import (
	"fmt"
	"io"
	"strconv"
	"time"
)

// writeSafety writes the plan's lines of the optional safety features:
// the deactivations waiting out the grace period (R-DEACT-7), the exempt
// contacts (R-DEACT-9) and the guard's window (R-DEACT-6).
func (p *Plan) writeSafety(w io.Writer) {
	for _, pd := range p.Pending {
		why := "out of scope"
		if pd.Disabled {
			why = "disabled"
		}
		target := pd.Contact
		if target == "" {
			target = "contact " + strconv.FormatInt(pd.ContactID, 10)
		}
		fmt.Fprintf(w, "… pending deactivate user %s → %s [R-DEACT-7]: %s since %s, due %s unless the user returns\n",
			pd.UserID, target, why, pd.MissingSince.UTC().Format(time.RFC3339), pd.Due.UTC().Format(time.RFC3339))
	}
	for _, x := range p.Exempt {
		how := "exempt in the history"
		if x.Source == "field" {
			how = "exempt by its Autotask field"
		}
		if x.Reason != "" {
			how += " (" + x.Reason + ")"
		}
		fmt.Fprintf(w, "= exempt user %s → %s [R-DEACT-9]: out of scope, not deactivated: %s\n", x.UserID, x.Contact, how)
	}
	for i := range p.Kept {
		p.Kept[i].write(w)
	}
	if p.Move != nil {
		fmt.Fprintf(w, "# %s\n", p.Move)
	}
	if p.Window != nil {
		fmt.Fprintf(w, "# %s\n", p.Window)
	}
}
