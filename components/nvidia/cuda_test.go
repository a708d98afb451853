package nvidia

import (
	"strings"
	"testing"

	"github.com/kfup/kfup/internal/errs"
)

func TestImageCUDA(t *testing.T) {
	for _, tc := range []struct {
		image  string
		env    []string
		want   string
		source string
	}{
		{DefaultSMIImage, nil, "12.4", "tag"},
		{ExamplePyTorchImage, nil, "12.4", "tag"},
		{"nvidia/cuda:11.8.0-cudnn8-runtime-ubuntu22.04", nil, "11.8", "tag"},
		{"registry.local:5000/nvidia/cuda:13.0-base", nil, "13.0", "tag"},
		{"pytorch/pytorch:2.1.0-cuda11.8-cudnn8-devel", nil, "11.8", "tag"},
		{"example.com/torch:2.1.0-cu121", nil, "12.1", "tag"},
		{"example.com/torch:cu118-py310", nil, "11.8", "tag"},
		{"example.com/torch:1.4-cu92", nil, "9.2", "tag"},
		// the environment wins over the tag: NVIDIA_REQUIRE_CUDA, then CUDA_VERSION
		{"example.com/train:v3", []string{"PATH=/usr/bin", "CUDA_VERSION=12.2.2", "NVIDIA_REQUIRE_CUDA=cuda>=12.2 brand=tesla,driver>=470,driver<471"}, "12.2", "NVIDIA_REQUIRE_CUDA"},
		{"pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime", []string{"CUDA_VERSION=12.1.0"}, "12.1", "CUDA_VERSION"},
		{"example.com/train:v3", []string{"NVIDIA_REQUIRE_CUDA=brand=tesla", "CUDA_VERSION=11.7.1"}, "11.7", "CUDA_VERSION"},
		// nothing says: a registry port, a digest, a directory named cuda, cudnn
		{"example.com/train:v3", []string{"CUDA_VERSION=", "NVIDIA_REQUIRE_CUDA=cuda>=x"}, "", ""},
		{"localhost:5000/cuda/train", nil, "", ""},
		{"example.com/cuda12.4/train:latest", nil, "", ""},
		{"example.com/train@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", nil, "", ""},
		{"example.com/train:cudnn9-runtime", nil, "", ""},
		{"busybox", nil, "", ""},
	} {
		got, src := ImageCUDA(tc.image, tc.env)
		if got != tc.want || !strings.Contains(src, tc.source) || (tc.want == "") != (src == "") {
			t.Errorf("ImageCUDA(%q, %q) = %q from %q; want %q from %s", tc.image, tc.env, got, src, tc.want, tc.source)
		}
	}
}

func TestCheckImageCUDA(t *testing.T) {
	const img = "pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime"
	for _, tc := range []struct {
		imageCUDA, driverCUDA string
		fails                 bool
		note                  string
	}{
		{"12.4", "12.4", false, "needs CUDA 12.4, the driver supports 12.4"},
		{"12.4", "12.8", false, "the driver supports 12.8"},
		{"11.8", "12.2", false, "the driver supports 12.2"},
		{"12.4", "12.2", false, "minor version compatibility"},
		{"12.4", "11.4", true, ""},
		{"13.0", "12.9", true, ""},
		{"12.10", "12.9", false, "minor version compatibility"}, // numbers, not strings
		{"", "12.4", false, "CUDA version unknown"},
		{"12.4", "", false, "driver's CUDA version is unknown"},
		{"12.4", "n/a", false, "not comparable"},
	} {
		note, err := CheckImageCUDA(img, tc.imageCUDA, "the image's tag", tc.driverCUDA)
		if tc.fails {
			if err == nil || errs.KindOf(err) != errs.KindPreflight {
				t.Errorf("%s on a %s driver: err %v, want a preflight error", tc.imageCUDA, tc.driverCUDA, err)
				continue
			}
			for _, want := range []string{img, "needs CUDA " + tc.imageCUDA, "supports CUDA " + tc.driverCUDA} {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
			if h := errs.HintOf(err); !strings.Contains(h, "at most "+tc.driverCUDA) || !strings.Contains(h, "supports CUDA "+tc.imageCUDA) {
				t.Errorf("hint %q: want the image to use and the driver to install", h)
			}
			continue
		}
		if err != nil || !strings.Contains(note, tc.note) {
			t.Errorf("%q on a %q driver: note %q, err %v; want a note with %q", tc.imageCUDA, tc.driverCUDA, note, err, tc.note)
		}
	}
}
