// The call log and the fault-injection API of Memory: every ContactStore
// method goes through call, which numbers the call, applies the faults set
// with FailCall, LoseResponse, FailWhere and LoseWhere, and logs it.

package contacts

import (
	"context"
	"fmt"
	"slices"

	"github.com/psasync/adsync"
)

// Method names a ContactStore method in the call log and in fault rules.
type Method string

// The methods of Memory that count as API calls.
const (
	MethodContacts             Method = "Contacts" // one call per page
	MethodCreate               Method = "Create"
	MethodUpdate               Method = "Update"
	MethodCheck                Method = "Check"
	MethodCountries            Method = "Countries"
	MethodAssignBillingProduct Method = "AssignBillingProduct"
)

// Call describes one API call: what fault rules see before it runs, and what
// the call log records after.
type Call struct {
	// N is the call's number, 1-based, counted across every method; it is
	// the number FailCall and LoseResponse take.
	N int64
	// Method is the method called.
	Method Method
	// CompanyID is the company of a read, Create, Update or Check.
	CompanyID int64
	// ContactID is the contact of an Update or AssignBillingProduct; for a
	// Create, the id assigned, in the log only and only when Applied.
	ContactID int64
	// Page is the 1-based page number of a read.
	Page int
	// Fields are the fields written: u.Fields of an Update, the non-blank
	// fields of a Create.
	Fields adsync.FieldSet
	// Values are the values of a Create (its non-blank ones) or an Update
	// (those of Fields).
	Values adsync.Values
	// Active is u.Active of an Update.
	Active *bool
	// ProductID is the billing product of AssignBillingProduct, or the
	// BillingProductID of a Create.
	ProductID int64

	// Applied reports, in the log, that the call took effect: a write
	// that was made (even if its response was then lost) or a page read.
	Applied bool
	// Err is, in the log, the error the call returned; nil on success.
	Err error
}

// IsWrite reports whether the call is a Create, Update or
// AssignBillingProduct.
func (c *Call) IsWrite() bool {
	return c.Method == MethodCreate || c.Method == MethodUpdate || c.Method == MethodAssignBillingProduct
}

// Counts are the numbers of calls made, by kind, including the calls that
// failed. Reads are pages (one per call).
type Counts struct {
	Calls   int64 // every call: APICalls
	Reads   int64 // pages of Contacts
	Creates int64
	Updates int64
	Other   int64 // Check, Countries, AssignBillingProduct
}

// Writes returns the number of Create and Update calls.
func (c Counts) Writes() int64 { return c.Creates + c.Updates }

// FailCall makes call number n (see Call.N) fail without taking effect,
// returning err; a nil err means an error wrapping adsync.ErrUnavailable,
// as a server error would. The fault fires once. For a read, the pages
// before the failing one are delivered. The next call's number is
// APICalls()+1.
func (m *Memory) FailCall(n int64, err error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failAt[n] = err
}

// LoseResponse makes call number n take effect and then return an error
// wrapping adsync.ErrUnavailable and adsync.ErrOutcomeUnknown, as when the response to a write that the
// server committed never reaches the client: the contact IS created or
// updated, but the caller cannot know. A Create whose response is lost
// returns id 0. The fault fires once.
func (m *Memory) LoseResponse(n int64) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loseAt[n] = true
}

// FailWhere adds a fault rule: each call for which rule returns a non-nil
// error fails with it (wrapped with the call) without taking effect. Rules
// stay until ClearFaults and are checked in the order added. rule sees the
// call before it runs (Applied and Err unset; ContactID unset for a
// Create); it is called with the store's lock held, so it must not call
// the store.
func (m *Memory) FailWhere(rule func(Call) error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.failRules = append(m.failRules, rule)
}

// LoseWhere adds a fault rule: each call for which rule returns true takes
// effect and then returns an error wrapping adsync.ErrUnavailable and
// adsync.ErrOutcomeUnknown, as LoseResponse. Same conditions as FailWhere.
func (m *Memory) LoseWhere(rule func(Call) bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.loseRules = append(m.loseRules, rule)
}

// ClearFaults removes every pending fault and rule.
func (m *Memory) ClearFaults() {
	m.mu.Lock()
	defer m.mu.Unlock()
	clear(m.failAt)
	clear(m.loseAt)
	m.failRules = nil
	m.loseRules = nil
}

// Calls returns the call log: every call made, in order, with its outcome
// (nil when MemoryOptions.NoCallLog is set).
func (m *Memory) Calls() []Call {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.log)
}

// Counts returns the number of calls made, by kind.
func (m *Memory) Counts() Counts {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts
}

// APICalls returns the number of calls made so far, failed ones included:
// the number of the last call, for FailCall and LoseResponse. (Each call
// also counts for its run through adsync.CountAPICall.)
func (m *Memory) APICalls() int64 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.counts.Calls
}

// fault is the fate the injected faults decide for a call.
type fault struct {
	fail error // non-nil: fail without applying
	lose bool  // apply, then report an error
}

// begin counts a call, with m.mu held, and returns its fault.
func (m *Memory) begin(c *Call) fault {
	m.counts.Calls++
	c.N = m.counts.Calls
	switch c.Method {
	case MethodContacts:
		m.counts.Reads++
	case MethodCreate:
		m.counts.Creates++
	case MethodUpdate:
		m.counts.Updates++
	default:
		m.counts.Other++
	}
	if err, ok := m.failAt[c.N]; ok {
		delete(m.failAt, c.N)
		if err == nil {
			err = adsync.ErrUnavailable
		}
		return fault{fail: fmt.Errorf("contacts: %s (call %d): injected failure: %w", c.Method, c.N, err)}
	}
	for _, rule := range m.failRules {
		if err := rule(*c); err != nil {
			return fault{fail: fmt.Errorf("contacts: %s (call %d): injected failure: %w", c.Method, c.N, err)}
		}
	}
	if m.loseAt[c.N] {
		delete(m.loseAt, c.N)
		return fault{lose: true}
	}
	for _, rule := range m.loseRules {
		if rule(*c) {
			return fault{lose: true}
		}
	}
	return fault{}
}

// end records the outcome of a call, with m.mu held, and returns the error
// the caller sees: err, or the lost response's error.
func (m *Memory) end(c *Call, f fault, applied bool, err error) error {
	if err == nil && f.lose {
		err = fmt.Errorf("contacts: %s (call %d): response lost after the server applied it: %w: %w",
			c.Method, c.N, adsync.ErrUnavailable, adsync.ErrOutcomeUnknown)
	}
	c.Applied = applied
	c.Err = err
	if !m.noLog {
		m.log = append(m.log, *c)
	}
	return err
}

// call runs one API call: counts it, applies the faults, runs apply (which
// reports whether it took effect) with m.mu held, and logs the outcome.
func (m *Memory) call(ctx context.Context, c *Call, apply func() (bool, error)) error {
	if err := ctx.Err(); err != nil {
		return fmt.Errorf("contacts: %s: %w", c.Method, err)
	}
	adsync.CountAPICall(ctx)
	m.mu.Lock()
	defer m.mu.Unlock()
	f := m.begin(c)
	if f.fail != nil {
		return m.end(c, f, false, f.fail)
	}
	applied, err := apply()
	return m.end(c, f, applied, err)
}
