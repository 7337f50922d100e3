package adsync

import (
	"fmt"
	"io"
	"math"
)

// DefaultCallsPerHour is the calls an hour a run can make when the
// contact store reports no budget: Autotask's documented threshold of
// 10,000 requests an hour per database, of which the autotask client uses
// up to 90 % (its default stop) before it stops a run.
const DefaultCallsPerHour = 9_000

// estimateShownFrom is the least number of calls for which Plan.WriteTo
// prints the estimate: a run that needs a tenth of an hour's budget or
// more (a first run of a large organization) is worth a warning; a daily
// run is not.
const estimateShownFrom = DefaultCallsPerHour / 10

// CallEstimate is what applying a plan costs in API calls of the contact
// store, and how long that takes under the store's hourly budget. The
// reads are those the plan made; the writes are those applying it sends.
// Retries, the budget's own reads and the other integrations' share of the
// budget are not counted: the estimate is a lower bound.
type CallEstimate struct {
	// Reads are the pages of contacts read: ⌈contacts/MaxPageSize⌉, at
	// least 1.
	Reads int `json:"reads"`
	// Writes are the writes to send (Plan.Writes), a create with a billing
	// product counting two (the create and the association).
	Writes int `json:"writes"`
	// PerHour is the calls an hour the budget allows the run: the
	// store's limit times the share at which its client stops
	// (APIBudget), or DefaultCallsPerHour.
	PerHour int `json:"perHour"`
}

// Calls is the number of calls: reads plus writes.
func (e CallEstimate) Calls() int { return e.Reads + e.Writes }

// Hours is how long the calls take at PerHour, at the least.
func (e CallEstimate) Hours() float64 {
	if e.PerHour <= 0 {
		return 0
	}
	return float64(e.Calls()) / float64(e.PerHour)
}

// String is the estimate as the plan prints it.
func (e CallEstimate) String() string {
	return fmt.Sprintf("about %d Autotask calls (%d reads, %d writes), about %s at the current budget (%d calls an hour)",
		e.Calls(), e.Reads, e.Writes, hoursText(e.Hours()), e.PerHour)
}

// hoursText rounds h for reading: minutes under an hour, one decimal under
// ten hours, whole hours (and days) above.
func hoursText(h float64) string {
	switch {
	case h < 1:
		return fmt.Sprintf("%d minutes", max(1, int(math.Ceil(h*60))))
	case h < 10:
		return fmt.Sprintf("%.1f hours", h)
	case h < 48:
		return fmt.Sprintf("%.0f hours", math.Ceil(h))
	}
	return fmt.Sprintf("%.0f hours (%.1f days)", math.Ceil(h), h/24)
}

// estimateCalls sets p.Calls from the plan and the store's budget, if it
// reports one.
func (s *Syncer) estimateCalls(p *Plan) {
	e := CallEstimate{Reads: max(1, (p.contactsRead+MaxPageSize-1)/MaxPageSize), PerHour: DefaultCallsPerHour}
	for i := range p.Changes {
		ch := &p.Changes[i]
		if !ch.Writes() {
			continue
		}
		e.Writes++
		if ch.Kind == ChangeCreate && p.billing != 0 {
			e.Writes++
		}
	}
	if br, ok := s.opts.Store.(APIBudgetReader); ok {
		if b, ok := br.APIBudget(); ok && b.Limit > 0 {
			stop := b.StopAt
			if stop <= 0 || stop > 1 {
				stop = 1
			}
			e.PerHour = int(float64(b.Limit) * stop)
		}
	}
	p.Calls = e
}

// writeEstimate prints the call estimate of a plan that needs a tenth of
// an hour's budget or more.
func (p *Plan) writeEstimate(w io.Writer) {
	if p.Calls.Calls() >= estimateShownFrom || (p.Calls.PerHour > 0 && p.Calls.Hours() >= 0.1) {
		fmt.Fprintf(w, "%s: %s\n", p.OrgID, p.Calls)
	}
}
