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
		"experiments.kubeflow.org": true, "suggestions.kubeflow.org": true, "trials.kubeflow.org": true,
		"inferenceservices.serving.kserve.io": true, "servingruntimes.serving.kserve.io": true, "clusterservingruntimes.serving.kserve.io": true,
		"pipelines.pipelines.kubeflow.org": true, "pipelineversions.pipelines.kubeflow.org": true,
		"pipelineruns.pipelines.kfup.dev": true, "recurringruns.pipelines.kfup.dev": true,
	}
	version := map[string]string{
		"experiments.kubeflow.org": "v1beta1", "suggestions.kubeflow.org": "v1beta1", "trials.kubeflow.org": "v1beta1",
		"inferenceservices.serving.kserve.io": "v1beta1", "servingruntimes.serving.kserve.io": "v1alpha1", "clusterservingruntimes.serving.kserve.io": "v1alpha1",
		"pipelines.pipelines.kubeflow.org": "v2beta1", "pipelineversions.pipelines.kubeflow.org": "v2beta1",
		"pipelineruns.pipelines.kfup.dev": "v1alpha1", "recurringruns.pipelines.kfup.dev": "v1alpha1",
	}
	for _, c := range crds {
		delete(want, c.Name)
		v := version[c.Name]
		if v == "" {
			v = "v1"
		}
		if len(c.Spec.Versions) != 1 || c.Spec.Versions[0].Name != v || c.Spec.Versions[0].Subresources == nil {
			t.Errorf("%s: want one served version %s with the status subresource", c.Name, v)
		}
	}
	if len(want) != 0 {
		t.Fatalf("missing CRDs: %v", want)
	}
}
