package nvidia

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"github.com/kfup/kfup/internal/errs"
)

// A CUDA program needs a driver that supports its CUDA version. Within one major version
// NVIDIA's minor version compatibility lets a runtime (12.4) run on an older driver of the
// same major (12.2), short of PTX JIT compilation; across majors it fails at the first
// CUDA call ("CUDA driver version is insufficient for CUDA runtime version"). So a smoke
// image whose CUDA major is newer than the driver's stops kfup test --gpu before any pod
// runs, and an older minor is a note.
//
// The nvidia-smi pod needs no CUDA runtime: kfup's CDI spec mounts the host's own
// nvidia-smi and libnvidia-ml into it, so only the PyTorch image is checked.

var (
	// NVIDIA's CUDA images: nvcr.io/nvidia/cuda:12.4.1-base-ubuntu22.04, nvidia/cuda:11.8.0-runtime-...
	cudaImageTagRE = regexp.MustCompile(`(?:^|/)cuda:(\d+)\.(\d+)(?:\.\d+)?(?:-|$)`)
	// framework images that name their CUDA in the tag: pytorch/pytorch:2.4.1-cuda12.4-cudnn9-runtime
	cudaInTagRE = regexp.MustCompile(`[:\-_.]cuda(\d+)\.(\d+)(?:[\-_.]|$)`)
	// ... or as PyTorch's wheels name it: 2.1.0-cu121 (12.1), cu118 (11.8), cu92 (9.2)
	cuInTagRE = regexp.MustCompile(`[:\-_.]cu(\d{2,3})(?:[\-_.]|$)`)
	// NVIDIA_REQUIRE_CUDA=cuda>=12.4 brand=tesla,driver>=470,driver<471 ...
	requireCUDARE = regexp.MustCompile(`(?:^|\s)cuda>=(\d+)\.(\d+)`)
	// CUDA_VERSION=12.4.1
	cudaVersionEnvRE = regexp.MustCompile(`^(\d+)\.(\d+)`)
)

// ImageCUDA returns the CUDA version (major.minor) that image needs and where that was
// read: the image's environment when given (NVIDIA_REQUIRE_CUDA's cuda>=X.Y, else
// CUDA_VERSION, as NVIDIA's CUDA images and those built on them set them), else its tag
// (nvcr.io/nvidia/cuda:12.4.1-…, pytorch/pytorch:2.4.1-cuda12.4-…, …-cu121). "" when
// neither says.
func ImageCUDA(image string, env []string) (version, source string) {
	var fromVersion string
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		switch k {
		case "NVIDIA_REQUIRE_CUDA":
			if m := requireCUDARE.FindStringSubmatch(v); m != nil {
				return m[1] + "." + m[2], "the image's NVIDIA_REQUIRE_CUDA"
			}
		case "CUDA_VERSION":
			if m := cudaVersionEnvRE.FindStringSubmatch(v); m != nil {
				fromVersion = m[1] + "." + m[2]
			}
		}
	}
	if fromVersion != "" {
		return fromVersion, "the image's CUDA_VERSION"
	}
	tag := image
	if i := strings.LastIndex(tag, "@"); i >= 0 {
		tag = tag[:i] // a digest says nothing
	}
	if m := cudaImageTagRE.FindStringSubmatch(tag); m != nil {
		return m[1] + "." + m[2], "the image's tag"
	}
	if i := strings.LastIndex(tag, ":"); i > strings.LastIndex(tag, "/") {
		if m := cudaInTagRE.FindStringSubmatch(tag[i:]); m != nil {
			return m[1] + "." + m[2], "the image's tag"
		}
		if m := cuInTagRE.FindStringSubmatch(tag[i:]); m != nil {
			d := m[1]
			return d[:len(d)-1] + "." + d[len(d)-1:], "the image's tag"
		}
	}
	return "", ""
}

// CheckImageCUDA compares the CUDA version an image needs with the one the driver
// supports (as nvidia-smi's banner and NVML report it). An image of a newer CUDA major
// is a preflight error with the fix; a newer minor of the same major comes back as a
// note, since minor version compatibility runs it. Either version unknown: no error, and
// a note saying it was not checked.
func CheckImageCUDA(image, imageCUDA, source, driverCUDA string) (note string, err error) {
	if imageCUDA == "" {
		return fmt.Sprintf("%s: CUDA version unknown (neither its tag nor its environment names one): not checked", image), nil
	}
	if driverCUDA == "" {
		return fmt.Sprintf("%s needs CUDA %s; the driver's CUDA version is unknown: not checked", image, imageCUDA), nil
	}
	im, imin, ok1 := majorMinor(imageCUDA)
	dm, dmin, ok2 := majorMinor(driverCUDA)
	if !ok1 || !ok2 {
		return fmt.Sprintf("%s needs CUDA %s, the driver supports %s: not comparable, not checked", image, imageCUDA, driverCUDA), nil
	}
	switch {
	case im > dm:
		return "", errs.New(errs.KindPreflight,
			fmt.Sprintf("use an image built for CUDA %d.x (at most %s), or install an NVIDIA driver that supports CUDA %s ('nvidia-smi' shows the CUDA version of the driver)", dm, driverCUDA, imageCUDA),
			"%s needs CUDA %s (%s), but the host's NVIDIA driver supports CUDA %s: a CUDA %d program cannot run on a CUDA %d driver", image, imageCUDA, source, driverCUDA, im, dm)
	case im == dm && imin > dmin:
		return fmt.Sprintf("%s needs CUDA %s, the driver supports %s: runs through CUDA minor version compatibility (no PTX JIT)", image, imageCUDA, driverCUDA), nil
	}
	return fmt.Sprintf("%s needs CUDA %s, the driver supports %s", image, imageCUDA, driverCUDA), nil
}

func majorMinor(v string) (int, int, bool) {
	a, b, ok := strings.Cut(v, ".")
	if !ok {
		return 0, 0, false
	}
	if i := strings.IndexByte(b, '.'); i >= 0 {
		b = b[:i]
	}
	major, err1 := strconv.Atoi(a)
	minor, err2 := strconv.Atoi(b)
	return major, minor, err1 == nil && err2 == nil
}
