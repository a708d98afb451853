package engine

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/validate/content"
)

// maxVolumeName is the longest volume name (a DNS label).
const maxVolumeName = 63

// volumes are the pod's volumes, each name taken once. Names the user gave (emptyDir,
// ephemeral and shared memory volumes) are kept as they are; names kfup derives from a
// secret, config map or PVC are made valid and unique deterministically.
type volumes struct {
	list  []corev1.Volume
	taken map[string]string // by name: the field that took it
	// kfpNames maps the name KFP gives a volume (the secret's, config map's or PVC's
	// name; the user's name) to kfup's, for the volumeMounts of the user's init
	// containers.
	kfpNames map[string]string
}

func (v *volumes) init() {
	v.taken = map[string]string{}
	v.kfpNames = map[string]string{}
	for _, name := range []string{BinVolume, ImageVolume, WorkspaceVolume} {
		v.taken[name] = "kfup"
	}
	for _, d := range artifactDirs {
		v.taken[d.volume] = "kfup"
	}
}

// add appends vol, whose name is already reserved or kfup's.
func (v *volumes) add(vol corev1.Volume, field string) {
	v.taken[vol.Name] = field
	v.list = append(v.list, vol)
}

// reserve takes a name the user gave; it reports why it cannot be used.
func (v *volumes) reserve(name, field string) error {
	if errs := content.IsDNS1123Label(name); len(errs) > 0 {
		return fmt.Errorf("volume name %q: %s", name, strings.Join(errs, "; "))
	}
	if other, ok := v.taken[name]; ok {
		if other == "kfup" {
			return fmt.Errorf("volume name %q is kfup's own", name)
		}
		return fmt.Errorf("volume name %q is already used by %s", name, other)
	}
	v.taken[name] = field
	v.kfpNames[name] = name
	return nil
}

// generate returns a free volume name for the object source of kind prefix ("secret",
// "pvc"), and remembers that KFP would have named it source.
func (v *volumes) generate(prefix, source, field string) string {
	base := prefix + "-" + sanitize(source)
	if len(base) > maxVolumeName || base != prefix+"-"+source {
		base = fit(base, "-"+shortHash(source))
	}
	name := base
	for n := 2; ; n++ {
		if _, ok := v.taken[name]; !ok {
			break
		}
		name = fit(base, fmt.Sprintf("-%d", n))
	}
	v.taken[name] = field
	if _, ok := v.kfpNames[source]; !ok {
		v.kfpNames[source] = name
	}
	return name
}

// sanitize maps s onto the characters of a DNS label.
func sanitize(s string) string {
	b := []byte(strings.ToLower(s))
	for i, c := range b {
		if (c < 'a' || c > 'z') && (c < '0' || c > '9') {
			b[i] = '-'
		}
	}
	return strings.Trim(string(b), "-")
}

// fit is base cut so that base+suffix is a DNS label.
func fit(base, suffix string) string {
	if n := maxVolumeName - len(suffix); len(base) > n {
		base = base[:n]
	}
	return strings.TrimRight(base, "-") + suffix
}

func shortHash(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:4])
}
