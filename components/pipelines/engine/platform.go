package engine

import (
	"bytes"
	"encoding/json"
	"fmt"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"

	"k8s.io/apimachinery/pkg/api/validate/content"
	"k8s.io/utils/ptr"

	"github.com/kfup/kfup/components/pipelines/ir"
)

// platform applies the task's kfp-kubernetes executor config, feature by feature in the
// order of KFP's driver.
func (b *builder) platform() error {
	steps := []func() error{
		b.reserveVolumeNames,
		b.pvcMounts, b.imagePullPolicy, b.nodeSelector, b.tolerations,
		b.secretVolumes, b.secretEnv, b.configMapVolumes, b.configMapEnv,
		b.imagePullSecrets, b.fieldPathEnv, b.activeDeadline,
		b.ephemeralVolumes, b.emptyDirs, b.sharedMemory, b.nodeAffinity, b.podAffinity,
		b.securityContext, b.podMetadata, b.initContainers, b.resourceClaims,
	}
	for _, step := range steps {
		if err := step(); err != nil {
			return err
		}
	}
	return nil
}

// field is the path of a field of the task's executor config.
func (b *builder) field(f string, args ...any) string {
	return "platformSpec.platforms.kubernetes.deploymentSpec.executors." + b.in.Step.ExecutorLabel + "." + fmt.Sprintf(f, args...)
}

// objectName resolves the name of a secret, config map or PVC: the parameter when set
// (KFP's precedence), else the literal. skip reports an optional input left unset, which
// KFP's driver skips the feature for.
func (b *builder) objectName(field string, spec *ir.InputParameterSpec, literal, what string) (name string, skip bool, err error) {
	if spec != nil {
		v, p, err := b.scope.platformParam(*spec)
		switch {
		case err != nil:
			return "", false, b.errf(field, "%v", err)
		case p == undeclared:
			return "", false, b.errf(field, "the task's DAG has no %s", describe(*spec))
		case p == unset:
			return "", true, nil
		}
		s, ok := v.(string)
		if !ok || s == "" {
			return "", false, b.errf(field, "%s is %s, not a %s name", describe(*spec), short(v), what)
		}
		name = s
	} else {
		name = literal
	}
	if name == "" {
		return "", false, b.errf(field, "no %s name: set it or its parameter", what)
	}
	if errs := content.IsDNS1123Subdomain(name); len(errs) > 0 {
		return "", false, b.errf(field, "%s name %q: %s", what, name, strings.Join(errs, "; "))
	}
	return name, false, nil
}

// jsonParam resolves a JSON-valued parameter (a struct or list, or a string holding
// one). skip reports an optional input left unset.
func (b *builder) jsonParam(field string, spec *ir.InputParameterSpec) (v any, skip bool, err error) {
	v, p, err := b.scope.platformParam(*spec)
	switch {
	case err != nil:
		return nil, false, b.errf(field, "%v", err)
	case p == undeclared:
		return nil, false, b.errf(field, "the task's DAG has no %s", describe(*spec))
	case p == unset:
		return nil, true, nil
	}
	if s, ok := v.(string); ok {
		if strings.TrimSpace(s) == "" {
			return nil, true, nil
		}
		if err := json.Unmarshal([]byte(s), &v); err != nil {
			return nil, false, b.errf(field, "%s is not JSON: %v", describe(*spec), err)
		}
	}
	return v, v == nil, nil
}

// decodeStrict decodes the JSON form of v into into, refusing unknown fields.
func decodeStrict(v any, into any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(into); err != nil {
		return fmt.Errorf("%s", strings.TrimPrefix(err.Error(), "json: "))
	}
	return nil
}

// nameField is the field a name came from, for messages.
func nameField(spec *ir.InputParameterSpec, literal string) string {
	if spec != nil {
		return strings.TrimSuffix(literal, "Name") + "NameParameter"
	}
	return literal
}

func ptrCopy[T any](p *T) *T {
	if p == nil {
		return nil
	}
	return ptr.To(*p)
}

// toInt64 reads an int64 that protobuf's JSON form writes as a number or a string.
func toInt64(v any) (int64, error) {
	switch x := v.(type) {
	case float64:
		if x != math.Trunc(x) || x < math.MinInt64 || x >= math.MaxInt64 {
			return 0, fmt.Errorf("%v is not an integer", x)
		}
		return int64(x), nil
	case string:
		n, err := strconv.ParseInt(strings.TrimSpace(x), 10, 64)
		if err != nil {
			return 0, fmt.Errorf("%q is not an integer", x)
		}
		return n, nil
	}
	return 0, fmt.Errorf("%s is not an integer", short(v))
}

func checkLabels(labels map[string]string) error {
	for _, k := range slices.Sorted(maps.Keys(labels)) {
		if errs := content.IsLabelKey(k); len(errs) > 0 {
			return fmt.Errorf("label key %q: %s", k, strings.Join(errs, "; "))
		}
		if errs := content.IsLabelValue(labels[k]); len(errs) > 0 {
			return fmt.Errorf("label %s value %q: %s", k, labels[k], strings.Join(errs, "; "))
		}
	}
	return nil
}

func checkAnnotations(a map[string]string) error {
	size := 0
	for _, k := range slices.Sorted(maps.Keys(a)) {
		if errs := content.IsLabelKey(strings.ToLower(k)); len(errs) > 0 {
			return fmt.Errorf("annotation key %q: %s", k, strings.Join(errs, "; "))
		}
		size += len(k) + len(a[k])
	}
	if size > maxAnnotationBytes {
		return fmt.Errorf("the annotations are %d bytes, over Kubernetes' %d", size, maxAnnotationBytes)
	}
	return nil
}

// maxAnnotationBytes is Kubernetes' bound on an object's annotations.
const maxAnnotationBytes = 256 * 1024

// short renders v for a message.
func short(v any) string {
	if v == nil {
		return "null"
	}
	s := mustJSON(v)
	if len(s) > 60 {
		s = s[:60] + "..."
	}
	return s
}

func mustJSON(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}
