package engine

import (
	"encoding/json"
	"os"
	"testing"

	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/internal/conformance"
)

// FuzzTaskPod gives train of testIR an arbitrary kfp-kubernetes config and arbitrary run
// parameters: TaskPod never panics, and a pod it returns is well formed and of a size
// bounded by its input. Seeds: testdata/fuzz/FuzzTaskPod and the executor configs of the
// conformance pipelines.
func FuzzTaskPod(f *testing.F) {
	for _, file := range conformance.Files(f, "pipelines/valid/*.yaml") {
		data, err := os.ReadFile(file)
		if err != nil {
			f.Fatal(err)
		}
		p, _ := ir.Parse(data)
		if p == nil || p.Platform == nil || p.Platform.Platforms["kubernetes"].DeploymentSpec == nil {
			continue
		}
		for _, ex := range p.Platform.Platforms["kubernetes"].DeploymentSpec.Executors {
			b, err := json.Marshal(ex)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(string(b), `{"name": "s", "sel": {"a": "b"}}`)
		}
	}
	p := testPipeline(f, nil)
	step := readySteps(f, p, nil, produced)["train"]
	base, err := TaskPod(input(p, step, testRun(nil, produced)))
	if err != nil {
		f.Fatal(err)
	}
	baseJSON, _ := json.Marshal(base)
	f.Fuzz(func(t *testing.T, cfgJSON, paramsJSON string) {
		var cfg ir.KubernetesExecutorConfig
		if err := json.Unmarshal([]byte(cfgJSON), &cfg); err != nil {
			return
		}
		var params map[string]any
		if err := json.Unmarshal([]byte(paramsJSON), &params); err != nil {
			params = nil
		}
		q := *p
		q.Platform = &ir.PlatformSpec{Platforms: map[string]ir.SinglePlatformSpec{"kubernetes": {
			DeploymentSpec: &ir.PlatformDeploymentSpec{Executors: map[string]ir.KubernetesExecutorConfig{"exec-train": cfg}},
		}}}
		pod, err := TaskPod(input(&q, step, testRun(params, produced)))
		if err != nil {
			return
		}
		checkPod(t, pod)
		out, err := json.Marshal(pod)
		if err != nil {
			t.Fatal(err)
		}
		// every part of the pod comes from an entry of the config, a parameter named
		// in it at most once per entry
		if limit := len(baseJSON) + 64*(len(cfgJSON)+1)*(len(paramsJSON)/64+1); len(out) > limit {
			t.Fatalf("a %d-byte config made a %d-byte pod", len(cfgJSON), len(out))
		}
	})
}
