// Package tuning is the install component of Katib's kubeflow.org/v1beta1 hyperparameter
// tuning API (Experiment, Suggestion, Trial): it applies the CRDs generated from
// api/v1beta1 and checks that the API server validates experiments. The experiment,
// suggestion and trial controllers — search algorithms included — run in kfup's manager:
// no suggestion Deployment, no database.
package tuning

import (
	"context"
	"fmt"
	"strings"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
)

// Name is the component name (the in-cluster side's too; package apis tests that the two
// sides agree).
const Name = "tuning"

// Component installs the tuning API: the host side of the tuning slice (components.API).
type Component struct{}

var (
	_ components.API           = Component{}
	_ components.ManagerServer = Component{}
)

// Name returns "tuning".
func (Component) Name() string { return Name }

// DependsOn returns nothing: CRDs need nothing else.
func (Component) DependsOn() []string { return nil }

// Images returns none: the controllers run in the manager image, which also runs the
// metrics-collector sidecar.
func (Component) Images(*components.Env) ([]string, error) { return nil, nil }

// CRDs names Katib's three CRDs (the training jobs' are kubeflow.org too: the component
// touches these and no other).
func (Component) CRDs() []string {
	return []string{"experiments.kubeflow.org", "suggestions.kubeflow.org", "trials.kubeflow.org"}
}

// AddToScheme registers the kubeflow.org/v1beta1 types.
func (Component) AddToScheme(s *runtime.Scheme) error { return tuningv1beta1.AddToScheme(s) }

// ManagerArgs is --tuning-namespace for components.tuning.namespaces.
func (c Component) ManagerArgs(env *components.Env) []string {
	if ns := c.Namespaces(env); len(ns) > 0 {
		return []string{"--tuning-namespace=" + strings.Join(ns, ",")}
	}
	return nil
}

// ManagerServices is Katib's DBManager API, which the manager serves for the Push
// collector: Service katib-db-manager in the manager's namespace, and the SDK's default
// address katib-db-manager.kubeflow:6789 as an alias of it (made only where no
// katib-db-manager Service exists: a Katib installed beside kfup keeps its own).
func (Component) ManagerServices(*components.Env) []components.ManagerService {
	return []components.ManagerService{{
		Name: tuningv1beta1.DBManagerService, PortName: "db-manager", Port: tuningv1beta1.DBManagerPort,
		Aliases: []components.ObjectKey{{Namespace: tuningv1beta1.DBManagerNamespace, Name: tuningv1beta1.DBManagerService}},
	}}
}

// Namespaces returns components.tuning.namespaces.
func (Component) Namespaces(env *components.Env) []string {
	return env.Config().Components.Tuning.NamespaceList()
}

// Install applies the CRDs and waits until they are Established.
func (c Component) Install(ctx context.Context, env *components.Env) error {
	return components.CRDs(c.CRDs()).Install(ctx, env, Name)
}

// Ready waits for the CRDs to be Established.
func (c Component) Ready(ctx context.Context, env *components.Env) error {
	return components.CRDs(c.CRDs()).Ready(ctx, env)
}

// Uninstall deletes the CRDs, and with them every experiment, suggestion and trial.
func (c Component) Uninstall(ctx context.Context, env *components.Env) error {
	return components.CRDs(c.CRDs()).Uninstall(ctx, env)
}

// Smoke creates (server-side dry run, nothing is stored) a valid Experiment, which must be
// accepted, and one whose parameter has min > max, which the schema must refuse.
func (Component) Smoke(ctx context.Context, env *components.Env) error {
	if err := env.Client.Create(ctx, SmokeExperiment("0.01", "0.05"), client.DryRunAll); err != nil {
		return fmt.Errorf("a valid Experiment was refused: %w", err)
	}
	err := env.Client.Create(ctx, SmokeExperiment("0.05", "0.01"), client.DryRunAll)
	if err == nil || !apierrors.IsInvalid(err) || !strings.Contains(err.Error(), "min") {
		return fmt.Errorf("an Experiment with min > max was not rejected by the schema (got %v)", err)
	}
	return nil
}

// SmokeExperiment is the smoke test's Experiment: random search of one double parameter
// between lo and hi, trials as batch Jobs.
func SmokeExperiment(lo, hi string) *tuningv1beta1.Experiment {
	job := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1",
		"kind":       "Job",
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"restartPolicy": "Never",
			"containers": []any{map[string]any{
				"name":    "training-container",
				"image":   "kfup-offline/busybox:1",
				"command": []any{"sh", "-c", "echo loss=${trialParameters.lr}"},
			}},
		}}},
	}}
	return &tuningv1beta1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Name: "kfup-smoke", Namespace: "default"},
		Spec: tuningv1beta1.ExperimentSpec{
			Objective: &tuningv1beta1.ObjectiveSpec{
				Type: tuningv1beta1.ObjectiveTypeMinimize, ObjectiveMetricName: "loss",
			},
			Algorithm:          &tuningv1beta1.AlgorithmSpec{AlgorithmName: "random"},
			MaxTrialCount:      ptr.To[int32](1),
			ParallelTrialCount: ptr.To[int32](1),
			Parameters: []tuningv1beta1.ParameterSpec{{
				Name: "lr", ParameterType: tuningv1beta1.ParameterTypeDouble,
				FeasibleSpace: tuningv1beta1.FeasibleSpace{Min: lo, Max: hi},
			}},
			TrialTemplate: &tuningv1beta1.TrialTemplate{
				PrimaryContainerName: "training-container",
				TrialParameters:      []tuningv1beta1.TrialParameterSpec{{Name: "lr", Reference: "lr"}},
				TrialSource:          tuningv1beta1.TrialSource{TrialSpec: job},
			},
		},
	}
}
