// Package config loads adsync's YAML configuration file, the one the adsync
// command reads, for programs that embed the library (a PSA tool, a service
// of your own): Load reads and validates it, resolving secrets from the
// environment and from files; ContactStore, Orgs and History build what a
// Syncer needs.
//
// Decoding is strict: an unknown key, a value of the wrong type, a fraction
// in a whole-number setting, NaN, a secret written inline or an http:// URL
// carrying a secret is an *Error naming the file, the line, the setting and
// the fix, and nothing is contacted or opened before the whole file is
// valid.
//
// Directory kinds register with the package the way database/sql drivers
// do (RegisterDirectory). ldap is built in; azure (Entra ID, which compiles
// the Microsoft Graph SDK) is registered by importing
// github.com/psasync/adsync/source/graph/graphconfig for its side effect,
// so a program that reads only LDAP organizations does not compile the SDK.
package config
