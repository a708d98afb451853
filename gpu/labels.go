package gpu

import (
	"strconv"
	"strings"
)

// Node labels, as NVIDIA's GPU Feature Discovery names them, so that workloads written
// for the GPU Operator select kfup's GPU nodes unchanged.
const (
	LabelPresent = "nvidia.com/gpu.present"
	LabelProduct = "nvidia.com/gpu.product"
	LabelMemory  = "nvidia.com/gpu.memory"
	LabelCount   = "nvidia.com/gpu.count"
)

// NodeLabels returns the labels of a node that holds inv's GPUs: present, the product
// and memory (MiB) of the first GPU, as GFD reports them, and the count. It is empty for
// an inventory without GPUs.
func NodeLabels(inv *Inventory) map[string]string {
	if inv == nil || len(inv.GPUs) == 0 {
		return map[string]string{}
	}
	d := inv.GPUs[0]
	return map[string]string{
		LabelPresent: "true",
		LabelProduct: labelValue(d.Name),
		LabelMemory:  strconv.FormatUint(d.MemoryMiB, 10),
		LabelCount:   strconv.Itoa(len(inv.GPUs)),
	}
}

// labelValue makes s a valid label value as GFD does for product names: spaces become
// dashes; anything else a label may not hold is dropped; at most 63 characters, starting
// and ending alphanumeric.
func labelValue(s string) string {
	var b strings.Builder
	for _, r := range strings.ReplaceAll(strings.TrimSpace(s), " ", "-") {
		if r < 128 && (r == '-' || r == '_' || r == '.' || ('0' <= r && r <= '9') || ('a' <= r && r <= 'z') || ('A' <= r && r <= 'Z')) {
			b.WriteRune(r)
		}
	}
	v := b.String()
	if len(v) > 63 {
		v = v[:63]
	}
	return strings.Trim(v, "-_.")
}
