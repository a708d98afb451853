package gpu

import (
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/kfup/kfup/internal/errs"
)

// Select returns the part of inv that refs name (kfup create --gpus 0,1): each ref is a
// GPU index or UUID. No refs selects every GPU. A ref the host lacks, or a GPU named
// twice (by index and UUID, say), is a usage error that lists the valid GPUs.
func Select(inv *Inventory, refs []string) (*Inventory, error) {
	if len(refs) == 0 {
		return inv, nil
	}
	out := *inv
	out.GPUs = nil
	for _, ref := range refs {
		ref = strings.TrimSpace(ref)
		d := inv.lookup(ref)
		if d == nil {
			return nil, errs.Usage("pass indices or UUIDs from 'kfup gpu list': "+inv.valid(),
				"--gpus: no GPU %q on this host", ref)
		}
		if slices.ContainsFunc(out.GPUs, func(g Device) bool { return g.Index == d.Index }) {
			return nil, errs.Usage("name each GPU once; this host has "+inv.valid(),
				"--gpus: GPU %d (%s) given twice", d.Index, d.UUID)
		}
		out.GPUs = append(out.GPUs, *d)
	}
	slices.SortFunc(out.GPUs, func(a, b Device) int { return a.Index - b.Index })
	return &out, nil
}

// Indices returns the indices of inv's GPUs, in order.
func (inv *Inventory) Indices() []int {
	out := make([]int, len(inv.GPUs))
	for i, d := range inv.GPUs {
		out[i] = d.Index
	}
	return out
}

func (inv *Inventory) lookup(ref string) *Device {
	if i, err := strconv.Atoi(ref); err == nil {
		return inv.GPU(i)
	}
	for k := range inv.GPUs {
		if strings.EqualFold(inv.GPUs[k].UUID, ref) {
			return &inv.GPUs[k]
		}
	}
	return nil
}

// valid lists the host's GPUs as "0 (GPU-...), 1 (GPU-...)".
func (inv *Inventory) valid() string {
	if len(inv.GPUs) == 0 {
		return "none"
	}
	parts := make([]string, len(inv.GPUs))
	for i, d := range inv.GPUs {
		parts[i] = fmt.Sprintf("%d (%s)", d.Index, d.UUID)
	}
	return strings.Join(parts, ", ")
}
