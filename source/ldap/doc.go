// Package ldap is the adsync.DirectorySource for on-premises Active
// Directory, read over LDAPS.
//
// It speaks LDAP with a small client of its own (simple bind, StartTLS,
// paged searches decoded in place, wire.go) and uses
// github.com/go-ldap/ldap/v3 for filters, DNs, request encoding and the
// Entry and Error types: go-ldap's own connection cost six times the CPU
// and fourteen times the memory per read (BENCHMARKS.md).
//
// A Source reads the users in scope (R-SCOPE-5): objects matching
// (&(objectCategory=person)(objectClass=user)) under a base DN, optionally
// members of a group (nested membership through the in-chain matching rule
// 1.2.840.113556.1.4.1941 unless DirectMembersOnly), optionally under one of
// a list of OUs, optionally matching a raw LDAP filter. Disabled accounts
// (userAccountControl bit 0x2) are delivered too, with Enabled=false: the
// organization's policy (adsync.OrgConfig.IncludeDisabled, R-SCOPE-8) is
// applied by the Syncer, as is its EmailFromUPN (R-MATCH-8).
//
// Reads are paged searches that stream: each page of the LDAP paged-results
// control is converted and handed to the caller in pages of at most
// adsync.MaxPageSize users, so memory does not grow with the directory.
// The user id is objectGUID in its canonical Microsoft string form
// (R-LINK-1); values are mapped onto Autotask's contact fields with the
// default map of docs/rules.md §5, which Config.Attributes can override.
//
// Source also implements adsync.IncrementalSource with uSNChanged: the
// cursor records the domain controller's host name, its invocationId and
// the highestCommittedUSN read before the previous read, so a different DC,
// or the same DC restored from a backup, gives adsync.ErrCursorExpired and
// the caller reads in full.
//
// TLS: ldaps:// is the default; ldap:// needs StartTLS, or the
// AllowPlaintext switch that exists for tests only. Certificates are
// verified in one of three modes: VerifyFull (chain and host name),
// VerifyChainOnly (the chain against the configured CA, not the host name:
// many AD certificates, Samba's among them, have no subjectAltName or are
// reached by IP) and VerifyInsecure (nothing checked; logged as a warning on
// every connection and reported as TLS status "untrusted").
//
// Errors are *Error values, shaped like graph.Error: what failed, the
// adsync sentinel it stands for (ErrUnauthorized, ErrTLS with the TLS
// status, ErrNotFound for a base, group or OU DN, ErrUnavailable,
// ErrCursorExpired) and the cause, each message starting with "ldap: ".
//
// Nothing is ever written to the directory (R-SCOPE-1).
package ldap
