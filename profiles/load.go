package profiles

import (
	"bytes"
	"embed"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"sigs.k8s.io/yaml"

	"github.com/kfup/kfup/internal/errs"
)

//go:embed builtin/*.yaml
var builtinFS embed.FS

// builtins lists the built-in profiles, smallest first; each is builtin/<name>.yaml.
var builtins = []string{"minimal", "standard", "gpu", "full"}

// Builtins returns the names of the built-in profiles, smallest first.
func Builtins() []string { return slices.Clone(builtins) }

// loadHint is the hint for a profile that names nothing kfup can load.
var loadHint = "pass a built-in profile (" + strings.Join(builtins, ", ") + ") or the path of a profile file"

// Load returns the validated profile nameOrPath: a built-in name (see Builtins) or the
// path of a YAML profile file. A built-in name wins over a file of the same name; write
// ./minimal for the file.
//
// A file declares apiVersion kfup.dev/v1alpha1, kind Profile and a name. With `base:
// <built-in>` it starts from that built-in and overrides what it sets; without base it
// starts from kfup's defaults, with every component disabled. Parsing is strict: every
// unknown key, wrong type and invalid setting is reported, each with its path, as
// errs.Usage errors joined with errors.Join.
func Load(nameOrPath string) (*Profile, error) {
	if nameOrPath == "" {
		return nil, errs.Usage(loadHint, "no profile given")
	}
	if slices.Contains(builtins, nameOrPath) {
		return loadBuiltin(nameOrPath, nil)
	}
	data, err := readFile(nameOrPath)
	if errors.Is(err, errTooLarge) {
		return nil, errs.Usage("a profile holds a few dozen settings: check that the path names a profile file",
			"profile %s: larger than %d KiB, the most a profile file may hold", nameOrPath, maxFileSize>>10)
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) && !looksLikePath(nameOrPath) {
			return nil, errs.Usage(loadHint, "unknown profile %q (built-in: %s)", nameOrPath, strings.Join(builtins, ", "))
		}
		return nil, errs.Wrap(errs.KindUsage, loadHint, fmt.Errorf("read profile: %w", err))
	}
	return parse(data, nameOrPath, nil)
}

// maxFileSize bounds the profile files Load reads (1 MiB; a profile is a few hundred
// bytes), so that a wrong path (a log, a disk image, /dev/zero) is refused rather than
// read into memory whole.
const maxFileSize = 1 << 20

// errTooLarge is readFile's error for a file of more than maxFileSize bytes.
var errTooLarge = errors.New("file too large")

// readFile reads the file at path, or fails with errTooLarge after maxFileSize+1 bytes.
func readFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	data, err := io.ReadAll(io.LimitReader(f, maxFileSize+1))
	if err != nil {
		return nil, err
	}
	if len(data) > maxFileSize {
		return nil, errTooLarge
	}
	return data, nil
}

// looksLikePath reports whether s names a file rather than a mistyped built-in.
func looksLikePath(s string) bool {
	ext := filepath.Ext(s)
	return strings.ContainsRune(s, '/') || strings.ContainsRune(s, filepath.Separator) ||
		ext == ".yaml" || ext == ".yml" || ext == ".json"
}

// loadBuiltin parses the embedded built-in name; chain holds the built-ins whose base is
// being loaded, to stop a cycle.
func loadBuiltin(name string, chain []string) (*Profile, error) {
	if slices.Contains(chain, name) {
		return nil, fmt.Errorf("built-in profiles: base cycle %s -> %s", strings.Join(chain, " -> "), name)
	}
	data, err := builtinFS.ReadFile("builtin/" + name + ".yaml")
	if err != nil {
		return nil, fmt.Errorf("built-in profile %s: %w", name, err)
	}
	return parse(data, "builtin/"+name+".yaml", append(slices.Clone(chain), name))
}

// parse decodes and validates one profile document from file; chain is as for
// loadBuiltin.
func parse(data []byte, file string, chain []string) (*Profile, error) {
	if line := secondDocument(data); line > 0 {
		return nil, errs.Usage("split it into one file per profile", "%s:%d: a second YAML document; a profile file holds one profile", file, line)
	}
	js, err := yaml.YAMLToJSONStrict(data)
	if err != nil {
		return nil, yamlError(file, err)
	}
	dec := json.NewDecoder(bytes.NewReader(js))
	dec.UseNumber()
	var raw any
	if err := dec.Decode(&raw); err != nil {
		return nil, errs.Wrap(errs.KindUsage, "", fmt.Errorf("%s: invalid YAML: %w", file, err))
	}
	if raw == nil {
		return nil, errs.Usage("start from: apiVersion: "+APIVersion+", kind: "+Kind+", name: <name>, base: <built-in>", "%s: empty profile", file)
	}

	p := defaults()
	var ps problems
	m, ok := raw.(map[string]any)
	if !ok {
		decode(&ps, "", raw, reflect.ValueOf(&p).Elem(), field{}) // reports the type
		return nil, ps.err(file)
	}
	if base, ok := m["base"].(string); ok && slices.Contains(builtins, base) {
		bp, err := loadBuiltin(base, chain)
		if err != nil {
			return nil, err
		}
		p = *bp
	}
	// An unknown base is reported by fieldProblems; a base of the wrong type by decode.

	decode(&ps, "", m, reflect.ValueOf(&p).Elem(), field{})
	for _, key := range []string{"apiVersion", "kind", "name"} {
		if m[key] == nil {
			ps.add(key, requiredHint(key), "required")
		}
	}
	ps = append(ps, p.fieldProblems()...)
	ps = append(ps, p.conflictProblems()...)
	if err := ps.err(file); err != nil {
		return nil, err
	}
	return &p, nil
}

// requiredHint shows what to write for a required top-level key.
func requiredHint(key string) string {
	switch key {
	case "apiVersion":
		return "add apiVersion: " + APIVersion
	case "kind":
		return "add kind: " + Kind
	default:
		return "add name: <a DNS label such as my-profile>"
	}
}

// yamlLine finds "line N: message" in a YAML parser error.
var yamlLine = regexp.MustCompile(`line (\d+): (.*)`)

// yamlError turns a YAML parser error into "file:line: invalid YAML: message".
func yamlError(file string, err error) error {
	msg := strings.TrimPrefix(err.Error(), "yaml: ")
	if m := yamlLine.FindStringSubmatch(msg); m != nil {
		line, _ := strconv.Atoi(m[1])
		return errs.Usage(fmt.Sprintf("check the indentation and the colons around line %d", line),
			"%s:%d: invalid YAML: %s", file, line, m[2])
	}
	return errs.Usage("", "%s: invalid YAML: %s", file, msg)
}

// secondDocument returns the line of a "---" that starts a second YAML document with
// content, or 0. (The YAML parser would read the first document and drop the rest
// silently.)
func secondDocument(data []byte) int {
	content, marker := false, 0
	for i, line := range strings.Split(string(data), "\n") {
		t := strings.TrimRight(line, " \t\r")
		rest, isMarker := strings.CutPrefix(t, "---")
		if isMarker && (rest == "" || rest[0] == ' ' || rest[0] == '\t') {
			if content && marker == 0 {
				marker = i + 1
			}
			t = rest
		}
		if s := strings.TrimSpace(t); s != "" && !strings.HasPrefix(s, "#") {
			if marker > 0 {
				return marker
			}
			content = true
		}
	}
	return 0
}
