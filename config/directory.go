package config

import (
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"strings"
	"sync"

	"github.com/psasync/adsync"
)

// Directory is an organization's directory section, decoded and validated,
// secrets resolved. Config.Orgs opens it.
type Directory interface {
	// Source returns the organization's directory source. It does no I/O.
	Source(o SourceOptions) (adsync.DirectorySource, error)
}

// SourceOptions are what a Directory's source gets from the program that
// loaded the configuration (Options).
type SourceOptions struct {
	Logger *slog.Logger
	// HTTPClient, when set, carries an HTTP directory's requests.
	HTTPClient *http.Client
}

// DirectoryKind is a kind of directory an organization may use, registered
// under the key its section has in the file (ldap, azure). It is how a
// program compiles only the directories it can read: the Entra ID kind
// lives in source/graph/graphconfig, which imports the Graph SDK, and is
// registered by importing that package, the way database/sql drivers are.
type DirectoryKind struct {
	// Type is the directory type shown on status pages.
	Type adsync.DirectoryType
	// Title says what the kind reads, for messages: "Entra ID".
	Title string
	// Settings returns a pointer to a new struct the section decodes into:
	// its fields' yaml tags are the section's keys, and any other key is
	// refused.
	Settings func() any
	// Build validates the decoded settings (the pointer Settings returned)
	// and returns the directory. Its errors come from the Section, so that
	// they name the file, the line and the setting.
	Build func(s *Section, settings any) (Directory, error)
}

var kinds = struct {
	sync.RWMutex
	m map[string]DirectoryKind
}{m: map[string]DirectoryKind{}}

// knownKinds are the project's directory kinds registered outside this
// package, with the package to import: the message for a file that uses
// one in a program that did not import it.
var knownKinds = map[string]string{
	"azure": "github.com/psasync/adsync/source/graph/graphconfig",
}

// RegisterDirectory makes a directory kind available under key, the name of
// an organization's section in the file. It panics if key is registered
// twice or the kind is incomplete, as database/sql.Register does: both are
// programming errors found at start.
func RegisterDirectory(key string, k DirectoryKind) {
	if key == "" || k.Settings == nil || k.Build == nil {
		panic("config: RegisterDirectory(" + key + "): a key, Settings and Build are required")
	}
	kinds.Lock()
	defer kinds.Unlock()
	if _, dup := kinds.m[key]; dup {
		panic("config: RegisterDirectory called twice for " + key)
	}
	kinds.m[key] = k
}

func directoryKind(key string) (DirectoryKind, bool) {
	kinds.RLock()
	defer kinds.RUnlock()
	k, ok := kinds.m[key]
	return k, ok
}

// kindNames returns the registered keys, sorted.
func kindNames() []string {
	kinds.RLock()
	defer kinds.RUnlock()
	names := make([]string, 0, len(kinds.m))
	for k := range kinds.m {
		names = append(names, k)
	}
	sort.Strings(names)
	return names
}

// kindList lists the registered kinds with their titles: "azure (Entra
// ID) or ldap (Active Directory over LDAPS)".
func kindList(sep string) string {
	names := kindNames()
	for i, n := range names {
		if k, _ := directoryKind(n); k.Title != "" {
			names[i] += " (" + k.Title + ")"
		}
	}
	return strings.Join(names, sep)
}

// Section is an organization's directory section being built: what a
// DirectoryKind's Build uses to read secrets and files the way every other
// setting is read, and to report problems with the file and the line.
type Section struct {
	l    *loader
	path string // e.g. orgs[0].ldap
	org  adsync.OrgConfig
}

// Org is the organization's configuration as loaded so far (its fields,
// IncludeDisabled, EmailFromUPN), for the settings a source shares with it.
func (s *Section) Org() adsync.OrgConfig { return s.org }

// OrgsOnly reports that the configuration is loaded with Options.OrgsOnly:
// Secret returns a placeholder, and Build must validate what it can without
// reading secret, certificate or CA files. The Directory it returns is never
// opened.
func (s *Section) OrgsOnly() bool { return s.l.orgsOnly }

// Errorf returns an *Error for the section's setting key (e.g. "baseDN",
// "tls.ca"), with its line.
func (s *Section) Errorf(key, format string, args ...any) error {
	return s.l.bad(join(s.path, key), format, args...)
}

// Secret resolves the secret named name (e.g. "password"): inline is the
// value written under name (always refused: secrets are not written in the
// file), env the name of an environment variable (nameEnv) and file a file
// holding only the secret (nameFile). Without either, required says
// whether that is an error. A variable not set or a file not readable is
// reported by Load with every other missing secret, after the whole file
// was checked: meanwhile Secret returns a placeholder.
func (s *Section) Secret(name, inline, env, file string, required bool) (string, error) {
	return s.l.secret(s.path, name, inline, env, file, required)
}

// Path resolves a path relative to the configuration file's directory.
func (s *Section) Path(p string) string { return s.l.rel(p) }

// ReadFile reads the file a setting names (relative to the configuration
// file), with an error naming the setting.
func (s *Section) ReadFile(key, p string) ([]byte, error) {
	b, err := os.ReadFile(s.l.rel(p))
	if err != nil {
		return nil, s.Errorf(key, "cannot read %s: %v", s.l.rel(p), unwrapPathError(err))
	}
	return b, nil
}

// SecureURL refuses an http:// URL for the setting key: what (e.g. "the
// sign-in secret") would travel in clear. A loopback host may use http://.
func (s *Section) SecureURL(key, value, what string) error {
	return s.l.secureURL(join(s.path, key), value, what)
}

// ConfigError re-homes an *adsync.ConfigError returned by a package's
// Validate under the section, renaming the package's field names to the
// file's keys (e.g. "password" → "passwordEnv"). Other errors are reported
// against the section itself.
func (s *Section) ConfigError(err error, rename map[string]string) error {
	return s.l.fromConfigError(s.path+".", err, rename)
}

// String names the section, for messages.
func (s *Section) String() string { return fmt.Sprintf("%s in %s", s.path, s.l.path) }
