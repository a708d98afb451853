package v1beta1_test

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/internal/conformance"
)

const img = "kfup-offline/python-ml:bookworm"

// name is a DNS-1035 label of n characters.
func name(n int) string { return "e" + strings.Repeat("a", n-1) }

func jobTemplate() *unstructured.Unstructured {
	return &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "batch/v1",
		"kind":       "Job",
		"spec": map[string]any{"template": map[string]any{"spec": map[string]any{
			"restartPolicy": "Never",
			"containers": []any{map[string]any{
				"name":    "training-container",
				"image":   img,
				"command": []any{"python3", "train.py", "--lr=${trialParameters.learningRate}"},
			}},
		}}},
	}}
}

// validExperiment has one parameter of each type and a Job trial template.
func validExperiment(expName, ns string) *tuningv1beta1.Experiment {
	return &tuningv1beta1.Experiment{
		ObjectMeta: metav1.ObjectMeta{Name: expName, Namespace: ns},
		Spec: tuningv1beta1.ExperimentSpec{
			Objective: &tuningv1beta1.ObjectiveSpec{
				Type: tuningv1beta1.ObjectiveTypeMaximize, Goal: ptr.To(0.99), ObjectiveMetricName: "accuracy",
				AdditionalMetricNames: []string{"loss"},
			},
			Algorithm: &tuningv1beta1.AlgorithmSpec{AlgorithmName: "random"},
			Parameters: []tuningv1beta1.ParameterSpec{
				{Name: "lr", ParameterType: tuningv1beta1.ParameterTypeDouble, FeasibleSpace: tuningv1beta1.FeasibleSpace{Min: "0.01", Max: "0.03"}},
				{Name: "num-layers", ParameterType: tuningv1beta1.ParameterTypeInt, FeasibleSpace: tuningv1beta1.FeasibleSpace{Min: "1", Max: "5", Step: "1"}},
				{Name: "batch_size", ParameterType: tuningv1beta1.ParameterTypeDiscrete, FeasibleSpace: tuningv1beta1.FeasibleSpace{List: []string{"16", "32", "64"}}},
				{Name: "optimizer", ParameterType: tuningv1beta1.ParameterTypeCategorical, FeasibleSpace: tuningv1beta1.FeasibleSpace{List: []string{"sgd", "adam"}}},
			},
			TrialTemplate: &tuningv1beta1.TrialTemplate{
				PrimaryContainerName: "training-container",
				TrialSource:          tuningv1beta1.TrialSource{TrialSpec: jobTemplate()},
				TrialParameters: []tuningv1beta1.TrialParameterSpec{
					{Name: "learningRate", Reference: "lr"},
					{Name: "trialName", Reference: "${trialSpec.Name}"},
				},
			},
			MaxTrialCount:       ptr.To[int32](12),
			MaxFailedTrialCount: ptr.To[int32](3),
		},
	}
}

func experiment(expName, ns string, mutate func(*tuningv1beta1.Experiment)) *tuningv1beta1.Experiment {
	e := validExperiment(expName, ns)
	mutate(e)
	return e
}

func param(e *tuningv1beta1.Experiment, i int) *tuningv1beta1.FeasibleSpace {
	return &e.Spec.Parameters[i].FeasibleSpace
}

// values returns n distinct numbers as strings.
func values(n int) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = strconv.Itoa(i)
	}
	return out
}

func parameters(n int) []tuningv1beta1.ParameterSpec {
	out := make([]tuningv1beta1.ParameterSpec, n)
	for i := range out {
		out[i] = tuningv1beta1.ParameterSpec{Name: fmt.Sprintf("p%d", i), ParameterType: tuningv1beta1.ParameterTypeDouble,
			FeasibleSpace: tuningv1beta1.FeasibleSpace{Min: "0", Max: "1"}}
	}
	return out
}

// The admission rules of the CRDs (limits.go and the markers) hold on the API server: an
// experiment at each limit is accepted, one past it is refused at once with the field and
// a message saying what to fix.
func TestExperimentAdmission(t *testing.T) {
	env := needEnv(t)
	ns := env.Namespace(t)
	cases := []struct {
		name      string
		exp       *tuningv1beta1.Experiment
		wantInMsg []string // nil: accepted
	}{
		{name: "valid", exp: validExperiment("valid", ns)},
		{name: "name at the limit", exp: validExperiment(name(tuningv1beta1.MaxExperimentNameLength), ns)},
		{name: "name past the limit", exp: validExperiment(name(tuningv1beta1.MaxExperimentNameLength+1), ns),
			wantInMsg: []string{"name must be at most " + strconv.Itoa(tuningv1beta1.MaxExperimentNameLength) + " characters"}},
		{name: "name not a DNS-1035 label", exp: validExperiment("1st-experiment", ns), wantInMsg: []string{"DNS-1035"}},

		{name: "objective missing", exp: experiment("no-objective", ns, func(e *tuningv1beta1.Experiment) { e.Spec.Objective = nil }),
			wantInMsg: []string{"spec.objective", "Required value"}},
		{name: "objective type unknown", exp: experiment("objective-type", ns, func(e *tuningv1beta1.Experiment) { e.Spec.Objective.Type = "best" }),
			wantInMsg: []string{"spec.objective.type", `"best"`, `"minimize", "maximize"`}},
		{name: "objective type missing", exp: experiment("no-objective-type", ns, func(e *tuningv1beta1.Experiment) { e.Spec.Objective.Type = "" }),
			wantInMsg: []string{"spec.objective.type", "Required value"}},
		{name: "objective metric missing", exp: experiment("no-metric", ns, func(e *tuningv1beta1.Experiment) { e.Spec.Objective.ObjectiveMetricName = "" }),
			wantInMsg: []string{"spec.objective.objectiveMetricName", "Required value"}},
		{name: "objective metric repeated", exp: experiment("metric-twice", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.Objective.AdditionalMetricNames = []string{"accuracy"}
		}), wantInMsg: []string{"spec.objective", "additionalMetricNames must not repeat objectiveMetricName"}},
		{name: "metric strategy unknown", exp: experiment("strategy", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.Objective.MetricStrategies = []tuningv1beta1.MetricStrategy{{Name: "loss", Value: "mean"}}
		}), wantInMsg: []string{"spec.objective.metricStrategies[0].value", `"min", "max", "latest"`}},

		{name: "algorithm missing", exp: experiment("no-algorithm", ns, func(e *tuningv1beta1.Experiment) { e.Spec.Algorithm = nil }),
			wantInMsg: []string{"spec.algorithm", "Required value"}},
		{name: "algorithm name not a name", exp: experiment("algorithm-name", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.Algorithm.AlgorithmName = "Random Search"
		}), wantInMsg: []string{"spec.algorithm.algorithmName", "should match"}},

		{name: "parameters at the limit", exp: experiment("params-max", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.Parameters = parameters(tuningv1beta1.MaxParameters)
			e.Spec.TrialTemplate.TrialParameters = []tuningv1beta1.TrialParameterSpec{{Name: "learningRate", Reference: "p0"}}
		})},
		{name: "parameters past the limit", exp: experiment("params-past", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.Parameters = parameters(tuningv1beta1.MaxParameters + 1)
		}), wantInMsg: []string{"spec.parameters", "must have at most " + strconv.Itoa(tuningv1beta1.MaxParameters) + " items"}},
		{name: "no search space", exp: experiment("no-params", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.Parameters = nil
			e.Spec.TrialTemplate.TrialParameters = nil
		}), wantInMsg: []string{"set spec.parameters (the search space), or spec.nasConfig"}},
		{name: "NAS without parameters", exp: experiment("nas", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.Parameters = nil
			e.Spec.TrialTemplate.TrialParameters = nil
			e.Spec.Algorithm.AlgorithmName = "enas"
			e.Spec.NasConfig = &tuningv1beta1.NasConfig{
				GraphConfig: tuningv1beta1.GraphConfig{NumLayers: ptr.To[int32](8), InputSizes: []int32{32, 3}, OutputSizes: []int32{10}},
				Operations: []tuningv1beta1.Operation{{OperationType: "convolution", Parameters: []tuningv1beta1.ParameterSpec{
					{Name: "filter_size", ParameterType: tuningv1beta1.ParameterTypeCategorical, FeasibleSpace: tuningv1beta1.FeasibleSpace{List: []string{"3", "5"}}},
				}}},
			}
		})},
		{name: "NAS input sizes repeat (an image)", exp: nasExperiment("nas-image", ns, func(n *tuningv1beta1.NasConfig) {
			n.GraphConfig.InputSizes = []int32{32, 32, 3}
		})},
		{name: "NAS input size zero", exp: nasExperiment("nas-in-zero", ns, func(n *tuningv1beta1.NasConfig) {
			n.GraphConfig.InputSizes = []int32{32, 0, 3}
		}), wantInMsg: []string{"spec.nasConfig.graphConfig.inputSizes[1]", "greater than or equal to 1"}},
		{name: "NAS output size negative", exp: nasExperiment("nas-out-neg", ns, func(n *tuningv1beta1.NasConfig) {
			n.GraphConfig.OutputSizes = []int32{-10}
		}), wantInMsg: []string{"spec.nasConfig.graphConfig.outputSizes[0]", "greater than or equal to 1"}},
		{name: "NAS zero layers", exp: nasExperiment("nas-layers", ns, func(n *tuningv1beta1.NasConfig) {
			n.GraphConfig.NumLayers = ptr.To[int32](0)
		}), wantInMsg: []string{"spec.nasConfig.graphConfig.numLayers", "greater than or equal to 1"}},
		{name: "NAS no operations", exp: nasExperiment("nas-no-ops", ns, func(n *tuningv1beta1.NasConfig) {
			n.Operations = []tuningv1beta1.Operation{}
		}), wantInMsg: []string{"spec.nasConfig", "operations must list at least one operation"}},
		{name: "NAS operation parameter checked as in HPO", exp: nasExperiment("nas-op-param", ns, func(n *tuningv1beta1.NasConfig) {
			n.Operations[0].Parameters[0].FeasibleSpace.List = nil
		}), wantInMsg: []string{"spec.nasConfig.operations[0].parameters[0]"}},
		{name: "parameter name with a brace", exp: experiment("param-brace", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.Parameters[3].Name = "${opt}"
		}), wantInMsg: []string{"spec.parameters[3].name", "should match"}},
		{name: "parameter type unknown", exp: experiment("param-type", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.Parameters[0].ParameterType = "float"
		}), wantInMsg: []string{"spec.parameters[0].parameterType", `"double", "int", "discrete", "categorical"`}},
		{name: "double without max", exp: experiment("no-max", ns, func(e *tuningv1beta1.Experiment) { param(e, 0).Max = "" }),
			wantInMsg: []string{"spec.parameters[0]", "an int or double parameter needs feasibleSpace.min and feasibleSpace.max"}},
		{name: "double with a list", exp: experiment("double-list", ns, func(e *tuningv1beta1.Experiment) { param(e, 0).List = []string{"0.1"} }),
			wantInMsg: []string{"spec.parameters[0]", "feasibleSpace.list is for discrete and categorical parameters"}},
		{name: "double bound not a number", exp: experiment("double-nan", ns, func(e *tuningv1beta1.Experiment) { param(e, 0).Min = "small" }),
			wantInMsg: []string{"spec.parameters[0]", "min, max and step of a double parameter must be numbers"}},
		{name: "double in exponent notation", exp: experiment("double-exp", ns, func(e *tuningv1beta1.Experiment) {
			param(e, 0).Min, param(e, 0).Max, param(e, 0).Step = "1e-4", "+.5", "5."
		})},
		{name: "int bound not an integer", exp: experiment("int-frac", ns, func(e *tuningv1beta1.Experiment) { param(e, 1).Max = "5.5" }),
			wantInMsg: []string{"spec.parameters[1]", "min, max and step of an int parameter must be integers"}},
		{name: "min above max", exp: experiment("min-max", ns, func(e *tuningv1beta1.Experiment) { param(e, 0).Min = "0.5" }),
			wantInMsg: []string{"spec.parameters[0]", "feasibleSpace.min must not exceed feasibleSpace.max"}},
		{name: "int min above max", exp: experiment("int-min-max", ns, func(e *tuningv1beta1.Experiment) { param(e, 1).Min = "10" }),
			wantInMsg: []string{"spec.parameters[1]", "feasibleSpace.min must not exceed feasibleSpace.max"}},
		{name: "min equal to max", exp: experiment("min-eq-max", ns, func(e *tuningv1beta1.Experiment) { param(e, 1).Min, param(e, 1).Max = "1", "1" })},
		{name: "step zero", exp: experiment("step-zero", ns, func(e *tuningv1beta1.Experiment) { param(e, 1).Step = "0" }),
			wantInMsg: []string{"spec.parameters[1]", "feasibleSpace.step must be greater than 0"}},
		{name: "negative step", exp: experiment("step-neg", ns, func(e *tuningv1beta1.Experiment) { param(e, 0).Step = "-0.01" }),
			wantInMsg: []string{"spec.parameters[0]", "feasibleSpace.step must be greater than 0"}},
		{name: "logUniform from 0", exp: experiment("log-zero", ns, func(e *tuningv1beta1.Experiment) {
			param(e, 0).Min, param(e, 0).Distribution = "0", tuningv1beta1.DistributionLogUniform
		}), wantInMsg: []string{"spec.parameters[0]", "feasibleSpace.min must be greater than 0"}},
		{name: "logUniform from a positive min", exp: experiment("log-ok", ns, func(e *tuningv1beta1.Experiment) {
			param(e, 0).Distribution = tuningv1beta1.DistributionLogUniform
		})},
		{name: "distribution unknown", exp: experiment("dist", ns, func(e *tuningv1beta1.Experiment) { param(e, 0).Distribution = "gaussian" }),
			wantInMsg: []string{"spec.parameters[0].feasibleSpace.distribution", `"uniform", "logUniform", "normal", "logNormal"`}},
		{name: "categorical without values", exp: experiment("cat-empty", ns, func(e *tuningv1beta1.Experiment) { param(e, 3).List = nil }),
			wantInMsg: []string{"spec.parameters[3]", "a discrete or categorical parameter needs its values in feasibleSpace.list"}},
		{name: "categorical with bounds", exp: experiment("cat-min", ns, func(e *tuningv1beta1.Experiment) { param(e, 3).Min = "0" }),
			wantInMsg: []string{"spec.parameters[3]", "feasibleSpace.min, max and step are for int and double parameters"}},
		{name: "list at the limit", exp: experiment("list-max", ns, func(e *tuningv1beta1.Experiment) {
			param(e, 2).List = values(tuningv1beta1.MaxFeasibleListItems)
		})},
		{name: "list past the limit", exp: experiment("list-past", ns, func(e *tuningv1beta1.Experiment) {
			param(e, 3).List = values(tuningv1beta1.MaxFeasibleListItems + 1)
		}), wantInMsg: []string{"spec.parameters[3].feasibleSpace.list", "must have at most " + strconv.Itoa(tuningv1beta1.MaxFeasibleListItems) + " items"}},
		{name: "list value twice", exp: experiment("list-dup", ns, func(e *tuningv1beta1.Experiment) { param(e, 3).List = []string{"sgd", "sgd"} }),
			wantInMsg: []string{"spec.parameters[3].feasibleSpace.list", "Duplicate value"}},

		{name: "parallelTrialCount at the limit", exp: experiment("parallel-max", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.ParallelTrialCount = ptr.To[int32](tuningv1beta1.MaxParallelTrialCount)
			e.Spec.MaxTrialCount = ptr.To[int32](tuningv1beta1.MaxTrialCount)
			e.Spec.MaxFailedTrialCount = ptr.To[int32](tuningv1beta1.MaxTrialCount)
		})},
		{name: "parallelTrialCount past the limit", exp: experiment("parallel-past", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.ParallelTrialCount = ptr.To[int32](tuningv1beta1.MaxParallelTrialCount + 1)
			e.Spec.MaxTrialCount = nil
		}), wantInMsg: []string{"spec.parallelTrialCount", "less than or equal to " + strconv.Itoa(tuningv1beta1.MaxParallelTrialCount)}},
		{name: "parallelTrialCount 0", exp: experiment("parallel-zero", ns, func(e *tuningv1beta1.Experiment) { e.Spec.ParallelTrialCount = ptr.To[int32](0) }),
			wantInMsg: []string{"spec.parallelTrialCount", "greater than or equal to 1"}},
		{name: "maxTrialCount past the limit", exp: experiment("max-past", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.MaxTrialCount = ptr.To[int32](tuningv1beta1.MaxTrialCount + 1)
		}), wantInMsg: []string{"spec.maxTrialCount", "less than or equal to " + strconv.Itoa(tuningv1beta1.MaxTrialCount)}},
		{name: "maxFailedTrialCount negative", exp: experiment("failed-neg", ns, func(e *tuningv1beta1.Experiment) { e.Spec.MaxFailedTrialCount = ptr.To[int32](-1) }),
			wantInMsg: []string{"spec.maxFailedTrialCount", "greater than or equal to 0"}},
		{name: "maxFailedTrialCount above maxTrialCount", exp: experiment("failed-above", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.MaxFailedTrialCount = ptr.To[int32](13)
		}), wantInMsg: []string{"maxFailedTrialCount must not exceed maxTrialCount"}},
		{name: "default parallelTrialCount above maxTrialCount", exp: experiment("parallel-above", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.MaxTrialCount, e.Spec.MaxFailedTrialCount = ptr.To[int32](2), nil
		}), wantInMsg: []string{"parallelTrialCount (default 3) must not exceed maxTrialCount"}},
		{name: "resumePolicy unknown", exp: experiment("resume", ns, func(e *tuningv1beta1.Experiment) { e.Spec.ResumePolicy = "Sometimes" }),
			wantInMsg: []string{"spec.resumePolicy", `"Never", "LongRunning", "FromVolume"`}},

		{name: "trial template missing", exp: experiment("no-template", ns, func(e *tuningv1beta1.Experiment) { e.Spec.TrialTemplate = nil }),
			wantInMsg: []string{"spec.trialTemplate", "Required value"}},
		{name: "trialSpec and configMap", exp: experiment("two-sources", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.TrialTemplate.ConfigMap = &tuningv1beta1.ConfigMapSource{ConfigMapName: "templates", ConfigMapNamespace: ns, TemplatePath: "job.yaml"}
		}), wantInMsg: []string{"spec.trialTemplate", "set exactly one of trialSpec"}},
		{name: "neither trialSpec nor configMap", exp: experiment("no-source", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.TrialTemplate.TrialSpec = nil
		}), wantInMsg: []string{"spec.trialTemplate", "set exactly one of trialSpec"}},
		{name: "configMap source", exp: experiment("configmap", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.TrialTemplate.TrialSpec = nil
			e.Spec.TrialTemplate.ConfigMap = &tuningv1beta1.ConfigMapSource{ConfigMapName: "trial-templates", ConfigMapNamespace: ns, TemplatePath: "pytorch.yaml"}
		})},
		{name: "configMap without a key", exp: experiment("configmap-key", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.TrialTemplate.TrialSpec = nil
			e.Spec.TrialTemplate.ConfigMap = &tuningv1beta1.ConfigMapSource{ConfigMapName: "trial-templates", ConfigMapNamespace: ns}
		}), wantInMsg: []string{"spec.trialTemplate.configMap.templatePath", "Required value"}},
		{name: "trialSpec without a kind", exp: experiment("no-kind", ns, func(e *tuningv1beta1.Experiment) {
			delete(e.Spec.TrialTemplate.TrialSpec.Object, "kind")
		}), wantInMsg: []string{"spec.trialTemplate.trialSpec.kind", "Required value"}},
		{name: "trialSpec with a name", exp: experiment("job-name", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.TrialTemplate.TrialSpec.SetName("my-job")
		}), wantInMsg: []string{"spec.trialTemplate", "trialSpec.metadata.name must be omitted"}},
		{name: "trialSpec with labels", exp: experiment("job-labels", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.TrialTemplate.TrialSpec.SetLabels(map[string]string{"team": "ml"})
		})},
		{name: "primary container missing", exp: experiment("no-primary", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.TrialTemplate.PrimaryContainerName = ""
		}), wantInMsg: []string{"spec.trialTemplate.primaryContainerName", "Required value"}},
		{name: "trial parameter referencing nothing", exp: experiment("bad-ref", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.TrialTemplate.TrialParameters[0].Reference = "learning_rate"
		}), wantInMsg: []string{"every trialTemplate.trialParameters[*].reference must name a parameter of spec.parameters"}},
		{name: "trial parameter name with a brace", exp: experiment("tp-brace", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.TrialTemplate.TrialParameters[0].Name = "lr}"
		}), wantInMsg: []string{"spec.trialTemplate.trialParameters[0].name", "should match"}},

		{name: "File collector", exp: experiment("file-collector", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.MetricsCollectorSpec = &tuningv1beta1.MetricsCollectorSpec{
				Source: &tuningv1beta1.SourceSpec{
					FileSystemPath: &tuningv1beta1.FileSystemPath{Path: "/katib/mnist.log", Kind: tuningv1beta1.FileKind, Format: tuningv1beta1.TextFormat},
					Filter:         &tuningv1beta1.FilterSpec{MetricsFormat: []string{`([\w|-]+)\s*=\s*([+-]?\d*(\.\d+)?)`}},
				},
				Collector: &tuningv1beta1.CollectorSpec{Kind: tuningv1beta1.FileCollector},
			}
		})},
		{name: "File collector on a directory", exp: experiment("file-dir", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.MetricsCollectorSpec = &tuningv1beta1.MetricsCollectorSpec{
				Source:    &tuningv1beta1.SourceSpec{FileSystemPath: &tuningv1beta1.FileSystemPath{Path: "/katib", Kind: tuningv1beta1.DirectoryKind}},
				Collector: &tuningv1beta1.CollectorSpec{Kind: tuningv1beta1.FileCollector},
			}
		}), wantInMsg: []string{"spec.metricsCollectorSpec", "set source.fileSystemPath.kind to File"}},
		{name: "TensorFlowEvent collector on a file", exp: experiment("tfevent-file", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.MetricsCollectorSpec = &tuningv1beta1.MetricsCollectorSpec{
				Source:    &tuningv1beta1.SourceSpec{FileSystemPath: &tuningv1beta1.FileSystemPath{Path: "/logs/events", Kind: tuningv1beta1.FileKind}},
				Collector: &tuningv1beta1.CollectorSpec{Kind: tuningv1beta1.TfEventCollector},
			}
		}), wantInMsg: []string{"spec.metricsCollectorSpec", "set source.fileSystemPath.kind to Directory"}},
		{name: "relative metrics path", exp: experiment("relative-path", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.MetricsCollectorSpec = &tuningv1beta1.MetricsCollectorSpec{
				Source: &tuningv1beta1.SourceSpec{FileSystemPath: &tuningv1beta1.FileSystemPath{Path: "mnist.log", Kind: tuningv1beta1.FileKind}},
			}
		}), wantInMsg: []string{"spec.metricsCollectorSpec.source.fileSystemPath.path", "should match"}},
		{name: "filter on a JSON file", exp: experiment("json-filter", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.MetricsCollectorSpec = &tuningv1beta1.MetricsCollectorSpec{
				Source: &tuningv1beta1.SourceSpec{
					FileSystemPath: &tuningv1beta1.FileSystemPath{Path: "/katib/metrics.json", Kind: tuningv1beta1.FileKind, Format: tuningv1beta1.JsonFormat},
					Filter:         &tuningv1beta1.FilterSpec{MetricsFormat: []string{`(\w+)=(\d+)`}},
				},
				Collector: &tuningv1beta1.CollectorSpec{Kind: tuningv1beta1.FileCollector},
			}
		}), wantInMsg: []string{"spec.metricsCollectorSpec", "a JSON metrics file is read without a filter"}},
		{name: "filter without two groups", exp: experiment("filter-groups", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.MetricsCollectorSpec = &tuningv1beta1.MetricsCollectorSpec{
				Source: &tuningv1beta1.SourceSpec{Filter: &tuningv1beta1.FilterSpec{MetricsFormat: []string{`accuracy=(\d+)`}}},
			}
		}), wantInMsg: []string{"spec.metricsCollectorSpec.source.filter.metricsFormat", "each metricsFormat needs two groups"}},
		{name: "Custom collector without a container", exp: experiment("custom-none", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.MetricsCollectorSpec = &tuningv1beta1.MetricsCollectorSpec{Collector: &tuningv1beta1.CollectorSpec{Kind: tuningv1beta1.CustomCollector}}
		}), wantInMsg: []string{"spec.metricsCollectorSpec.collector", "customCollector is the container of the Custom collector"}},
		{name: "Custom collector", exp: experiment("custom", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.MetricsCollectorSpec = &tuningv1beta1.MetricsCollectorSpec{Collector: &tuningv1beta1.CollectorSpec{
				Kind: tuningv1beta1.CustomCollector, CustomCollector: &corev1.Container{Name: "collector", Image: img},
			}}
		})},
		{name: "collector kind unknown", exp: experiment("collector-kind", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.MetricsCollectorSpec = &tuningv1beta1.MetricsCollectorSpec{Collector: &tuningv1beta1.CollectorSpec{Kind: "Stdout"}}
		}), wantInMsg: []string{"spec.metricsCollectorSpec.collector.kind", `"StdOut"`}},
		{name: "early stopping", exp: experiment("early", ns, func(e *tuningv1beta1.Experiment) {
			e.Spec.EarlyStopping = &tuningv1beta1.EarlyStoppingSpec{AlgorithmName: "medianstop",
				AlgorithmSettings: []tuningv1beta1.EarlyStoppingSetting{{Name: "min_trials_required", Value: "2"}}}
		})},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := env.Client.Create(context.Background(), tc.exp)
			checkAdmission(t, err, tc.wantInMsg)
		})
	}
}

func checkAdmission(t *testing.T, err error, wantInMsg []string) {
	t.Helper()
	if wantInMsg == nil {
		if err != nil {
			t.Fatalf("object within the limits refused: %v", err)
		}
		return
	}
	if err == nil {
		t.Fatalf("object past a limit accepted")
	}
	if !apierrors.IsInvalid(err) {
		t.Fatalf("want an Invalid error from the API server, got %v", err)
	}
	for _, want := range wantInMsg {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err.Error(), want)
		}
	}
}

// The API server sets Katib's static defaults, so the controller and Katib's SDK read
// them back as Katib's webhook would have set them.
func TestExperimentDefaults(t *testing.T) {
	env := needEnv(t)
	exp := validExperiment("defaults", env.Namespace(t))
	exp.Spec.MetricsCollectorSpec = &tuningv1beta1.MetricsCollectorSpec{Collector: &tuningv1beta1.CollectorSpec{}}
	if err := env.Client.Create(context.Background(), exp); err != nil {
		t.Fatal(err)
	}
	got := &tuningv1beta1.Experiment{}
	if err := env.Client.Get(context.Background(), client.ObjectKeyFromObject(exp), got); err != nil {
		t.Fatal(err)
	}
	if got.Spec.ParallelTrialCount == nil || *got.Spec.ParallelTrialCount != tuningv1beta1.DefaultTrialParallelCount {
		t.Errorf("parallelTrialCount = %v, want %d", got.Spec.ParallelTrialCount, tuningv1beta1.DefaultTrialParallelCount)
	}
	if got.Spec.ResumePolicy != tuningv1beta1.DefaultResumePolicy {
		t.Errorf("resumePolicy = %q, want %q", got.Spec.ResumePolicy, tuningv1beta1.DefaultResumePolicy)
	}
	if k := got.Spec.MetricsCollectorSpec.Collector.Kind; k != tuningv1beta1.StdOutCollector {
		t.Errorf("metricsCollectorSpec.collector.kind = %q, want %q", k, tuningv1beta1.StdOutCollector)
	}
	if got.Spec.TrialTemplate.TrialSpec.GetKind() != "Job" || got.Spec.TrialTemplate.TrialSpec.Object["spec"] == nil {
		t.Errorf("trialSpec not stored as sent: %v", got.Spec.TrialTemplate.TrialSpec.Object)
	}
}

// As in Katib, only the trial budget of an existing experiment may change.
func TestExperimentSpecIsImmutableButTheBudget(t *testing.T) {
	env := needEnv(t)
	ctx := context.Background()
	exp := validExperiment("immutable", env.Namespace(t))
	if err := env.Client.Create(ctx, exp); err != nil {
		t.Fatal(err)
	}
	budget := exp.DeepCopy()
	budget.Spec.MaxTrialCount = ptr.To[int32](20)
	budget.Spec.ParallelTrialCount = ptr.To[int32](5)
	if err := env.Client.Update(ctx, budget); err != nil {
		t.Fatalf("raising the trial budget refused: %v", err)
	}
	for _, tc := range []struct {
		field  string
		mutate func(*tuningv1beta1.Experiment)
	}{
		{"parameters", func(e *tuningv1beta1.Experiment) { e.Spec.Parameters[0].FeasibleSpace.Max = "0.04" }},
		{"objective", func(e *tuningv1beta1.Experiment) { e.Spec.Objective.Type = tuningv1beta1.ObjectiveTypeMinimize }},
		{"algorithm", func(e *tuningv1beta1.Experiment) { e.Spec.Algorithm.AlgorithmName = "grid" }},
		{"trialTemplate", func(e *tuningv1beta1.Experiment) { e.Spec.TrialTemplate.Retain = true }},
		{"resumePolicy", func(e *tuningv1beta1.Experiment) { e.Spec.ResumePolicy = tuningv1beta1.LongRunning }},
	} {
		t.Run(tc.field, func(t *testing.T) {
			cur := &tuningv1beta1.Experiment{}
			if err := env.Client.Get(ctx, client.ObjectKeyFromObject(exp), cur); err != nil {
				t.Fatal(err)
			}
			tc.mutate(cur)
			checkAdmission(t, env.Client.Update(ctx, cur), []string{"spec." + tc.field, "cannot change once the experiment exists"})
		})
	}
}

// Trial and Suggestion names are bounded like the experiment's, and a trial's run must
// be an object with apiVersion and kind.
func TestTrialAndSuggestionAdmission(t *testing.T) {
	env := needEnv(t)
	ns := env.Namespace(t)
	trial := func(trialName string, mutate func(*tuningv1beta1.Trial)) *tuningv1beta1.Trial {
		tr := &tuningv1beta1.Trial{
			ObjectMeta: metav1.ObjectMeta{Name: trialName, Namespace: ns},
			Spec: tuningv1beta1.TrialSpec{
				Objective:            validExperiment("x", ns).Spec.Objective,
				ParameterAssignments: []tuningv1beta1.ParameterAssignment{{Name: "lr", Value: "0.02"}},
				RunSpec:              jobTemplate(),
				PrimaryContainerName: "training-container",
				EarlyStoppingRules:   []tuningv1beta1.EarlyStoppingRule{{Name: "accuracy", Value: "0.5", Comparison: tuningv1beta1.ComparisonTypeLess, StartStep: 4}},
			},
		}
		tr.Spec.RunSpec.SetName(trialName)
		tr.Spec.RunSpec.SetNamespace(ns)
		mutate(tr)
		return tr
	}
	suggestion := func(sName string, requests int32) *tuningv1beta1.Suggestion {
		return &tuningv1beta1.Suggestion{
			ObjectMeta: metav1.ObjectMeta{Name: sName, Namespace: ns},
			Spec:       tuningv1beta1.SuggestionSpec{Algorithm: &tuningv1beta1.AlgorithmSpec{AlgorithmName: "random"}, Requests: requests},
		}
	}
	maxTrial := name(tuningv1beta1.MaxExperimentNameLength) + "-" + strings.Repeat("x", tuningv1beta1.TrialNameSuffixLength)
	cases := []struct {
		name      string
		obj       client.Object
		wantInMsg []string
	}{
		{name: "trial name of the longest experiment", obj: trial(maxTrial, func(*tuningv1beta1.Trial) {})},
		{name: "trial name past the limit", obj: trial(name(tuningv1beta1.MaxTrialNameLength+1), func(*tuningv1beta1.Trial) {}),
			wantInMsg: []string{"name must be at most " + strconv.Itoa(tuningv1beta1.MaxTrialNameLength) + " characters"}},
		{name: "run without apiVersion", obj: trial("no-api-version", func(tr *tuningv1beta1.Trial) { delete(tr.Spec.RunSpec.Object, "apiVersion") }),
			wantInMsg: []string{"spec.runSpec.apiVersion", "Required value"}},
		{name: "early stopping comparison unknown", obj: trial("comparison", func(tr *tuningv1beta1.Trial) {
			tr.Spec.EarlyStoppingRules[0].Comparison = "below"
		}), wantInMsg: []string{"spec.earlyStoppingRules[0].comparison", `"equal", "less", "greater"`}},
		{name: "suggestion at the limit", obj: suggestion(name(tuningv1beta1.MaxExperimentNameLength), tuningv1beta1.MaxTrialCount)},
		{name: "suggestion requests past the limit", obj: suggestion("requests", tuningv1beta1.MaxTrialCount+1),
			wantInMsg: []string{"spec.requests", "less than or equal to " + strconv.Itoa(tuningv1beta1.MaxTrialCount)}},
		{name: "suggestion name past the limit", obj: suggestion(name(tuningv1beta1.MaxExperimentNameLength+1), 1),
			wantInMsg: []string{"name must be at most " + strconv.Itoa(tuningv1beta1.MaxExperimentNameLength) + " characters"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			checkAdmission(t, env.Client.Create(context.Background(), tc.obj), tc.wantInMsg)
		})
	}
}

// Every upstream example applies unchanged, as `kubectl create` sends it, and is stored
// with nothing pruned.
func TestConformanceExamplesApplyUnchanged(t *testing.T) {
	env := needEnv(t)
	for _, f := range conformance.Files(t, "tuning/*.yaml") {
		t.Run(f[strings.LastIndex(f, "/")+1:], func(t *testing.T) {
			for _, u := range conformance.Objects(t, f) {
				if u.GetNamespace() == "" {
					u.SetNamespace(env.Namespace(t))
				} else {
					ensureNamespace(t, u.GetNamespace())
				}
				env.CreateAsUser(t, u)
			}
		})
	}
}

func ensureNamespace(t *testing.T, nsName string) {
	err := env.Client.Create(context.Background(), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: nsName}})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		t.Fatal(err)
	}
}

// nasExperiment is a valid enas experiment changed by edit.
func nasExperiment(name, ns string, edit func(*tuningv1beta1.NasConfig)) *tuningv1beta1.Experiment {
	return experiment(name, ns, func(e *tuningv1beta1.Experiment) {
		e.Spec.Parameters = nil
		e.Spec.TrialTemplate.TrialParameters = nil
		e.Spec.Algorithm.AlgorithmName = "enas"
		e.Spec.NasConfig = &tuningv1beta1.NasConfig{
			GraphConfig: tuningv1beta1.GraphConfig{NumLayers: ptr.To[int32](2), InputSizes: []int32{8, 8, 1}, OutputSizes: []int32{10}},
			Operations: []tuningv1beta1.Operation{{OperationType: "convolution", Parameters: []tuningv1beta1.ParameterSpec{
				{Name: "filter_size", ParameterType: tuningv1beta1.ParameterTypeCategorical, FeasibleSpace: tuningv1beta1.FeasibleSpace{List: []string{"3", "5"}}},
			}}},
		}
		edit(e.Spec.NasConfig)
	})
}
