package conform

import (
	"go/ast"
	"go/parser"
	"go/token"
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// CheckRuleNames checks that every string constant named rule* in file
// starts with the place its rule is documented, as CheckRuleName does. A
// suite's failures then name the doc comment that states the broken rule,
// and a rule cannot drift away from the contract unnoticed.
func CheckRuleNames(t *testing.T, file string, types ...reflect.Type) {
	t.Helper()
	f, err := parser.ParseFile(token.NewFileSet(), file, nil, 0)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, d := range f.Decls {
		g, ok := d.(*ast.GenDecl)
		if !ok || g.Tok != token.CONST {
			continue
		}
		for _, spec := range g.Specs {
			vs := spec.(*ast.ValueSpec)
			for i, name := range vs.Names {
				if !strings.HasPrefix(name.Name, "rule") || i >= len(vs.Values) {
					continue
				}
				lit, ok := vs.Values[i].(*ast.BasicLit)
				if !ok || lit.Kind != token.STRING {
					continue
				}
				n++
				text, _ := strconv.Unquote(lit.Value)
				if !CheckRuleName(t, text, types...) {
					t.Errorf("(the rule above is constant %s of %s)", name.Name, file)
				}
			}
		}
	}
	if n == 0 {
		t.Errorf("%s declares no rule constants", file)
	}
}

// CheckRuleName checks that the text of one rule starts with the place
// the rule is documented: "Type: " or "Type.Method: ", Type one of types
// (by name) and Method one of its methods. It reports whether it does.
func CheckRuleName(t testing.TB, text string, types ...reflect.Type) bool {
	t.Helper()
	where, _, ok := strings.Cut(text, ": ")
	typ, method, _ := strings.Cut(where, ".")
	var ty reflect.Type
	for _, c := range types {
		if c.Name() == typ {
			ty = c
		}
	}
	switch {
	case !ok || ty == nil:
		names := make([]string, len(types))
		for i, c := range types {
			names[i] = c.Name()
		}
		t.Errorf("rule %q: want it to start with the documented type, one of %v, and \": \"", text, names)
		return false
	case method != "":
		if _, has := ty.MethodByName(method); !has {
			t.Errorf("rule %q: %s has no method %s", text, typ, method)
			return false
		}
	}
	return true
}
