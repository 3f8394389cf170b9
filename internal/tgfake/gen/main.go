// Command gen extracts the facts the fake Bot API server checks from the
// machine-readable Bot API description: every method's parameters and every
// type's fields, each with its types and whether it is required. Descriptions
// are dropped on purpose; the only thing taken from them is the constant value
// of discriminator fields ("Scope type, must be chat" becomes const "chat"),
// which is how subtypes such as BotCommandScopeChat are told apart.
//
// Usage:
//
//	go run ./gen -in ../../../shared/telegram-bot-api/api.json -out testdata/botapi.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"regexp"
	"sort"
)

// source mirrors the parts of api.json that are read.
type source struct {
	Version string                  `json:"version"`
	Methods map[string]sourceObject `json:"methods"`
	Types   map[string]sourceObject `json:"types"`
}

type sourceObject struct {
	Name     string        `json:"name"`
	Fields   []sourceField `json:"fields"`
	Subtypes []string      `json:"subtypes"`
	Returns  []string      `json:"returns"`
}

type sourceField struct {
	Name        string   `json:"name"`
	Types       []string `json:"types"`
	Required    bool     `json:"required"`
	Description string   `json:"description"`
}

// Spec is the compact output format, read back by package tgfake.
type Spec struct {
	Version string         `json:"version"`
	Methods map[string]Obj `json:"methods"`
	Types   map[string]Obj `json:"types"`
}

// Obj is a method (its parameters) or a type (its fields or subtypes).
type Obj struct {
	Fields   []Field  `json:"fields,omitempty"`
	Subtypes []string `json:"subtypes,omitempty"`
}

// Field is one parameter or field.
type Field struct {
	Name     string   `json:"name"`
	Types    []string `json:"types"`
	Required bool     `json:"required,omitempty"`
	Const    string   `json:"const,omitempty"`
}

// constRe finds the fixed value of a discriminator field such as
// "Scope type, must be chat" or "Type of the result, must be article".
var constRe = regexp.MustCompile(`(?:must be|always) [“"*]?([a-z_]+)[”"*]?`)

func main() {
	in := flag.String("in", "", "path of api.json")
	out := flag.String("out", "", "path of the compact spec to write")
	flag.Parse()
	if err := run(*in, *out); err != nil {
		fmt.Fprintln(os.Stderr, "gen:", err)
		os.Exit(1)
	}
}

func run(in, out string) error {
	if in == "" || out == "" {
		return fmt.Errorf("both -in and -out are required")
	}
	raw, err := os.ReadFile(in)
	if err != nil {
		return fmt.Errorf("read spec: %w", err)
	}
	var src source
	if err := json.Unmarshal(raw, &src); err != nil {
		return fmt.Errorf("parse spec: %w", err)
	}
	spec := Spec{Version: src.Version, Methods: map[string]Obj{}, Types: map[string]Obj{}}
	for name, m := range src.Methods {
		spec.Methods[name] = convert(m, false)
	}
	for name, t := range src.Types {
		spec.Types[name] = convert(t, true)
	}
	data, err := json.MarshalIndent(spec, "", " ")
	if err != nil {
		return fmt.Errorf("encode: %w", err)
	}
	data = append(data, '\n')
	if err := os.WriteFile(out, data, 0o644); err != nil {
		return fmt.Errorf("write: %w", err)
	}
	return nil
}

func convert(o sourceObject, isType bool) Obj {
	res := Obj{}
	for _, f := range o.Fields {
		nf := Field{Name: f.Name, Types: append([]string(nil), f.Types...), Required: f.Required}
		if isType && f.Name == "type" && f.Required {
			if m := constRe.FindStringSubmatch(f.Description); m != nil {
				nf.Const = m[1]
			}
		}
		res.Fields = append(res.Fields, nf)
	}
	if len(o.Subtypes) > 0 {
		res.Subtypes = append([]string(nil), o.Subtypes...)
		sort.Strings(res.Subtypes)
	}
	return res
}
