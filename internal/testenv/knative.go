package testenv

import (
	"bytes"
	"context"
	"errors"
	"io"
	"slices"
	"testing"
	"time"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	utilyaml "k8s.io/apimachinery/pkg/util/yaml"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/envtest"

	"github.com/kfup/kfup/manifests"
)

// InstallKnativeCRDs creates the named CRDs of Knative Serving's release that kfup
// vendors (such as services.serving.knative.dev) in the test API server and waits until
// they are served; no Knative controller or webhook runs, so tests write the status
// Knative would. A name the release lacks fails t.
func (e *Env) InstallKnativeCRDs(t testing.TB, names ...string) {
	t.Helper()
	var crds []*apiextensionsv1.CustomResourceDefinition
	for _, f := range manifests.KnativeServing() {
		d := utilyaml.NewYAMLOrJSONDecoder(bytes.NewReader(f.Data), 4096)
		for {
			crd := &apiextensionsv1.CustomResourceDefinition{}
			if err := d.Decode(crd); err != nil {
				if errors.Is(err, io.EOF) {
					break
				}
				t.Fatalf("%s: %v", f.Name, err)
			}
			// the release repeats its CRDs in its core file: the first of each counts
			if crd.Kind == "CustomResourceDefinition" && slices.Contains(names, crd.Name) &&
				!slices.ContainsFunc(crds, func(c *apiextensionsv1.CustomResourceDefinition) bool { return c.Name == crd.Name }) {
				crds = append(crds, crd)
			}
		}
	}
	if len(crds) != len(names) {
		t.Fatalf("Knative Serving's manifests hold %d of the CRDs %v", len(crds), names)
	}
	ctx := context.Background()
	for _, crd := range crds {
		if err := e.Client.Create(ctx, crd); client.IgnoreAlreadyExists(err) != nil {
			t.Fatal(err)
		}
	}
	err := envtest.WaitForCRDs(e.Config, crds, envtest.CRDInstallOptions{PollInterval: 100 * time.Millisecond, MaxTime: 20 * time.Second})
	if err != nil {
		t.Fatalf("Knative CRDs %v not served: %v", names, err)
	}
}
