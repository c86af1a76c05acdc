package main

import (
	"bytes"
	"context"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"

	"gopkg.in/yaml.v3"

	"github.com/icpmon/icpmon/monitor/calendar"
	"github.com/icpmon/icpmon/monitor/cancellation"
	"github.com/icpmon/icpmon/monitor/store"
	"github.com/icpmon/icpmon/monitor/track"
)

// importKeys are the CSV columns and YAML keys of an import: the names of
// the `track add` flags.
var importKeys = []string{"kind", "licence", "domain", "submitted", "id", "province", "note"}

// importRow is one cancellation of an import file and the line it starts on.
type importRow struct {
	line int
	spec track.Spec
}

// field is the string of the spec that an import key other than domain
// (the one list) fills.
func (r *importRow) field(key string) *string {
	return map[string]*string{"kind": &r.spec.Kind, "licence": &r.spec.Licence, "submitted": &r.spec.Submitted,
		"id": &r.spec.ID, "province": &r.spec.Province, "note": &r.spec.Note}[key]
}

func (c *cli) trackImport(ctx context.Context, file string) error {
	b, err := os.ReadFile(file) // #nosec G304 -- the file the operator named on the command line
	if err != nil {
		return fmt.Errorf("import: %w", err)
	}
	rows, err := parseImport(file, b)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	cfg, err := c.loadConfig()
	if err != nil {
		return err
	}
	cs, err := importCancellations(rows, calendar.DateOf(time.Now()), cfg.Track.MaxDomains)
	if err != nil {
		return fmt.Errorf("%s: %w", file, err)
	}
	st, closeStore, err := openWritableStore(ctx, cfg, importTimeout)
	if err != nil {
		return err
	}
	defer closeStore()
	if err := st.AddMany(ctx, cs, operator()); err != nil {
		var item *store.ItemError
		if errors.As(err, &item) {
			return fmt.Errorf("%s: line %d: %w; nothing was imported", file, rows[item.Index].line, item.Err)
		}
		return fmt.Errorf("%s: %w; nothing was imported", file, err)
	}
	_, err = fmt.Fprintf(c.stdout, "imported %d cancellations\n", len(cs))
	return err
}

// importCancellations checks every row, and that no ID or licence comes
// twice (云ICP备… and 滇ICP备… are one licence), before anything is
// written; the error names the first bad line.
func importCancellations(rows []importRow, today calendar.Date, maxDomains int) ([]cancellation.Cancellation, error) {
	if len(rows) == 0 {
		return nil, errors.New("no cancellations to import")
	}
	cs := make([]cancellation.Cancellation, len(rows))
	ids := map[string]int{}
	licences := map[string]int{}
	for i, r := range rows {
		c, err := r.spec.Cancellation(today, maxDomains)
		if err != nil {
			return nil, fmt.Errorf("line %d: %w", r.line, err)
		}
		if first, ok := ids[c.ID]; ok && c.ID != "" {
			return nil, fmt.Errorf("line %d: ID %s is already used on line %d", r.line, c.ID, first)
		}
		key := cancellation.LicenceKey(c.Licence)
		if first, ok := licences[key]; ok {
			return nil, fmt.Errorf("line %d: licence %s is already on line %d", r.line, c.Licence, first)
		}
		ids[c.ID], licences[key] = r.line, r.line
		cs[i] = c
	}
	return cs, nil
}

// parseImport reads an import file by its extension.
func parseImport(name string, b []byte) ([]importRow, error) {
	switch strings.ToLower(filepath.Ext(name)) {
	case ".csv":
		return parseImportCSV(b)
	case ".yml", ".yaml":
		return parseImportYAML(b)
	default:
		return nil, errors.New("want a .csv, .yml or .yaml file")
	}
}

// splitDomains reads the domain cell of a CSV row: several domains
// separated by spaces, commas or semicolons (full-width ones too).
func splitDomains(cell string) []string {
	return strings.FieldsFunc(cell, func(r rune) bool {
		return unicode.IsSpace(r) || strings.ContainsRune(",;，；、", r)
	})
}

// parseImportCSV reads a header row of import keys, then one cancellation
// per row. Rows whose cells are all empty are skipped.
func parseImportCSV(b []byte) ([]importRow, error) {
	r := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))) // spreadsheets write a BOM
	r.FieldsPerRecord = -1
	header, err := r.Read()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("the file is empty: want a header row naming " + strings.Join(importKeys, ", "))
	}
	if err != nil {
		return nil, csvError(err)
	}
	column := map[string]int{}
	for i, h := range header {
		name := strings.ToLower(strings.TrimSpace(h))
		if !slices.Contains(importKeys, name) {
			return nil, fmt.Errorf("line 1: unknown column %q (want %s)", h, strings.Join(importKeys, ", "))
		}
		if _, dup := column[name]; dup {
			return nil, fmt.Errorf("line 1: column %s appears twice", name)
		}
		column[name] = i
	}
	for _, need := range []string{"kind", "licence", "submitted"} {
		if _, ok := column[need]; !ok {
			return nil, fmt.Errorf("line 1: missing column %s", need)
		}
	}
	var rows []importRow
	for {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			return rows, nil
		}
		if err != nil {
			return nil, csvError(err)
		}
		line, _ := r.FieldPos(0)
		if len(rec) != len(header) {
			return nil, fmt.Errorf("line %d: %d cells, but the header names %d columns", line, len(rec), len(header))
		}
		if strings.TrimSpace(strings.Join(rec, "")) == "" {
			continue
		}
		row := importRow{line: line}
		for name, i := range column {
			if name == "domain" {
				row.spec.Domains = splitDomains(rec[i])
			} else {
				*row.field(name) = rec[i]
			}
		}
		rows = append(rows, row)
	}
}

func csvError(err error) error {
	var pe *csv.ParseError
	if errors.As(err, &pe) {
		return fmt.Errorf("line %d: %v", pe.Line, pe.Err)
	}
	return err
}

// parseImportYAML reads a list of objects with the import keys; domain is a
// list (or one domain).
func parseImportYAML(b []byte) ([]importRow, error) {
	var doc yaml.Node
	dec := yaml.NewDecoder(bytes.NewReader(b))
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, errors.New("the file is empty: want a list of cancellations")
		}
		return nil, err
	}
	var more yaml.Node
	if err := dec.Decode(&more); !errors.Is(err, io.EOF) {
		return nil, errors.New("want one YAML document holding a list of cancellations")
	}
	root := doc.Content[0]
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		return nil, errors.New("the file is empty: want a list of cancellations")
	}
	if root.Kind != yaml.SequenceNode {
		return nil, fmt.Errorf("line %d: want a list of cancellations", root.Line)
	}
	rows := make([]importRow, 0, len(root.Content))
	for _, item := range root.Content {
		if item.Kind != yaml.MappingNode {
			return nil, fmt.Errorf("line %d: want an object with the keys %s", item.Line, strings.Join(importKeys, ", "))
		}
		row := importRow{line: item.Line}
		seen := map[string]bool{}
		for i := 0; i+1 < len(item.Content); i += 2 {
			k, v := item.Content[i], item.Content[i+1]
			if v.Kind == yaml.AliasNode {
				v = v.Alias
			}
			if k.Kind != yaml.ScalarNode || !slices.Contains(importKeys, k.Value) {
				return nil, fmt.Errorf("line %d: unknown key %q (want %s)", k.Line, k.Value, strings.Join(importKeys, ", "))
			}
			if seen[k.Value] {
				return nil, fmt.Errorf("line %d: key %s appears twice", k.Line, k.Value)
			}
			seen[k.Value] = true
			if k.Value == "domain" {
				domains, err := yamlDomains(v)
				if err != nil {
					return nil, err
				}
				row.spec.Domains = domains
				continue
			}
			if v.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: %s: want a single value", v.Line, k.Value)
			}
			value := v.Value
			if v.Tag == "!!null" {
				value = ""
			}
			*row.field(k.Value) = value
		}
		rows = append(rows, row)
	}
	return rows, nil
}

func yamlDomains(v *yaml.Node) ([]string, error) {
	switch {
	case v.Kind == yaml.ScalarNode && v.Tag == "!!null":
		return nil, nil
	case v.Kind == yaml.ScalarNode:
		return splitDomains(v.Value), nil
	case v.Kind == yaml.SequenceNode:
		out := make([]string, 0, len(v.Content))
		for _, d := range v.Content {
			if d.Kind != yaml.ScalarNode {
				return nil, fmt.Errorf("line %d: domain: want a list of domains", d.Line)
			}
			out = append(out, d.Value)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("line %d: domain: want a list of domains", v.Line)
	}
}
