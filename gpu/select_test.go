package gpu

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/kfup/kfup/internal/errs"
)

func twoGPUs() *Inventory {
	return &Inventory{DriverVersion: "550.54.15", GPUs: []Device{
		{Index: 0, Minor: 0, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-aaa", MemoryMiB: 40960},
		{Index: 1, Minor: 1, Name: "NVIDIA A100-SXM4-40GB", UUID: "GPU-bbb", MemoryMiB: 40960},
	}}
}

func TestSelect(t *testing.T) {
	tests := []struct {
		name    string
		refs    []string
		want    []int
		wantErr string
	}{
		{name: "all", want: []int{0, 1}},
		{name: "by index", refs: []string{"1"}, want: []int{1}},
		{name: "by UUID, any case, sorted", refs: []string{"gpu-bbb", "0"}, want: []int{0, 1}},
		{name: "out of range", refs: []string{"2"}, wantErr: `--gpus: no GPU "2" on this host`},
		{name: "unknown UUID", refs: []string{"GPU-zzz"}, wantErr: `no GPU "GPU-zzz"`},
		{name: "twice", refs: []string{"0", "0"}, wantErr: "GPU 0 (GPU-aaa) given twice"},
		{name: "twice by index and UUID", refs: []string{"1", "GPU-bbb"}, wantErr: "GPU 1 (GPU-bbb) given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Select(twoGPUs(), tt.refs)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || errs.KindOf(err) != errs.KindUsage {
					t.Fatalf("err = %v, want usage error with %q", err, tt.wantErr)
				}
				if h := errs.HintOf(err); !strings.Contains(h, "0 (GPU-aaa), 1 (GPU-bbb)") {
					t.Errorf("hint %q does not list the valid GPUs", h)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got.Indices()); diff != "" {
				t.Errorf("indices (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNodeLabels(t *testing.T) {
	want := map[string]string{
		LabelPresent: "true", LabelProduct: "NVIDIA-A100-SXM4-40GB", LabelMemory: "40960", LabelCount: "2",
	}
	if diff := cmp.Diff(want, NodeLabels(twoGPUs())); diff != "" {
		t.Errorf("labels (-want +got):\n%s", diff)
	}
	if got := NodeLabels(&Inventory{}); len(got) != 0 {
		t.Errorf("no GPUs: %v, want none", got)
	}
	for in, want := range map[string]string{
		"Tesla T4":                    "Tesla-T4",
		"NVIDIA GeForce RTX 4090 (x)": "NVIDIA-GeForce-RTX-4090-x",
		" " + strings.Repeat("A", 70): strings.Repeat("A", 63),
	} {
		if got := labelValue(in); got != want {
			t.Errorf("labelValue(%q) = %q, want %q", in, got, want)
		}
	}
}
