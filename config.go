package adsync

import (
	"fmt"
	"math"
	"regexp"
	"strconv"
	"time"
)

// DirectoryType is the kind of directory an organization syncs from
// (R-SCOPE-3).
type DirectoryType string

// The directory types.
const (
	DirectoryAzure DirectoryType = "azure" // Entra ID through Microsoft Graph
	DirectoryLDAP  DirectoryType = "ldap"  // Active Directory over LDAPS
)

// Defaults of OrgConfig.
const (
	// DefaultMaxUsers is the default user cap and the largest supported
	// (R-SCOPE-7).
	DefaultMaxUsers = 400_000
	// DefaultGuardMin and DefaultGuardPercent are the default guard limits
	// (R-DEACT-4).
	DefaultGuardMin     = 10
	DefaultGuardPercent = 20.0
)

// FieldSpec selects one field for an organization, optionally overriding
// the directory attribute (LDAP) or property (Graph) it is read from.
type FieldSpec struct {
	Field Field `json:"field"`
	// Source overrides the default attribute or property of the field map
	// (docs/rules.md §5), e.g. "middleName" for MiddleInitial, or a Graph
	// directory extension "extension_<appid>_costCenter". Empty: the
	// default. Sources apply overrides; the Syncer only validates them.
	Source string `json:"source,omitempty"`
}

// Guard limits mass deactivations (R-DEACT-4): a run that would deactivate
// more than max(Min, Percent % of active links) contacts, or that read zero
// users while active links exist, holds its deactivations for approval.
type Guard struct {
	// Min is the absolute part of the limit. 0 means DefaultGuardMin.
	Min int `json:"min,omitempty"`
	// Percent is the relative part, 0–100. 0 means DefaultGuardPercent.
	Percent float64 `json:"percent,omitempty"`
	// Off disables the guard: every deactivation is applied at once.
	Off bool `json:"off,omitempty"`
	// Window, when set, also sums the deactivations of the runs started
	// within it against the same limit (R-DEACT-6): a slow leak of a few
	// contacts a run is held once the sum passes the limit. The sum comes
	// from the kept runs (R-RUN-3). 0, the default, guards each run alone,
	// as Autotask does.
	Window time.Duration `json:"window,omitempty"`
}

// Limit returns how many deactivations a run may apply without approval,
// given the number of active links.
func (g Guard) Limit(activeLinks int) int {
	min, pct := g.Min, g.Percent
	if min == 0 {
		min = DefaultGuardMin
	}
	if pct == 0 {
		pct = DefaultGuardPercent
	}
	x := pct * float64(activeLinks) / 100
	// 0.7 % of 11,000 is 77, which floating point computes as 76.99999…:
	// a value within rounding error of a whole number is that number.
	if r := math.Round(x); math.Abs(x-r) < 1e-9*math.Max(1, x) {
		x = r
	}
	rel := int(x)
	if rel > min {
		return rel
	}
	return min
}

// OrgConfig is the sync configuration of one organization: one Autotask
// company and its directory (R-SCOPE-2). The zero value of each optional
// field means its documented default.
type OrgConfig struct {
	// ID is the organization's key in the history store: stable, 1–64
	// characters of letters, digits, '.', '_' and '-'. Required.
	ID string `json:"id"`
	// Name is a display name. Optional.
	Name string `json:"name,omitempty"`
	// CompanyID is the Autotask company whose contacts are synced
	// (R-SCOPE-6). Required.
	CompanyID int64 `json:"companyId"`
	// Enabled: a disabled organization is never run (R-RUN-2).
	Enabled bool `json:"enabled"`
	// Directory is the directory type, for status pages (R-STATUS-1).
	Directory DirectoryType `json:"directory"`
	// Fields selects the fields written, on create and update (R-FIELD-2).
	// Empty selects every field. First name, last name and email are always
	// written, listed or not.
	Fields []FieldSpec `json:"fields,omitempty"`
	// BillingProductID, when non-zero, is assigned to contacts the sync
	// creates, never to matched ones (R-FIELD-7).
	BillingProductID int64 `json:"billingProductId,omitempty"`
	// MaxUsers caps the in-scope users; more fails the run before any write
	// (R-SCOPE-7). 0 means DefaultMaxUsers, the largest allowed.
	MaxUsers int `json:"maxUsers,omitempty"`
	// IncludeDisabled keeps disabled accounts in scope (R-SCOPE-8).
	IncludeDisabled bool `json:"includeDisabled,omitempty"`
	// EmailFromUPN uses the userPrincipalName as email when mail is blank
	// (R-MATCH-8).
	EmailFromUPN bool `json:"emailFromUpn,omitempty"`
	// Guard limits mass deactivations (R-DEACT-4).
	Guard Guard `json:"guard,omitempty"`
	// FullReadEvery enables incremental reads for a source that has them
	// (IncrementalSource): runs read only the changed users, and a full read
	// happens when the last one is older than FullReadEvery. Only a full
	// read can see users who left scope, so deactivations wait for it
	// (R-DEACT-3). 0, the default, reads in full every run, as Autotask
	// does.
	FullReadEvery time.Duration `json:"fullReadEvery,omitempty"`
	// DeactivateAfter is a grace period (R-DEACT-7): a linked user out of
	// scope is deactivated only once every full read for that long has
	// missed it, and a user back before is left untouched. 0, the default,
	// deactivates at the first full read that misses the user, as Autotask
	// does.
	DeactivateAfter time.Duration `json:"deactivateAfter,omitempty"`
	// DisabledAtOnce, with a grace period, deactivates the contact of a
	// user disabled in the directory at once (R-DEACT-8): a disabled
	// account is a decision, where a user missing from a read may be a
	// mistake in a group or a filter. Without it disabled users wait out
	// the grace period like the others. A user is known disabled only when
	// the directory delivers it disabled: an incremental read does, and a
	// full read does when the source includes disabled accounts while the
	// organization keeps them out of scope (IncludeDisabled false); a full
	// read that leaves them out sees them missing.
	DisabledAtOnce bool `json:"disabledAtOnce,omitempty"`
	// AutotaskEdits says what happens to a field a technician edited in
	// Autotask since the sync last wrote it: overwrite (the default, as
	// Autotask does), keep (R-FIELD-9) or report (R-FIELD-10).
	AutotaskEdits AutotaskEdits `json:"autotaskEdits,omitempty"`
}

var (
	orgIDPattern     = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)
	attributePattern = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9_-]{0,127}$`)
)

// Validate checks the configuration and returns a *ConfigError naming the
// first bad field, or nil.
func (c *OrgConfig) Validate() error {
	bad := func(field, format string, args ...any) error {
		return &ConfigError{Field: field, Problem: fmt.Sprintf(format, args...)}
	}
	if !orgIDPattern.MatchString(c.ID) {
		return bad("id", "%q must be 1-64 letters, digits, '.', '_' or '-'", c.ID)
	}
	if c.CompanyID <= 0 {
		return bad("companyId", "must be the Autotask company id (a positive number), got %d", c.CompanyID)
	}
	switch c.Directory {
	case DirectoryAzure, DirectoryLDAP, "":
	default:
		return bad("directory", "%q is not a directory type (want %q or %q)", c.Directory, DirectoryAzure, DirectoryLDAP)
	}
	seen := FieldSet(0)
	for i, fs := range c.Fields {
		name := "fields[" + strconv.Itoa(i) + "]"
		if !fs.Field.Valid() {
			return bad(name+".field", "unknown field %s", fs.Field)
		}
		if seen.Has(fs.Field) {
			return bad(name+".field", "%s is selected twice", fs.Field)
		}
		seen = seen.With(fs.Field)
		if fs.Source != "" && !attributePattern.MatchString(fs.Source) {
			return bad(name+".source", "%q is not a directory attribute or property name (a letter, then letters, digits, '-' or '_')", fs.Source)
		}
	}
	if c.BillingProductID < 0 {
		return bad("billingProductId", "must be positive or 0 (none), got %d", c.BillingProductID)
	}
	if c.MaxUsers < 0 || c.MaxUsers > DefaultMaxUsers {
		return bad("maxUsers", "must be between 1 and %d (0 for the default), got %d", DefaultMaxUsers, c.MaxUsers)
	}
	if c.FullReadEvery < 0 {
		return bad("fullReadEvery", "must be 0 (read in full every run) or a positive duration, got %s", c.FullReadEvery)
	}
	if !c.AutotaskEdits.Valid() {
		return bad("autotaskEdits", "%q is not one of overwrite, keep, report", c.AutotaskEdits)
	}
	if c.DeactivateAfter < 0 {
		return bad("deactivateAfter", "must be 0 (at once) or a positive duration, got %s", c.DeactivateAfter)
	}
	if c.Guard.Min < 0 {
		return bad("guard.min", "must be 0 or more, got %d", c.Guard.Min)
	}
	if c.Guard.Percent < 0 || c.Guard.Percent > 100 {
		return bad("guard.percent", "must be between 0 and 100, got %g", c.Guard.Percent)
	}
	if c.Guard.Window < 0 {
		return bad("guard.window", "must be 0 (each run alone) or a positive duration, got %s", c.Guard.Window)
	}
	return nil
}

// Selected returns the fields the organization writes: its selection (all
// fields when empty) plus the always-written first name, last name and
// email (R-FIELD-2).
func (c *OrgConfig) Selected() FieldSet {
	if len(c.Fields) == 0 {
		return AllFieldSet
	}
	s := NewFieldSet(FirstName, LastName, Email)
	for _, fs := range c.Fields {
		s = s.With(fs.Field)
	}
	return s
}

// SourceOverrides returns the per-field attribute or property overrides.
func (c *OrgConfig) SourceOverrides() map[Field]string {
	m := map[Field]string{}
	for _, fs := range c.Fields {
		if fs.Source != "" {
			m[fs.Field] = fs.Source
		}
	}
	return m
}

// UserCap returns MaxUsers or its default.
func (c *OrgConfig) UserCap() int {
	if c.MaxUsers == 0 {
		return DefaultMaxUsers
	}
	return c.MaxUsers
}

// ValidateOrgs validates each configuration and refuses two for one
// organization id or one Autotask company (R-SCOPE-2).
func ValidateOrgs(orgs []OrgConfig) error {
	ids := map[string]int{}
	companies := map[int64]int{}
	for i := range orgs {
		o := &orgs[i]
		if err := o.Validate(); err != nil {
			ce := err.(*ConfigError)
			return &ConfigError{Field: "orgs[" + strconv.Itoa(i) + "]." + ce.Field, Problem: ce.Problem}
		}
		if j, ok := ids[o.ID]; ok {
			return &ConfigError{Field: "orgs[" + strconv.Itoa(i) + "].id", Problem: fmt.Sprintf("%q is also the id of orgs[%d]", o.ID, j)}
		}
		if j, ok := companies[o.CompanyID]; ok {
			return &ConfigError{Field: "orgs[" + strconv.Itoa(i) + "].companyId",
				Problem: fmt.Sprintf("company %d is already configured by orgs[%d] (%s): one configuration per company", o.CompanyID, j, orgs[j].ID)}
		}
		ids[o.ID] = i
		companies[o.CompanyID] = i
	}
	return nil
}
