package engine

import (
	"fmt"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"

	"github.com/kfup/kfup/components/pipelines/ir"
)

// resources sets the main container's resources from the executor's ResourceSpec, as
// KFP's driver does: the resource* strings first, else the deprecated numbers (CPU in
// cores, memory in GB, that is 10^9 bytes); an accelerator is a limit of its type.
func (b *builder) resources() error {
	r := b.exec.Resources
	if r == nil {
		return nil
	}
	res := &b.main.Resources
	for _, f := range []struct {
		list         *corev1.ResourceList
		name         corev1.ResourceName
		field, value string
		oldField     string
		old          float64
		unit         string
	}{
		{&res.Limits, corev1.ResourceCPU, "resourceCpuLimit", r.ResourceCPULimit, "cpuLimit", r.CPULimit, ""},
		{&res.Requests, corev1.ResourceCPU, "resourceCpuRequest", r.ResourceCPURequest, "cpuRequest", r.CPURequest, ""},
		{&res.Limits, corev1.ResourceMemory, "resourceMemoryLimit", r.ResourceMemoryLimit, "memoryLimit", r.MemoryLimit, "G"},
		{&res.Requests, corev1.ResourceMemory, "resourceMemoryRequest", r.ResourceMemoryRequest, "memoryRequest", r.MemoryRequest, "G"},
	} {
		field, s := f.field, f.value
		if s == "" {
			if f.old == 0 {
				continue
			}
			field, s = f.oldField, strconv.FormatFloat(f.old, 'f', -1, 64)+f.unit
		}
		field = b.execField(".resources." + field)
		q, err := b.quantity(field, s)
		if err != nil {
			return err
		}
		setResource(f.list, f.name, q)
	}
	if err := b.accelerator(r.Accelerator); err != nil {
		return err
	}
	for name, req := range res.Requests {
		if lim, ok := res.Limits[name]; ok && req.Cmp(lim) > 0 {
			return b.errf(b.execField(".resources"), "the %s request %s is above its limit %s", name, req.String(), lim.String())
		}
	}
	return nil
}

// accelerator adds the accelerator limit. KFP uses the type as the resource name; kfup
// also maps the type names of Vertex AI's accelerators (NVIDIA_TESLA_T4, ...), which the
// SDK accepts, to nvidia.com/gpu.
func (b *builder) accelerator(a *ir.Accelerator) error {
	if a == nil {
		return nil
	}
	field := b.execField(".resources.accelerator")
	typ, typField := a.ResourceType, ".resourceType"
	if typ == "" {
		typ, typField = a.Type, ".type"
	}
	count, countField := a.ResourceCount, ".resourceCount"
	if count == "" && a.Count != 0 {
		count, countField = strconv.FormatInt(a.Count, 10), ".count"
	}
	switch {
	case typ == "" && count == "":
		return nil
	case typ == "":
		return b.errf(field, "a count without a type: set the accelerator type (set_accelerator_type('nvidia.com/gpu'))")
	case count == "":
		return b.errf(field+typField, "accelerator %s without a count (set_accelerator_limit)", typ)
	}
	typ, err := b.expand(field+typField, typ)
	if err != nil {
		return err
	}
	name, err := acceleratorResource(typ)
	if err != nil {
		return b.errf(field+typField, "%v", err)
	}
	q, err := b.quantity(field+countField, count)
	if err != nil {
		return err
	}
	if q.IsZero() {
		return nil
	}
	setResource(&b.main.Resources.Limits, name, q)
	return nil
}

// acceleratorResource is the extended resource an accelerator type asks for.
func acceleratorResource(typ string) (corev1.ResourceName, error) {
	switch {
	case strings.HasPrefix(typ, "NVIDIA_"):
		return "nvidia.com/gpu", nil
	case strings.HasPrefix(typ, "TPU_"):
		return "", fmt.Errorf("%s is a Cloud TPU: kfup runs on local clusters without TPUs", typ)
	case !strings.Contains(typ, "/"):
		return "", fmt.Errorf("accelerator type %q is no Kubernetes resource name (nvidia.com/gpu, amd.com/gpu, ...)", typ)
	}
	if errs := content.IsLabelKey(typ); len(errs) > 0 {
		return "", fmt.Errorf("accelerator type %q: %s", typ, strings.Join(errs, "; "))
	}
	return corev1.ResourceName(typ), nil
}

// quantity parses s, after its input placeholders, as a non-negative quantity.
func (b *builder) quantity(field, s string) (resource.Quantity, error) {
	s, err := b.expand(field, s)
	if err != nil {
		return resource.Quantity{}, err
	}
	q, err := resource.ParseQuantity(strings.TrimSpace(s))
	if err != nil {
		return q, b.errf(field, "%q is not a quantity (like 500m, 2, 1Gi)", s)
	}
	if q.Sign() < 0 {
		return q, b.errf(field, "%s is negative", s)
	}
	return q, nil
}

func setResource(list *corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
	if *list == nil {
		*list = corev1.ResourceList{}
	}
	(*list)[name] = q
}

// expand replaces the {{$.inputs.parameters['x']}} placeholders of s (KFP resolves them
// in the image and the resource strings, from the task's inputs) by their values.
func (b *builder) expand(field, s string) (string, error) {
	phs := ir.FindPlaceholders(s)
	for _, ph := range phs {
		x, err := ir.ParsePlaceholder(ph)
		if err != nil || x.Kind != ir.PHInputValue {
			return "", b.errf(field, "%s: only input parameters ({{$.inputs.parameters['x']}}) can be used here", ph)
		}
		v, p, err := b.scope.taskInput(x.Name)
		if err != nil {
			return "", b.errf(field, "%s: %v", ph, err)
		}
		if p != set {
			return "", b.errf(field, "%s: the input has no value", ph)
		}
		s = strings.ReplaceAll(s, ph, formatValue(v))
	}
	return s, nil
}

// formatValue prints a parameter as a placeholder does: strings as they are, numbers
// without exponent, the rest as JSON.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return mustJSON(v)
}
