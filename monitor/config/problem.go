package config

import (
	"errors"
	"strings"
)

// Problem is one thing wrong with a configuration: the key it is about
// (empty when it is about the file as a whole, such as broken YAML) and what
// is wrong. Via names the flag or variable that set the value, when it was
// not the file.
type Problem struct {
	Via     string
	Key     string
	Message string
}

func (p Problem) String() string {
	s := p.Message
	if p.Key != "" {
		s = p.Key + ": " + s
	}
	if p.Via != "" {
		s = p.Via + ": " + s
	}
	return s
}

// About reports whether p is about the section or key named, or one under it.
func (p Problem) About(key string) bool {
	return p.Key == key || strings.HasPrefix(p.Key, key+".") || strings.HasPrefix(p.Key, key+"[")
}

// Problems is every problem found, in the order found. As an error it is
// one problem a line.
type Problems []Problem

func (ps Problems) Error() string {
	lines := make([]string, len(ps))
	for i, p := range ps {
		lines[i] = p.String()
	}
	return strings.Join(lines, "\n")
}

// KeyError is a failure to build something from one key's value, such as
// reading the file it names.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return e.Key + ": " + e.Err.Error() }
func (e *KeyError) Unwrap() error { return e.Err }

// ProblemsOf returns the problems of an error from this package (Load,
// Validate, ClientOptions, RootCAs): the list it carries, or
// the one problem it is (a file that cannot be read, YAML that does not parse).
func ProblemsOf(err error) Problems {
	if err == nil {
		return nil
	}
	var ps Problems
	if errors.As(err, &ps) {
		return ps
	}
	var ke *KeyError
	if errors.As(err, &ke) {
		return Problems{{Key: ke.Key, Message: ke.Err.Error()}}
	}
	return Problems{{Message: err.Error()}}
}
