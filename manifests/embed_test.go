package manifests

import "testing"

func TestEmbeddedCRDsParse(t *testing.T) {
	crds, err := CRDs()
	if err != nil {
		t.Fatal(err)
	}
	want := map[string]bool{
		"tfjobs.kubeflow.org": true, "pytorchjobs.kubeflow.org": true, "mpijobs.kubeflow.org": true,
		"xgboostjobs.kubeflow.org": true, "jaxjobs.kubeflow.org": true, "paddlejobs.kubeflow.org": true,
	}
	for _, c := range crds {
		delete(want, c.Name)
		if len(c.Spec.Versions) != 1 || c.Spec.Versions[0].Name != "v1" || c.Spec.Versions[0].Subresources == nil {
			t.Errorf("%s: want one served version v1 with the status subresource", c.Name)
		}
	}
	if len(want) != 0 {
		t.Fatalf("missing CRDs: %v", want)
	}
}
