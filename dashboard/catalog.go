package dashboard

import (
	"context"
	"fmt"
	"slices"
	"strings"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
)

// Kind is one kind of a Kubeflow API the cluster serves, as its CRD names it.
type Kind struct {
	// Slice is the API slice serving it ("training"): components.API's Name.
	Slice string
	// Group, Version (the CRD's storage version), Kind and Resource (plural).
	Group, Version, Kind, Resource string
}

// GVK returns the kind's group, version and kind.
func (k Kind) GVK() schema.GroupVersionKind {
	return schema.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind}
}

// GVR returns the kind's group, version and resource.
func (k Kind) GVR() schema.GroupVersionResource {
	return schema.GroupVersionResource{Group: k.Group, Version: k.Version, Resource: k.Resource}
}

// ID is the kind's resource name as kubectl and live updates spell it
// ("pytorchjobs.kubeflow.org").
func (k Kind) ID() string { return k.Resource + "." + k.Group }

// Catalog is what the cluster serves of kfup's API slices: the kinds of each slice whose
// CRDs are installed, in the order the slices and their CRDs are listed.
type Catalog struct {
	Kinds []Kind
	// Problems are CRDs the dashboard could not read (RBAC, the cluster unreachable).
	Problems []Problem
}

// Slices returns the names of the slices with at least one kind installed.
func (c Catalog) Slices() []string {
	var out []string
	for _, k := range c.Kinds {
		if !slices.Contains(out, k.Slice) {
			out = append(out, k.Slice)
		}
	}
	return out
}

// Has reports whether slice has a kind installed.
func (c Catalog) Has(slice string) bool { return slices.Contains(c.Slices(), slice) }

// Of returns the installed kinds of slice.
func (c Catalog) Of(slice string) []Kind {
	var out []Kind
	for _, k := range c.Kinds {
		if k.Slice == slice {
			out = append(out, k)
		}
	}
	return out
}

// Find returns the kind of slice named kind (case-sensitive, "PyTorchJob") or whose
// plural resource is kind ("pytorchjobs").
func (c Catalog) Find(slice, kind string) (Kind, bool) {
	for _, k := range c.Of(slice) {
		if k.Kind == kind || k.Resource == kind {
			return k, true
		}
	}
	return Kind{}, false
}

// Discover looks up each API slice's CRDs (components.API.CRDs) in the cluster: the
// kinds installed are what the dashboard shows. A CRD that is absent is skipped; one it
// may not read, or a cluster that does not answer, is a Problem.
func Discover(ctx context.Context, c client.Reader, apis []components.API) Catalog {
	var cat Catalog
	for _, a := range apis {
		for _, name := range a.CRDs() {
			var crd apiextensionsv1.CustomResourceDefinition
			if err := c.Get(ctx, client.ObjectKey{Name: name}, &crd); err != nil {
				if apierrors.IsNotFound(err) {
					continue
				}
				cat.Problems = append(cat.Problems, problemOf(err, "get", "customresourcedefinitions.apiextensions.k8s.io", "", name))
				if !apierrors.IsForbidden(err) {
					return cat // unreachable: one banner, not one per CRD
				}
				continue
			}
			k := Kind{Slice: a.Name(), Group: crd.Spec.Group, Kind: crd.Spec.Names.Kind, Resource: crd.Spec.Names.Plural}
			for _, v := range crd.Spec.Versions {
				if v.Storage {
					k.Version = v.Name
				}
			}
			if k.Version == "" && len(crd.Spec.Versions) > 0 {
				k.Version = crd.Spec.Versions[0].Name
			}
			cat.Kinds = append(cat.Kinds, k)
		}
	}
	return cat
}

// String names the catalog's kinds, for logs.
func (c Catalog) String() string {
	ids := make([]string, len(c.Kinds))
	for i, k := range c.Kinds {
		ids[i] = k.ID()
	}
	return fmt.Sprint(ids)
}

// IDs returns the resource IDs (Kind.ID) of slice's kinds named kinds, those installed.
func (c Catalog) IDs(slice string, kinds ...string) []string {
	var out []string
	for _, k := range kinds {
		if found, ok := c.Find(slice, k); ok {
			out = append(out, found.ID())
		}
	}
	return out
}

// ID returns the resource ID of slice's kind, or its lowercased plural guess when the
// cluster does not serve it (for messages).
func (c Catalog) ID(slice, kind string) string {
	if k, ok := c.Find(slice, kind); ok {
		return k.ID()
	}
	return strings.ToLower(kind) + "s"
}
