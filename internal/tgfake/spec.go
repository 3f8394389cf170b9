package tgfake

import (
	"bytes"
	_ "embed"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode/utf8"
)

//go:embed testdata/botapi.json
var specJSON []byte

// apiSpec is the embedded reduction of the Bot API description.
type apiSpec struct {
	Version string             `json:"version"`
	Methods map[string]specObj `json:"methods"`
	Types   map[string]specObj `json:"types"`

	// lower maps a lower-cased method name to its canonical spelling;
	// Telegram matches method names case-insensitively.
	lower map[string]string
}

type specObj struct {
	Fields   []specField `json:"fields"`
	Subtypes []string    `json:"subtypes"`
}

type specField struct {
	Name     string   `json:"name"`
	Types    []string `json:"types"`
	Required bool     `json:"required"`
	Const    string   `json:"const"`
}

func (o specObj) field(name string) (specField, bool) {
	for _, f := range o.Fields {
		if f.Name == name {
			return f, true
		}
	}
	return specField{}, false
}

// spec returns the parsed embedded specification. A broken embedded file is a
// programming error, so it panics.
var spec = sync.OnceValue(func() *apiSpec {
	var sp apiSpec
	if err := json.Unmarshal(specJSON, &sp); err != nil {
		panic(fmt.Sprintf("tgfake: embedded botapi.json: %v", err))
	}
	sp.lower = make(map[string]string, len(sp.Methods))
	for name := range sp.Methods {
		sp.lower[strings.ToLower(name)] = name
	}
	return &sp
})

// strictTypes are the object types whose unknown fields are rejected. Other
// nested objects are type-checked field by field but tolerate extra keys,
// because Telegram ignores them and client libraries sometimes add some.
var strictTypes = map[string]bool{
	"InlineKeyboardMarkup": true, "InlineKeyboardButton": true, "CopyTextButton": true,
	"BotCommand": true, "ReplyParameters": true, "LinkPreviewOptions": true,
	"BotCommandScopeDefault": true, "BotCommandScopeAllPrivateChats": true,
	"BotCommandScopeAllGroupChats": true, "BotCommandScopeAllChatAdministrators": true,
	"BotCommandScopeChat": true, "BotCommandScopeChatAdministrators": true,
	"BotCommandScopeChatMember": true, "ReplyKeyboardRemove": true, "ForceReply": true,
	"ReplyKeyboardMarkup": true, "KeyboardButton": true, "WebAppInfo": true, "LoginUrl": true,
}

// buttonLabelFields are the InlineKeyboardButton fields that are not actions.
var buttonLabelFields = map[string]bool{"text": true, "icon_custom_emoji_id": true, "style": true}

var commandRe = regexp.MustCompile(`^[a-z0-9_]{1,32}$`)

// decodeJSON decodes a JSON document keeping numbers exact.
func decodeJSON(s string) (any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, fmt.Errorf("trailing data after JSON value")
	}
	return v, nil
}

// checkParam validates a top-level request parameter given as a string.
func (sp *apiSpec) checkParam(name, value string, types []string) error {
	if slices.Contains(types, "String") {
		return nil
	}
	scalar := true
	for _, t := range types {
		switch t {
		case "Integer":
			if _, err := strconv.ParseInt(value, 10, 64); err == nil {
				return nil
			}
		case "Float":
			if _, err := strconv.ParseFloat(value, 64); err == nil {
				return nil
			}
		case "Boolean", "True":
			if strings.EqualFold(value, "true") || strings.EqualFold(value, "false") {
				return nil
			}
		case "InputFile":
			return nil
		default:
			scalar = false
		}
	}
	if scalar {
		return fmt.Errorf("Bad Request: invalid value %q for parameter %q: expected %s", value, name, strings.Join(types, " or "))
	}
	v, err := decodeJSON(value)
	if err != nil {
		return fmt.Errorf("Bad Request: can't parse %s JSON object", name)
	}
	if err := sp.checkValue(v, types, name); err != nil {
		if strings.HasPrefix(err.Error(), "Bad Request: ") {
			return err
		}
		return fmt.Errorf("Bad Request: can't parse %s: %w", name, err)
	}
	return nil
}

// checkValue reports whether the decoded JSON value v conforms to one of the
// spec types. With several candidate object types, the error of the
// candidate whose required fields are all present is reported.
func (sp *apiSpec) checkValue(v any, types []string, path string) error {
	var first, best error
	for _, t := range types {
		err := sp.checkOne(v, t, path)
		if err == nil {
			return nil
		}
		if first == nil {
			first = err
		}
		if best == nil && sp.shapeMatches(v, t) {
			best = err
		}
	}
	if best != nil {
		return best
	}
	return first
}

// shapeMatches reports whether v looks like an object of type t: an object
// holding all of t's required fields (or matching one of its subtypes).
func (sp *apiSpec) shapeMatches(v any, t string) bool {
	obj, ok := v.(map[string]any)
	if !ok {
		return false
	}
	st, ok := sp.Types[t]
	if !ok {
		return false
	}
	if len(st.Subtypes) > 0 {
		for _, sub := range st.Subtypes {
			if sp.shapeMatches(v, sub) {
				return true
			}
		}
		return false
	}
	for _, f := range st.Fields {
		if f.Required {
			if _, ok := obj[f.Name]; !ok {
				return false
			}
		}
	}
	return len(st.Fields) > 0
}

func kindOf(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a String"
	case bool:
		return "a Boolean"
	case json.Number:
		return "a Number"
	case []any:
		return "an Array"
	case map[string]any:
		return "an Object"
	}
	return "unknown"
}

func (sp *apiSpec) checkOne(v any, t, path string) error {
	if elem, ok := strings.CutPrefix(t, "Array of "); ok {
		arr, ok := v.([]any)
		if !ok {
			return fmt.Errorf("field %q must be an Array, got %s", path, kindOf(v))
		}
		for i, e := range arr {
			if err := sp.checkValue(e, []string{elem}, fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
		return nil
	}
	switch t {
	case "Integer":
		if n, ok := v.(json.Number); ok {
			if _, err := strconv.ParseInt(string(n), 10, 64); err == nil {
				return nil
			}
		}
		return fmt.Errorf("field %q must be an Integer, got %s", path, kindOf(v))
	case "Float":
		if _, ok := v.(json.Number); ok {
			return nil
		}
		return fmt.Errorf("field %q must be a Number, got %s", path, kindOf(v))
	case "String", "InputFile":
		if _, ok := v.(string); ok {
			return nil
		}
		return fmt.Errorf("field %q must be a String, got %s", path, kindOf(v))
	case "Boolean":
		if _, ok := v.(bool); ok {
			return nil
		}
		return fmt.Errorf("field %q must be a Boolean, got %s", path, kindOf(v))
	case "True":
		if b, ok := v.(bool); ok && b {
			return nil
		}
		return fmt.Errorf("field %q must be true", path)
	}
	st, known := sp.Types[t]
	if !known {
		return nil // A type the spec does not describe; nothing to check.
	}
	obj, ok := v.(map[string]any)
	if !ok {
		return fmt.Errorf("field %q must be an Object (%s), got %s", path, t, kindOf(v))
	}
	if len(st.Subtypes) > 0 {
		return sp.checkSubtype(obj, t, st, path)
	}
	for _, f := range st.Fields {
		val, present := obj[f.Name]
		if !present {
			if f.Required {
				return fmt.Errorf("field %q of %s is required", path+"."+f.Name, t)
			}
			continue
		}
		if err := sp.checkValue(val, f.Types, path+"."+f.Name); err != nil {
			return err
		}
		if f.Const != "" && val != f.Const {
			return fmt.Errorf("field %q must be %q", path+"."+f.Name, f.Const)
		}
	}
	if strictTypes[t] {
		for _, k := range sortedKeys(obj) {
			if _, ok := st.field(k); !ok {
				return fmt.Errorf("unknown field %q in %s", path+"."+k, t)
			}
		}
	}
	return checkRules(obj, t, path)
}

// checkSubtype validates an object of an abstract type (such as
// BotCommandScope) against the subtype its "type" field names.
func (sp *apiSpec) checkSubtype(obj map[string]any, t string, st specObj, path string) error {
	typ, _ := obj["type"].(string)
	var firstErr error
	for _, sub := range st.Subtypes {
		ss := sp.Types[sub]
		if tf, ok := ss.field("type"); ok && tf.Const != "" {
			if tf.Const == typ {
				return sp.checkOne(obj, sub, path)
			}
			continue
		}
		err := sp.checkOne(obj, sub, path)
		if err == nil {
			return nil
		}
		if firstErr == nil {
			firstErr = err
		}
	}
	if firstErr != nil {
		return firstErr
	}
	return fmt.Errorf("unsupported %s type %q in field %q", t, typ, path)
}

// checkRules applies the documented limits that a field list cannot express.
func checkRules(obj map[string]any, t, path string) error {
	switch t {
	case "InlineKeyboardButton":
		if s, _ := obj["text"].(string); s == "" {
			return fmt.Errorf("Bad Request: BUTTON_TEXT_INVALID (%s has empty text)", path)
		}
		var actions []string
		for _, k := range sortedKeys(obj) {
			if !buttonLabelFields[k] {
				actions = append(actions, k)
			}
		}
		switch {
		case len(actions) == 0:
			return fmt.Errorf("Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard (%s)", path)
		case len(actions) > 1:
			return fmt.Errorf("Bad Request: can't parse inline keyboard button: exactly one of the optional fields must be used, %s has %s", path, strings.Join(actions, ", "))
		}
		if d, ok := obj["callback_data"]; ok {
			s, _ := d.(string)
			if len(s) < 1 || len(s) > 64 {
				return fmt.Errorf("Bad Request: BUTTON_DATA_INVALID (%s.callback_data is %d bytes, want 1-64)", path, len(s))
			}
		}
		if u, ok := obj["url"]; ok {
			s, _ := u.(string)
			pu, err := url.Parse(s)
			if err != nil || !(pu.Scheme == "http" || pu.Scheme == "https" || pu.Scheme == "tg") || (pu.Scheme != "tg" && pu.Host == "") {
				return fmt.Errorf("Bad Request: BUTTON_URL_INVALID (%s.url %q)", path, s)
			}
		}
	case "InlineKeyboardMarkup":
		rows, _ := obj["inline_keyboard"].([]any)
		n := 0
		for _, r := range rows {
			row, _ := r.([]any)
			n += len(row)
		}
		if n > 100 {
			return fmt.Errorf("Bad Request: reply markup is too long (%d buttons, at most 100)", n)
		}
	case "CopyTextButton":
		s, _ := obj["text"].(string)
		if n := utf8.RuneCountInString(s); n < 1 || n > 256 {
			return fmt.Errorf("Bad Request: can't parse inline keyboard button: copy_text must have 1-256 characters (%s.text)", path)
		}
	case "BotCommand":
		c, _ := obj["command"].(string)
		if !commandRe.MatchString(c) {
			return fmt.Errorf("Bad Request: BOT_COMMAND_INVALID (%q must match [a-z0-9_]{1,32})", c)
		}
		d, _ := obj["description"].(string)
		if n := utf16Len(strings.TrimSpace(d)); n < 1 || n > 256 {
			return fmt.Errorf("Bad Request: BOT_COMMAND_DESCRIPTION_INVALID (command %q has a %d-character description, want 1-256)", c, n)
		}
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// canonicalJSON re-encodes a JSON document so that equal values compare equal.
func canonicalJSON(s string) string {
	v, err := decodeJSON(s)
	if err != nil {
		return s
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return s
	}
	return strings.TrimSpace(buf.String())
}
