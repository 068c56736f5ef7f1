// Package secret reads the secrets a configuration names: a value given
// inline, in a file or in an environment variable. The components that
// take secrets (vmclient's password and bearer token, an s3 source's keys)
// resolve them when they are built; nothing here ever prints a value.
package secret

import (
	"fmt"
	"os"
	"strings"
)

// Secret is a value given inline, in a file or in an environment variable:
// in YAML a string, {value: V}, {file: /run/secrets/vm} or {env: NAME}.
// Printing a Secret (String) never shows its value.
type Secret struct {
	Value string `yaml:"value"`
	File  string `yaml:"file"`
	Env   string `yaml:"env"`
}

// UnmarshalYAML accepts a plain string as the value.
func (s *Secret) UnmarshalYAML(unmarshal func(any) error) error {
	var v string
	if err := unmarshal(&v); err == nil {
		s.Value = v
		return nil
	}
	type plain Secret
	return unmarshal((*plain)(s))
}

// IsSet reports whether the secret is given at all.
func (s Secret) IsSet() bool { return s.Value != "" || s.File != "" || s.Env != "" }

// Resolve returns the secret's value: read from the file (trailing newline
// dropped), from the environment, or inline. Its errors name the file or
// the variable, never a value.
func (s Secret) Resolve() (string, error) {
	switch {
	case s.File != "":
		b, err := os.ReadFile(s.File)
		if err != nil {
			return "", fmt.Errorf("read secret file: %w", err)
		}
		return strings.TrimRight(string(b), "\r\n"), nil
	case s.Env != "":
		v, ok := os.LookupEnv(s.Env)
		if !ok {
			return "", fmt.Errorf("environment variable %s is not set", s.Env)
		}
		return v, nil
	}
	return s.Value, nil
}

// String says where the secret comes from, without its value:
// "{file: PATH}", "{env: NAME}", "[redacted]" or "" (not set).
func (s Secret) String() string {
	switch {
	case s.File != "":
		return "{file: " + s.File + "}"
	case s.Env != "":
		return "{env: " + s.Env + "}"
	case s.Value != "":
		return "[redacted]"
	}
	return ""
}

// GoString is String, for %#v.
func (s Secret) GoString() string { return s.String() }
