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
// starts with the place its rule is documented: "Type: " or
// "Type.Method: ", Type one of types (by name) and Method one of its
// methods. A suite's failures then name the doc comment that states the
// broken rule, and a rule cannot drift away from the contract unnoticed.
func CheckRuleNames(t *testing.T, file string, types ...reflect.Type) {
	t.Helper()
	byName := map[string]reflect.Type{}
	for _, ty := range types {
		byName[ty.Name()] = ty
	}
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
				where, _, ok := strings.Cut(text, ": ")
				typ, method, _ := strings.Cut(where, ".")
				ty, known := byName[typ]
				switch {
				case !ok || !known:
					t.Errorf("%s = %q: want it to start with the documented type, one of %v, and \": \"", name.Name, text, types)
				case method != "":
					if _, has := ty.MethodByName(method); !has {
						t.Errorf("%s = %q: %s has no method %s", name.Name, text, typ, method)
					}
				}
			}
		}
	}
	if n == 0 {
		t.Errorf("%s declares no rule constants", file)
	}
}
