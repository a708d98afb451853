package manifests

import (
	"embed"
	"io/fs"
	"sort"
)

//go:generate go run ../hack/vendor-knative -module knative.dev/operator@v0.42.2 -sum h1:wgAWYHwoSFmV+wPHCt5dZahHTHLy2VCM4G82PEo9iSc= -serving 1.15.2 -net-istio 1.15 -out knative

// knativeFS holds the pinned Knative Serving and net-istio release manifests.
//
//go:embed knative/serving/*.yaml knative/net-istio/*.yaml
var knativeFS embed.FS

// File is one embedded manifest file.
type File struct {
	Name string
	Data []byte
}

func readDir(fsys embed.FS, dir string) []File {
	names, err := fs.Glob(fsys, dir+"/*.yaml")
	if err != nil {
		panic(err) // embedded at build time
	}
	sort.Strings(names)
	out := make([]File, 0, len(names))
	for _, n := range names {
		b, err := fsys.ReadFile(n)
		if err != nil {
			panic(err)
		}
		out = append(out, File{Name: n, Data: b})
	}
	return out
}

// KnativeServing returns the Knative Serving release files in apply order (CRDs, core,
// HPA autoscaler, post-install jobs).
func KnativeServing() []File { return readDir(knativeFS, "knative/serving") }

// NetIstio returns the net-istio release files.
func NetIstio() []File { return readDir(knativeFS, "knative/net-istio") }
