package adsync

import (
	"fmt"
	"io"
)

// writeSafety writes the plan's lines of the optional safety features:
// the guard's window (R-DEACT-6).
func (p *Plan) writeSafety(w io.Writer) {
	if p.Window != nil {
		fmt.Fprintf(w, "# %s\n", p.Window)
	}
}
