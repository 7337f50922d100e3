package docs

import (
	"bytes"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// untested lists the rule ids that no test cites yet, each with the reason.
// Keep it short: a rule belongs here only while its behaviour is not built,
// and the entry goes with the first test named after it.
var untested = map[string]string{}

// ruleID is a rule id as cited anywhere.
var ruleID = regexp.MustCompile(`\bR-[A-Z]+-[0-9]+\b`)

// repoFile is one text file of the repository, by its slash path from the
// module root.
type repoFile struct {
	path string
	text string
}

// repoFiles reads the repository's text files from the module root: every
// file but the .git entry, what .gitignore keeps out (the built command,
// test binaries and outputs, tmp/), and binary files.
func repoFiles(t *testing.T) []repoFile {
	t.Helper()
	root := moduleRoot(t)
	var files []repoFile
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		rel = filepath.ToSlash(rel)
		if d.IsDir() {
			if rel == ".git" || rel == "tmp" {
				return filepath.SkipDir
			}
			return nil
		}
		if rel == ".git" || rel == "adsync" || strings.HasSuffix(rel, ".test") || strings.HasSuffix(rel, ".out") || !d.Type().IsRegular() {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if bytes.IndexByte(b, 0) >= 0 {
			b = nil // binary: it exists, but holds no text to check
		}
		files = append(files, repoFile{path: rel, text: string(b)})
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, files)
	return files
}

// moduleRoot is the directory of go.mod, found upwards from the package's
// directory (where go test runs).
func moduleRoot(t *testing.T) string {
	t.Helper()
	dir, err := os.Getwd()
	require.NoError(t, err)
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		require.NotEqual(t, dir, parent, "no go.mod above the test's directory")
		dir = parent
	}
}

// rulesSelfFiles are files about the rules document itself: the parser's
// tests use made-up ids, and the command's tests look real ones up. Their
// citations neither need defining nor count as testing a rule.
var rulesSelfFiles = map[string]bool{
	"docs/rules_test.go":                    true,
	"docs/repo_test.go":                     true,
	"cmd/adsync/internal/cli/rules_test.go": true,
	"cmd/adsync/internal/cli/rules.go":      true,
	"docs/rules.go":                         true,
	"docs/rules.md":                         true,
	"scripts/cite-docs.sh":                  true,
}

// where lists, sorted, the places a key was found.
func where(m map[string][]string) string {
	var keys []string
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var b strings.Builder
	for _, k := range keys {
		b.WriteString("\n  " + k + ": " + strings.Join(m[k], ", "))
	}
	return b.String()
}

// TestRuleIDsDefined: every rule id cited in Go code, tests and the
// command's golden outputs is defined in docs/rules.md, so a user who reads
// one in an output can look it up with `adsync rules ID`.
func TestRuleIDsDefined(t *testing.T) {
	undefined := map[string][]string{}
	for _, f := range repoFiles(t) {
		if rulesSelfFiles[f.path] || !(strings.HasSuffix(f.path, ".go") || strings.HasSuffix(f.path, ".golden")) {
			continue
		}
		for _, id := range ruleID.FindAllString(f.text, -1) {
			if _, ok := Lookup(id); !ok && !slices.Contains(undefined[id], f.path) {
				undefined[id] = append(undefined[id], f.path)
			}
		}
	}
	if len(undefined) > 0 {
		t.Errorf("rule ids cited but not defined in docs/rules.md (id: files):%s", where(undefined))
	}
}

// TestRulesTested: every rule of docs/rules.md is cited by at least one
// test (tests are named after the rule they check), except those listed in
// untested; an entry there whose rule is now tested, or is no rule, must go.
func TestRulesTested(t *testing.T) {
	cited := map[string]bool{}
	for _, f := range repoFiles(t) {
		if rulesSelfFiles[f.path] || !strings.HasSuffix(f.path, "_test.go") {
			continue
		}
		for _, id := range ruleID.FindAllString(f.text, -1) {
			cited[id] = true
		}
	}
	var missing []string
	for _, r := range Rules() {
		if !cited[r.ID] && untested[r.ID] == "" {
			missing = append(missing, r.ID)
		}
	}
	if len(missing) > 0 {
		t.Errorf("rules no test cites (name a test after each, or list it in untested with the reason): %s", strings.Join(missing, ", "))
	}
	for id := range untested {
		if _, ok := Lookup(id); !ok {
			t.Errorf("untested lists %s, which docs/rules.md does not define", id)
		} else if cited[id] {
			t.Errorf("untested lists %s, but a test cites it now: remove it from the list", id)
		}
	}
}

// TestCitedFilesExist: Go, Markdown and shell files cite only repository
// files under docs/ (and nothing under a spec/ directory, which the
// repository does not have), and no longer the research notes docs/
// replaced (scripts/cite-docs.sh rewrites such citations).
func TestCitedFilesExist(t *testing.T) {
	files := repoFiles(t)
	exists := map[string]bool{}
	for _, f := range files {
		exists[f.path] = true
	}
	citation := regexp.MustCompile(`\b(?:spec|docs)/[A-Za-z0-9_.-]+\.[a-z]+\b`)
	// The notes' names, spelled in pieces so that this file does not cite
	// them itself.
	oldNotes := regexp.MustCompile(`(?:^|[^A-Za-z0-9_./-])((?:sync-rules|autotask-adsync|autotask-rest|` + `directory)\.` + `md|sync-rules` + ` §)`)
	wrong := map[string][]string{}
	for _, f := range files {
		if rulesSelfFiles[f.path] || !(strings.HasSuffix(f.path, ".go") || strings.HasSuffix(f.path, ".md") || strings.HasSuffix(f.path, ".sh")) {
			continue
		}
		for _, c := range citation.FindAllString(f.text, -1) {
			if !exists[c] && !slices.Contains(wrong[f.path], c) {
				wrong[f.path] = append(wrong[f.path], c)
			}
		}
		for _, m := range oldNotes.FindAllStringSubmatch(f.text, -1) {
			if !slices.Contains(wrong[f.path], m[1]) {
				wrong[f.path] = append(wrong[f.path], m[1])
			}
		}
	}
	if len(wrong) > 0 {
		t.Errorf("files citing what the repository does not have (file: citations; scripts/cite-docs.sh fixes the notes' names):%s", where(wrong))
	}
}

// TestNoMachinePaths: no file holds a path of the machine it was written on
// (a checkout, a home directory): they mean nothing to anyone else.
func TestNoMachinePaths(t *testing.T) {
	// Spelled in pieces so that this file does not match itself.
	machinePath := regexp.MustCompile(`/` + `work/|/` + `home/[a-z_][a-z0-9_-]*/`)
	found := map[string][]string{}
	for _, f := range repoFiles(t) {
		for i, line := range strings.Split(f.text, "\n") {
			if m := machinePath.FindString(line); m != "" {
				found[f.path] = append(found[f.path], strconv.Itoa(i+1)+": "+m)
			}
		}
	}
	if len(found) > 0 {
		t.Errorf("machine paths in committed files (file: line: path):%s", where(found))
	}
}

// TestCitedSectionsExist: a citation of a section of a docs file ("docs/…md
// §5.4", "docs/…md §A1", "docs/…md B7") names a section that file has: a
// heading ("### 5.4 …", "### A1. …", "## 5. …") or a numbered key point
// ("**§0.2**").
func TestCitedSectionsExist(t *testing.T) {
	files := repoFiles(t)
	heading := regexp.MustCompile(`(?m)^#{2,4} ([A-D]?[0-9]+(?:\.[0-9]+)?|[A-D])\.? `)
	keyPoint := regexp.MustCompile(`\*\*§([0-9]+\.[0-9]+)\*\*`)
	sections := map[string]map[string]bool{}
	for _, f := range files {
		if !strings.HasPrefix(f.path, "docs/") || !strings.HasSuffix(f.path, ".md") {
			continue
		}
		s := map[string]bool{}
		for _, m := range heading.FindAllStringSubmatch(f.text, -1) {
			s[m[1]] = true
		}
		for _, m := range keyPoint.FindAllStringSubmatch(f.text, -1) {
			s[m[1]] = true
		}
		sections[f.path] = s
	}
	require.NotEmpty(t, sections["docs/autotask-api.md"]["5.4"], "the section parser finds the docs' sections")

	citation := regexp.MustCompile(`\b(docs/[a-z-]+\.md),? §?([A-D][0-9]*|[0-9]+(?:\.[0-9]+)?)\b`)
	wrong := map[string][]string{}
	for _, f := range files {
		if rulesSelfFiles[f.path] || !(strings.HasSuffix(f.path, ".go") || strings.HasSuffix(f.path, ".md") || strings.HasSuffix(f.path, ".sh")) {
			continue
		}
		for _, m := range citation.FindAllStringSubmatch(f.text, -1) {
			if s, ok := sections[m[1]]; ok && !s[m[2]] && !slices.Contains(wrong[f.path], m[0]) {
				wrong[f.path] = append(wrong[f.path], m[0])
			}
		}
	}
	if len(wrong) > 0 {
		t.Errorf("citations of sections the docs file does not have (file: citations):%s", where(wrong))
	}
}
