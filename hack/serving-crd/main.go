// Command serving-crd relaxes the generated InferenceService CRD as KServe relaxes its
// own (KServe's Makefile, "manifests"): a probe's httpGet and tcpSocket need no port
// there — Knative fills it in, and so does kfup's Standard mode (the serving
// container's port) — so the samples that give a probe only a path apply unchanged.
// `make generate` runs it on manifests/crds/serving.kserve.io_inferenceservices.yaml
// after controller-gen.
package main

import (
	"fmt"
	"os"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	"sigs.k8s.io/yaml"
)

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: serving-crd <inferenceservices CRD file>")
		os.Exit(2)
	}
	if err := relax(os.Args[1]); err != nil {
		fmt.Fprintln(os.Stderr, "serving-crd:", err)
		os.Exit(1)
	}
}

func relax(path string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	crd := &apiextensionsv1.CustomResourceDefinition{}
	if err := yaml.UnmarshalStrict(b, crd); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	n := 0
	for i := range crd.Spec.Versions {
		v := &crd.Spec.Versions[i]
		if v.Schema == nil || v.Schema.OpenAPIV3Schema == nil {
			continue
		}
		spec := v.Schema.OpenAPIV3Schema.Properties["spec"]
		for name, comp := range spec.Properties { // predictor, transformer, explainer
			for field, f := range comp.Properties {
				switch {
				case field == "containers" && f.Items != nil && f.Items.Schema != nil:
					n += relaxProbes(f.Items.Schema)
				default:
					n += relaxProbes(&f)
				}
				comp.Properties[field] = f
			}
			spec.Properties[name] = comp
		}
		v.Schema.OpenAPIV3Schema.Properties["spec"] = spec
	}
	if n == 0 {
		return fmt.Errorf("%s: no probe found to relax: has the schema changed?", path)
	}
	out, err := yaml.Marshal(crd)
	if err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte("---\n"), out...), 0o644)
}

// relaxProbes drops the required port of the httpGet and tcpSocket of s's liveness
// and readiness probes, and says how many it changed.
func relaxProbes(s *apiextensionsv1.JSONSchemaProps) int {
	n := 0
	for _, probe := range []string{"livenessProbe", "readinessProbe"} {
		p, ok := s.Properties[probe]
		if !ok {
			continue
		}
		for _, action := range []string{"httpGet", "tcpSocket"} {
			if a, ok := p.Properties[action]; ok && len(a.Required) > 0 {
				a.Required = nil
				p.Properties[action] = a
				n++
			}
		}
		s.Properties[probe] = p
	}
	return n
}
