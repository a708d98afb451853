package engine

import (
	"errors"
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/yaml"
)

// TrialParameter is one of the trial template's trialParameters: Name is what the
// template writes as ${trialParameters.<Name>}, Reference is either a search
// parameter's name or trial metadata: ${trialSpec.Name}, ${trialSpec.Namespace},
// ${trialSpec.Kind}, ${trialSpec.APIVersion}, ${trialSpec.Labels[<key>]} or
// ${trialSpec.Annotations[<key>]}.
type TrialParameter struct {
	Name      string
	Reference string
}

// TrialMeta is the trial metadata that ${trialSpec.*} references read. Name and
// Namespace are the trial's and become the job's. Kind and APIVersion, when empty, are
// the template's. A label or annotation is looked up in Labels or Annotations first,
// then in the template's own metadata, as Katib reads the template's.
type TrialMeta struct {
	Name        string
	Namespace   string
	Kind        string
	APIVersion  string
	Labels      map[string]string
	Annotations map[string]string
}

var (
	// placeholderRE matches ${trialParameters.<name>}, as Katib's
	// TrialTemplateParamReplaceFormatRegex, capturing the name.
	placeholderRE = regexp.MustCompile(`\$\{trialParameters\.(.+?)\}`)
	// metaRefRE matches a metadata reference, capturing the key and the optional index.
	metaRefRE = regexp.MustCompile(`^\$\{trialSpec\.(Name|Namespace|Kind|APIVersion|Labels|Annotations)(?:\[(.+)\])?\}$`)
)

// metaRef splits a trialSpec metadata reference into its key and index; ok is false
// when ref is none (a search parameter name) and err says what is wrong with one that
// looks like a metadata reference but is not valid.
func metaRef(ref string) (key, index string, ok bool, err error) {
	if !strings.HasPrefix(ref, "${trialSpec.") {
		return "", "", false, nil
	}
	m := metaRefRE.FindStringSubmatch(ref)
	switch {
	case m == nil:
		return "", "", true, fmt.Errorf("reference %q is not trial metadata: use ${trialSpec.Name}, ${trialSpec.Namespace}, ${trialSpec.Kind}, ${trialSpec.APIVersion}, ${trialSpec.Labels[<key>]} or ${trialSpec.Annotations[<key>]}", ref)
	case (m[1] == "Labels" || m[1] == "Annotations") && m[2] == "":
		return "", "", true, fmt.Errorf("reference %q needs a key: write ${trialSpec.%s[<key>]}", ref, m[1])
	case m[1] != "Labels" && m[1] != "Annotations" && m[2] != "":
		return "", "", true, fmt.Errorf("reference %q: only Labels and Annotations take a [key]", ref)
	}
	return m[1], m[2], true, nil
}

// decodeTemplate reads a trialSpec written as YAML or JSON into an object.
func decodeTemplate(template []byte) (*unstructured.Unstructured, error) {
	if len(strings.TrimSpace(string(template))) == 0 {
		return nil, errors.New("trial template is empty: set trialTemplate.trialSpec to the job to run per trial")
	}
	js, err := yaml.YAMLToJSON(template)
	if err != nil {
		return nil, fmt.Errorf("trial template is not valid YAML or JSON: %w", err)
	}
	u := &unstructured.Unstructured{}
	if err := u.UnmarshalJSON(js); err != nil {
		return nil, fmt.Errorf("trial template is not a Kubernetes object (it needs apiVersion and kind): %w", err)
	}
	if u.GetAPIVersion() == "" {
		return nil, fmt.Errorf("trial template of kind %s has no apiVersion", u.GetKind())
	}
	return u, nil
}

// CheckTemplate validates a trial template against its trialParameters and the
// experiment's search parameter names before any trial is made: the template decodes
// to an object with apiVersion and kind; every trialParameter has a unique name and a
// reference that is a search parameter or valid trial metadata; every
// ${trialParameters.x} in the template names a trialParameter; every trialParameter is
// used; and every search parameter is referenced, since each trial assigns them all.
func CheckTemplate(template []byte, params []TrialParameter, parameterNames []string) error {
	u, err := decodeTemplate(template)
	if err != nil {
		return err
	}
	byName := map[string]bool{}
	referenced := map[string]bool{}
	for i, p := range params {
		switch {
		case p.Name == "":
			return fmt.Errorf("trialParameters[%d] has no name", i)
		case byName[p.Name]:
			return fmt.Errorf("trialParameters[%d]: name %q is used twice; give each trial parameter its own name", i, p.Name)
		case p.Reference == "":
			return fmt.Errorf("trial parameter %q has no reference: set it to a search parameter name or trial metadata such as ${trialSpec.Name}", p.Name)
		}
		byName[p.Name] = true
		_, _, isMeta, err := metaRef(p.Reference)
		if err != nil {
			return fmt.Errorf("trial parameter %q: %w", p.Name, err)
		}
		if !isMeta {
			if !slices.Contains(parameterNames, p.Reference) {
				return fmt.Errorf("trial parameter %q references %q, which is neither a search parameter (%s) nor trial metadata such as ${trialSpec.Name}",
					p.Name, p.Reference, strings.Join(parameterNames, ", "))
			}
			referenced[p.Reference] = true
		}
	}
	used := map[string]bool{}
	var unknown error
	walkStrings(u.Object, func(s string) string {
		for _, m := range placeholderRE.FindAllStringSubmatch(s, -1) {
			used[m[1]] = true
			if !byName[m[1]] && unknown == nil {
				unknown = fmt.Errorf("trial template uses ${trialParameters.%s} but trialParameters has no %q: add it or fix the name", m[1], m[1])
			}
		}
		return s
	})
	if unknown != nil {
		return unknown
	}
	for _, p := range params {
		if !used[p.Name] {
			return fmt.Errorf("trial parameter %q is never used: write ${trialParameters.%s} in the trial template or remove it", p.Name, p.Name)
		}
	}
	for _, n := range parameterNames {
		if !referenced[n] {
			return fmt.Errorf("search parameter %q is referenced by no trial parameter, so its value would reach no trial: add a trialParameter with reference %q", n, n)
		}
	}
	return nil
}

// Render makes a trial's job from the template: each ${trialParameters.x} is replaced
// by the value of trial parameter x, which is the assignment of the search parameter it
// references or the trial metadata it references (see TrialMeta); then the job's name
// and namespace are set to the trial's. Substitution happens in the string keys and
// values of the decoded object, never in the raw text, so a value cannot inject YAML or
// JSON structure. As in Katib, whose textual substitution happens in the JSON form where
// a placeholder is always inside a quoted string, a substituted value is always a
// string: `replicas: ${trialParameters.n}` gives replicas "2", not 2, so a placeholder
// belongs in string fields (arguments, environment values, labels). Every assignment
// must be referenced by a trial parameter, and every placeholder must name one.
func Render(template []byte, params []TrialParameter, assignments map[string]string, meta TrialMeta) (*unstructured.Unstructured, error) {
	if meta.Name == "" {
		return nil, errors.New("render trial job: the trial has no name")
	}
	u, err := decodeTemplate(template)
	if err != nil {
		return nil, err
	}
	values := make(map[string]string, len(params))
	referenced := map[string]bool{}
	for _, p := range params {
		key, index, isMeta, err := metaRef(p.Reference)
		if err != nil {
			return nil, fmt.Errorf("trial parameter %q: %w", p.Name, err)
		}
		if !isMeta {
			v, ok := assignments[p.Reference]
			if !ok {
				return nil, fmt.Errorf("trial parameter %q references search parameter %q, which the trial assigns no value", p.Name, p.Reference)
			}
			values[p.Name] = v
			referenced[p.Reference] = true
			continue
		}
		v, err := metaValue(u, meta, key, index)
		if err != nil {
			return nil, fmt.Errorf("trial parameter %q: %w", p.Name, err)
		}
		values[p.Name] = v
	}
	for name := range assignments {
		if !referenced[name] {
			return nil, fmt.Errorf("the trial assigns search parameter %q, which no trial parameter references", name)
		}
	}
	var missing error
	u.Object = walkStrings(u.Object, func(s string) string {
		return placeholderRE.ReplaceAllStringFunc(s, func(ph string) string {
			name := placeholderRE.FindStringSubmatch(ph)[1]
			v, ok := values[name]
			if !ok && missing == nil {
				missing = fmt.Errorf("trial template uses ${trialParameters.%s} but trialParameters has no %q", name, name)
			}
			return v
		})
	}).(map[string]any)
	if missing != nil {
		return nil, missing
	}
	u.SetName(meta.Name)
	u.SetNamespace(meta.Namespace)
	return u, nil
}

// metaValue resolves one trialSpec metadata reference.
func metaValue(u *unstructured.Unstructured, meta TrialMeta, key, index string) (string, error) {
	pick := func(v, fallback string) string {
		if v != "" {
			return v
		}
		return fallback
	}
	lookup := func(kind string, own, tmpl map[string]string) (string, error) {
		if v, ok := own[index]; ok {
			return v, nil
		}
		if v, ok := tmpl[index]; ok {
			return v, nil
		}
		return "", fmt.Errorf("${trialSpec.%s[%s]}: the trial job has no %s %q: set it in the trial template's metadata", kind, index, strings.ToLower(strings.TrimSuffix(kind, "s")), index)
	}
	switch key {
	case "Name":
		return meta.Name, nil
	case "Namespace":
		return meta.Namespace, nil
	case "Kind":
		return pick(meta.Kind, u.GetKind()), nil
	case "APIVersion":
		return pick(meta.APIVersion, u.GetAPIVersion()), nil
	case "Labels":
		return lookup("Labels", meta.Labels, u.GetLabels())
	default:
		return lookup("Annotations", meta.Annotations, u.GetAnnotations())
	}
}

// walkStrings returns v with f applied to every string key and value within it.
func walkStrings(v any, f func(string) string) any {
	switch t := v.(type) {
	case string:
		return f(t)
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, e := range t {
			out[f(k)] = walkStrings(e, f)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, e := range t {
			out[i] = walkStrings(e, f)
		}
		return out
	}
	return v
}

// LabelPodTemplates adds labels to the pod templates of obj, a trial job of a known
// kind: spec.template of a batch/v1 Job, and spec.<x>ReplicaSpecs.<type>.template of
// the kubeflow.org/v1 training kinds; labels win over the template's. It reports
// whether it knew the kind; for another kind it changes nothing, and the caller must
// find the trial's pods another way.
func LabelPodTemplates(obj *unstructured.Unstructured, labels map[string]string) bool {
	switch gv := obj.GetAPIVersion(); {
	case gv == "batch/v1" && obj.GetKind() == "Job":
		if t, ok, _ := unstructured.NestedMap(obj.Object, "spec", "template"); ok {
			_ = unstructured.SetNestedMap(obj.Object, labelled(t, labels), "spec", "template")
		}
		return true
	case gv == "kubeflow.org/v1" && trainingKinds[obj.GetKind()] != "":
		field := trainingKinds[obj.GetKind()]
		specs, ok, _ := unstructured.NestedMap(obj.Object, "spec", field)
		if !ok {
			return true
		}
		for _, rtype := range slices.Sorted(maps.Keys(specs)) {
			spec, ok := specs[rtype].(map[string]any)
			if !ok {
				continue
			}
			if t, ok := spec["template"].(map[string]any); ok {
				spec["template"] = labelled(t, labels)
			}
		}
		_ = unstructured.SetNestedMap(obj.Object, specs, "spec", field)
		return true
	}
	return false
}

// labelled returns the pod template t with labels merged into its metadata.labels.
func labelled(t map[string]any, labels map[string]string) map[string]any {
	md, _ := t["metadata"].(map[string]any)
	if md == nil {
		md = map[string]any{}
	}
	existing, _ := md["labels"].(map[string]any)
	merged := make(map[string]any, len(existing)+len(labels))
	maps.Copy(merged, existing)
	for k, v := range labels {
		merged[k] = v
	}
	md["labels"] = merged
	t["metadata"] = md
	return t
}
