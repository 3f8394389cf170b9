package i18n

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
)

// sourceDirs are the packages whose code uses catalogue keys or produces error reasons.
var sourceDirs = []string{"../commands", "../scheduler", "../affiliate", "../store", "../bot", "../track", "../cmd/keranjang", "."}

// reasonDirs are the packages whose domain errors reach Telegram users (track maps its own to HTTP).
var reasonDirs = map[string]bool{"../commands": true, "../affiliate": true, "../store": true}

// scan parses the non-test Go files of dirs and returns every string literal, the keys passed to T,
// ReplyKey and notices (or assigned to a variable named key), and the reasons of domain errors.
func scan(t *testing.T) (literals, keys, reasons map[string]token.Position) {
	t.Helper()
	literals, keys, reasons = map[string]token.Position{}, map[string]token.Position{}, map[string]token.Position{}
	fset := token.NewFileSet()
	str := func(e ast.Expr) (string, bool) {
		if lit, ok := e.(*ast.BasicLit); ok && lit.Kind == token.STRING {
			s, err := strconv.Unquote(lit.Value)
			return s, err == nil
		}
		return "", false
	}
	for _, dir := range sourceDirs {
		files, err := filepath.Glob(filepath.Join(dir, "*.go"))
		if err != nil {
			t.Fatal(err)
		}
		for _, path := range files {
			if strings.HasSuffix(path, "_test.go") || filepath.Base(path) == "messages.go" {
				continue
			}
			f, err := parser.ParseFile(fset, path, nil, 0)
			if err != nil {
				t.Fatal(err)
			}
			ast.Inspect(f, func(n ast.Node) bool {
				switch n := n.(type) {
				case *ast.BasicLit:
					if s, ok := str(n); ok {
						literals[s] = fset.Position(n.Pos())
					}
				case *ast.CallExpr:
					name, pkg := "", ""
					switch fn := n.Fun.(type) {
					case *ast.Ident:
						name = fn.Name
					case *ast.SelectorExpr:
						name = fn.Sel.Name
						if id, ok := fn.X.(*ast.Ident); ok {
							pkg = id.Name
						}
					}
					arg := -1
					switch {
					case name == "T" && pkg == "i18n", name == "ReplyKey":
						arg = 1
					case name == "T":
						arg = 0
					case name == "Errorf" && reasonDirs[dir]:
						if len(n.Args) > 1 {
							if s, ok := str(n.Args[1]); ok {
								reasons[s] = fset.Position(n.Pos())
							}
						}
					}
					if arg >= 0 && len(n.Args) > arg {
						if s, ok := str(n.Args[arg]); ok {
							keys[s] = fset.Position(n.Pos())
						}
					}
				case *ast.KeyValueExpr:
					if id, ok := n.Key.(*ast.Ident); ok {
						if s, ok := str(n.Value); ok {
							switch id.Name {
							case "Key":
								keys[s] = fset.Position(n.Pos())
							case "Reason":
								if reasonDirs[dir] {
									reasons[s] = fset.Position(n.Pos())
								}
							}
						}
					}
				case *ast.AssignStmt:
					for i, lhs := range n.Lhs {
						if id, ok := lhs.(*ast.Ident); ok && id.Name == "key" && i < len(n.Rhs) {
							if s, ok := str(n.Rhs[i]); ok {
								keys[s] = fset.Position(n.Pos())
							}
						}
					}
				}
				return true
			})
		}
	}
	return literals, keys, reasons
}

func TestEveryKeyUsedExistsInBothLanguages(t *testing.T) {
	if _, err := os.Stat("../commands"); err != nil {
		t.Skip("source tree not available")
	}
	_, keys, reasons := scan(t)
	if len(keys) < 50 {
		t.Fatalf("found only %d keys: the scan is broken", len(keys))
	}
	for k, pos := range keys {
		m, ok := catalogue[k]
		if !ok {
			t.Errorf("%s: key %q is not in the catalogue", pos, k)
			continue
		}
		if m.id == "" || m.en == "" {
			t.Errorf("%s: key %q lacks a language", pos, k)
		}
	}
	for r, pos := range reasons {
		if _, ok := catalogue["err."+r]; !ok {
			t.Errorf("%s: error reason %q has no message err.%s", pos, r, r)
		}
	}
	for k, m := range catalogue {
		if m.id == "" || m.en == "" {
			t.Errorf("key %q lacks a language", k)
		}
	}
}

// A key is used when a literal names it, or when it is two literals joined ("menu."+name,
// "err."+reason, key+"_short").
func TestNoUnusedKeys(t *testing.T) {
	if _, err := os.Stat("../commands"); err != nil {
		t.Skip("source tree not available")
	}
	literals, _, _ := scan(t)
	var unused []string
	for k := range catalogue {
		if _, ok := literals[k]; ok {
			continue
		}
		found := false
		for i := 1; i < len(k) && !found; i++ {
			_, a := literals[k[:i]]
			_, b := literals[k[i:]]
			found = a && b
		}
		if !found {
			unused = append(unused, k)
		}
	}
	sort.Strings(unused)
	if len(unused) > 0 {
		t.Errorf("unused catalogue keys: %v", unused)
	}
}
