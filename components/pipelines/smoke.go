package pipelines

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/manager"
	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
)

// smokeRunTimeout bounds the smoke test's real run (two pods, one after the other).
const smokeRunTimeout = 3 * time.Minute

// Smoke proves the API end to end: the schema refuses a run naming both a version and an
// embedded pipeline, the admission webhook refuses a pipeline whose task names a missing
// component, and a real two-step pipeline runs — in kfup's own image, present on every
// node — passing a runtime parameter through the first step's output into the second's.
func (c Component) Smoke(ctx context.Context, env *components.Env) error {
	ns := "default"
	if n := c.Namespaces(env); len(n) > 0 {
		ns = n[0]
	}
	image, err := managerImage(ctx, env.Client)
	if err != nil {
		return err
	}
	token := randomToken()
	good := SmokeRun(ns, image, token)
	bad := good.DeepCopy()
	bad.Spec.PipelineVersionRef = &pipelinesv1alpha1.PipelineVersionRef{Name: "v1"}
	err = env.Client.Create(ctx, bad, client.DryRunAll)
	if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "exactly one") {
		return fmt.Errorf("a PipelineRun naming both a version and an embedded pipeline was not rejected by the schema (got %v)", err)
	}
	bad = good.DeepCopy()
	bad.Spec.PipelineSpec.Raw = []byte(strings.Replace(string(bad.Spec.PipelineSpec.Raw), `"name":"comp-say"`, `"name":"comp-missing"`, 1))
	err = env.Client.Create(ctx, bad, client.DryRunAll)
	if err == nil || !strings.Contains(err.Error(), "denied the request") || !strings.Contains(err.Error(), "comp-missing") {
		return fmt.Errorf("a PipelineRun whose task names a missing component was not refused by kfup's admission webhook (got %v)", err)
	}
	return runSmoke(ctx, env.Client, good, token)
}

// runSmoke runs run to its end, checks that its second task said token, and deletes it
// (with its pods) whatever happened.
func runSmoke(ctx context.Context, c client.Client, run *pipelinesv1alpha1.PipelineRun, token string) (err error) {
	if err := c.Create(ctx, run); err != nil {
		return fmt.Errorf("create the smoke PipelineRun: %w", err)
	}
	defer func() {
		del, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
		defer cancel()
		if derr := c.Delete(del, run, client.PropagationPolicy(metav1.DeletePropagationBackground)); derr != nil && !apierrors.IsNotFound(derr) {
			err = errors.Join(err, fmt.Errorf("delete the smoke PipelineRun %s/%s: %w", run.Namespace, run.Name, derr))
		}
	}()
	key := client.ObjectKeyFromObject(run)
	werr := wait.PollUntilContextTimeout(ctx, time.Second, smokeRunTimeout, true, func(ctx context.Context) (bool, error) {
		if err := c.Get(ctx, key, run); err != nil {
			return false, client.IgnoreNotFound(err)
		}
		return run.Status.Phase.Final(), nil
	})
	if werr != nil {
		return fmt.Errorf("the smoke pipeline %s/%s did not finish within %s (phase %q; %s): %w", run.Namespace, run.Name, smokeRunTimeout, run.Status.Phase, taskSummary(run), werr)
	}
	if run.Status.Phase != pipelinesv1alpha1.PhaseSucceeded {
		return fmt.Errorf("the smoke pipeline %s/%s %s: %s (%s)", run.Namespace, run.Name, run.Status.Phase, run.Status.Error, taskSummary(run))
	}
	for _, t := range run.Status.Tasks {
		if t.ID != "second" {
			continue
		}
		var said string
		if p, ok := t.Parameters["said"]; ok {
			_ = json.Unmarshal(p.Raw, &said)
		}
		if said != token {
			return fmt.Errorf("the smoke pipeline's second task said %q, want %q passed from the first", said, token)
		}
		return nil
	}
	return fmt.Errorf("the smoke pipeline succeeded without a task \"second\" (%s)", taskSummary(run))
}

// taskSummary lists the run's tasks with their phases, for errors.
func taskSummary(run *pipelinesv1alpha1.PipelineRun) string {
	var parts []string
	for _, t := range run.Status.Tasks {
		parts = append(parts, fmt.Sprintf("%s %s", t.ID, t.Phase))
	}
	if len(parts) == 0 {
		return "no task started"
	}
	return strings.Join(parts, ", ")
}

// managerImage is the image of kfup's manager Deployment, on every node (loaded or
// pulled), which the smoke pipeline's steps run.
func managerImage(ctx context.Context, c client.Client) (string, error) {
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: manager.Namespace, Name: manager.AppName}, d); err != nil {
		return "", fmt.Errorf("read the manager Deployment %s/%s for its image: %w", manager.Namespace, manager.AppName, err)
	}
	for _, ctr := range d.Spec.Template.Spec.Containers {
		if ctr.Name == "manager" {
			return ctr.Image, nil
		}
	}
	return "", fmt.Errorf("the manager Deployment %s/%s has no container \"manager\"", manager.Namespace, manager.AppName)
}

func randomToken() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b) // never fails (crypto/rand)
	return "kfup-" + hex.EncodeToString(b)
}

// SmokeRun is kfup test's pipeline in namespace ns: task "first" says the runtime
// parameter message (token), task "second" says what the first said; both run
// `kfup agent write-file` from image (kfup's), with the cache off.
func SmokeRun(ns, image, token string) *pipelinesv1alpha1.PipelineRun {
	say := func(from map[string]any) map[string]any {
		return map[string]any{"parameters": map[string]any{"text": from}}
	}
	spec := map[string]any{
		"pipelineInfo":  map[string]any{"name": "kfup-smoke"},
		"schemaVersion": "2.1.0",
		"root": map[string]any{
			"inputDefinitions": map[string]any{"parameters": map[string]any{"message": map[string]any{"parameterType": "STRING"}}},
			"dag": map[string]any{"tasks": map[string]any{
				"first": map[string]any{
					"taskInfo": map[string]any{"name": "first"}, "componentRef": map[string]any{"name": "comp-say"},
					"inputs": say(map[string]any{"componentInputParameter": "message"}),
				},
				"second": map[string]any{
					"taskInfo": map[string]any{"name": "second"}, "componentRef": map[string]any{"name": "comp-say"},
					"dependentTasks": []any{"first"},
					"inputs":         say(map[string]any{"taskOutputParameter": map[string]any{"producerTask": "first", "outputParameterKey": "said"}}),
				},
			}},
		},
		"components": map[string]any{"comp-say": map[string]any{
			"executorLabel":     "exec-say",
			"inputDefinitions":  map[string]any{"parameters": map[string]any{"text": map[string]any{"parameterType": "STRING"}}},
			"outputDefinitions": map[string]any{"parameters": map[string]any{"said": map[string]any{"parameterType": "STRING"}}},
		}},
		"deploymentSpec": map[string]any{"executors": map[string]any{"exec-say": map[string]any{"container": map[string]any{
			"image": image,
			"command": []any{"/kfup", "agent", "write-file",
				"{{$.outputs.parameters['said'].output_file}}", "{{$.inputs.parameters['text']}}"},
		}}}},
	}
	raw, _ := json.Marshal(spec) // a literal: cannot fail
	msg, _ := json.Marshal(token)
	return &pipelinesv1alpha1.PipelineRun{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kfup-smoke-", Namespace: ns},
		Spec: pipelinesv1alpha1.PipelineRunSpec{
			PipelineSpec: &runtime.RawExtension{Raw: raw},
			Parameters:   map[string]apiextensionsv1.JSON{"message": {Raw: msg}},
			DisableCache: true,
		},
	}
}
