// Package secret holds the Secret type: a string that never prints itself.
package secret

// Secret is a token, password or key. Its String, GoString, Format and JSON forms are "***" so that it
// cannot reach a log or an error message by accident; Reveal returns the value for the one place that
// needs it.
type Secret string

const masked = "***"

// String returns "***" for a set secret and "" for an empty one.
func (s Secret) String() string {
	if s == "" {
		return ""
	}
	return masked
}

// GoString masks %#v too.
func (s Secret) GoString() string { return s.String() }

// MarshalJSON masks the value in JSON.
func (s Secret) MarshalJSON() ([]byte, error) { return []byte(`"` + s.String() + `"`), nil }

// MarshalText masks the value in text encodings (and zerolog's Interface).
func (s Secret) MarshalText() ([]byte, error) { return []byte(s.String()), nil }

// Reveal returns the secret's value.
func (s Secret) Reveal() string { return string(s) }

// IsSet reports whether the secret has a value.
func (s Secret) IsSet() bool { return s != "" }
