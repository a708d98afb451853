package controller_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"sigs.k8s.io/controller-runtime/pkg/client"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/controller"
	"github.com/kfup/kfup/components/tuning/suggest"
	"github.com/kfup/kfup/internal/conformance"
)

// playNAS plays the cluster for every run not finished: a primary pod whose log is what
// logOf says for the trial, then the run's success. It records each Job's primary
// command in cmds (Jobs go when their trials end).
func playNAS(t *testing.T, ctx context.Context, ns string, logs *fakeLogs, cmds map[string]string, logOf func(*tuningv1beta1.Trial) string) {
	for _, u := range unfinished(ctx, ns) {
		tr := u.trial
		containers, _, _ := unstructured.NestedSlice(u.run.Object, "spec", "template", "spec", "containers")
		for _, c := range containers {
			if c := c.(map[string]any); c["name"] == tr.Spec.PrimaryContainerName {
				cmd, _, _ := unstructured.NestedStringSlice(c, "command")
				cmds[tr.Name] = strings.Join(cmd, " ")
			}
		}
		pod := &corev1.Pod{
			ObjectMeta: metav1.ObjectMeta{Name: tr.Name + "-pod", Namespace: ns, Labels: map[string]string{tuningv1beta1.LabelTrialName: tr.Name}},
			Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: tr.Spec.PrimaryContainerName, Image: "busybox"}}},
		}
		if err := env.Client.Create(ctx, pod); err != nil && !apierrors.IsAlreadyExists(err) {
			t.Errorf("create pod: %v", err)
			continue
		}
		logs.set(ns, pod.Name, tr.Spec.PrimaryContainerName, logOf(tr))
		if err := succeed(ctx, u.run); err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) {
			t.Errorf("set %s succeeded: %v", u.run.GetName(), err)
		}
	}
}

func nasAssignment(tr *tuningv1beta1.Trial, name string) string {
	for _, p := range tr.Spec.ParameterAssignments {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

func loadNAS(t *testing.T, file, ns string) client.ObjectKey {
	t.Helper()
	obj := conformance.Objects(t, "testdata/nas/"+file)[0]
	obj.SetNamespace(ns)
	env.CreateAsUser(t, obj)
	return client.ObjectKey{Namespace: ns, Name: obj.GetName()}
}

// TestENASExample applies upstream's enas-cpu example unchanged: its trials carry an
// architecture and nn_config in Katib's encoding (the trial's command gets them), each
// architecture within the example's 106 operations; the controller's state is kept in
// the Suggestion, rewritten by each request; the experiment runs to maxTrialCount with
// the best accuracy as currentOptimalTrial.
func TestENASExample(t *testing.T) {
	logs := start(t)
	ns := env.Namespace(t)
	key := loadNAS(t, "enas-cpu.yaml", ns)
	accuracy := func(tr *tuningv1beta1.Trial) float64 { // a reward of the architecture
		var arch [][]int
		if err := json.Unmarshal([]byte(strings.ReplaceAll(nasAssignment(tr, "architecture"), "'", `"`)), &arch); err != nil || len(arch) != 1 {
			return 0
		}
		return 0.1 + 0.8*float64(arch[0][0])/105
	}
	firstState := ""
	cmds := map[string]string{}
	exp := waitDone(t, key, func(ctx context.Context, _ *tuningv1beta1.Experiment) {
		sug := &tuningv1beta1.Suggestion{}
		if env.Client.Get(ctx, key, sug) == nil && firstState == "" && sug.Status.SuggestionCount > 0 {
			firstState = sug.Status.AlgorithmState
		}
		playNAS(t, ctx, ns, logs, cmds, func(tr *tuningv1beta1.Trial) string {
			return fmt.Sprintf("Epoch 1/1\nValidation-Accuracy=%.4f\n", accuracy(tr))
		})
	})
	if c := cond(exp, tuningv1beta1.ExperimentSucceeded); c == nil || c.Reason != tuningv1beta1.ExperimentMaxTrialsReachedReason {
		t.Fatalf("conditions %+v: want Succeeded/%s", exp.Status.Conditions, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	}
	trials := &tuningv1beta1.TrialList{}
	if err := env.Client.List(context.Background(), trials, client.InNamespace(ns)); err != nil {
		t.Fatal(err)
	}
	if len(trials.Items) != 3 || exp.Status.TrialsSucceeded != 3 {
		t.Fatalf("%d trials, %d succeeded: want 3", len(trials.Items), exp.Status.TrialsSucceeded)
	}
	best, bestName := -1.0, ""
	for i := range trials.Items {
		tr := &trials.Items[i]
		arch, cfg := nasAssignment(tr, "architecture"), nasAssignment(tr, "nn_config")
		var rows [][]int
		if err := json.Unmarshal([]byte(strings.ReplaceAll(arch, "'", `"`)), &rows); err != nil || len(rows) != 1 || len(rows[0]) != 1 || rows[0][0] < 0 || rows[0][0] >= 106 {
			t.Errorf("trial %s: architecture %q is not one layer of the 106 operations", tr.Name, arch)
			continue
		}
		var nn struct {
			NumLayers  int   `json:"num_layers"`
			InputSizes []int `json:"input_sizes"`
			Embedding  map[string]struct {
				Type string `json:"opt_type"`
			} `json:"embedding"`
		}
		if err := json.Unmarshal([]byte(strings.ReplaceAll(cfg, "'", `"`)), &nn); err != nil || nn.NumLayers != 1 || fmt.Sprint(nn.InputSizes) != "[32 32 3]" || len(nn.Embedding) != 1 {
			t.Errorf("trial %s: nn_config %q (%v)", tr.Name, cfg, err)
		}
		if _, ok := nn.Embedding[fmt.Sprint(rows[0][0])]; !ok {
			t.Errorf("trial %s: nn_config does not describe operation %d", tr.Name, rows[0][0])
		}
		cmd := cmds[tr.Name]
		if !strings.Contains(cmd, `--architecture="`+arch+`"`) || !strings.Contains(cmd, `--nn_config="`+cfg+`"`) {
			t.Errorf("trial %s: command %q does not carry its assignments", tr.Name, cmd)
		}
		if a := accuracy(tr); a > best {
			best, bestName = a, tr.Name
		}
	}
	if o := exp.Status.CurrentOptimalTrial; o.BestTrialName != bestName {
		t.Errorf("currentOptimalTrial %s, want %s (accuracy %.4f)", o.BestTrialName, bestName, best)
	}
	sug := &tuningv1beta1.Suggestion{}
	if err := env.Client.Get(context.Background(), key, sug); err != nil {
		t.Fatal(err)
	}
	state, err := base64.StdEncoding.DecodeString(sug.Status.AlgorithmState)
	if err != nil || len(state) < 8*54656 || len(sug.Status.AlgorithmState) > tuningv1beta1.MaxAlgorithmStateLength {
		t.Errorf("Suggestion's algorithmState: %d bytes (%v): want the controller's 54656 weights, within the bound", len(state), err)
	}
	if firstState == "" || firstState == sug.Status.AlgorithmState {
		t.Error("the controller's state was not rewritten by the third trial's request")
	}
}

// TestDARTSExample applies upstream's darts-cpu example unchanged: its one trial gets
// Katib's DARTS assignments byte for byte, in its command, and succeeds on the genotype
// it prints (a metric that is not a number, as upstream's trial reports).
func TestDARTSExample(t *testing.T) {
	logs := start(t)
	ns := env.Namespace(t)
	key := loadNAS(t, "darts-cpu.yaml", ns)
	cmds := map[string]string{}
	const genotype = "Genotype(normal=[[('max_pooling_3x3', 0)]], normal_concat=range(2, 3), reduce=[[('max_pooling_3x3', 0)]], reduce_concat=range(2, 3))"
	exp := waitDone(t, key, func(ctx context.Context, _ *tuningv1beta1.Experiment) {
		playNAS(t, ctx, ns, logs, cmds, func(*tuningv1beta1.Trial) string {
			return "Epoch 0\nBest-Genotype=" + genotype + "\n"
		})
	})
	if c := cond(exp, tuningv1beta1.ExperimentSucceeded); c == nil || c.Reason != tuningv1beta1.ExperimentMaxTrialsReachedReason {
		t.Fatalf("conditions %+v: want Succeeded/%s", exp.Status.Conditions, tuningv1beta1.ExperimentMaxTrialsReachedReason)
	}
	trials := &tuningv1beta1.TrialList{}
	if err := env.Client.List(context.Background(), trials, client.InNamespace(ns)); err != nil || len(trials.Items) != 1 {
		t.Fatalf("%d trials (%v): want 1", len(trials.Items), err)
	}
	tr := &trials.Items[0]
	want := map[string]string{
		"algorithm-settings": "{'num_epochs': '1', 'w_lr': 0.025, 'w_lr_min': 0.001, 'w_momentum': 0.9, 'w_weight_decay': 0.0003, 'w_grad_clip': 5.0, 'alpha_lr': 0.0003, 'alpha_weight_decay': 0.001, 'batch_size': 128, 'num_workers': 4, 'init_channels': '1', 'print_step': 50, 'num_nodes': '1', 'stem_multiplier': '1'}",
		"search-space":       "['max_pooling_3x3']",
		"num-layers":         "1",
	}
	cmd := cmds[tr.Name]
	for name, v := range want {
		if got := nasAssignment(tr, name); got != v {
			t.Errorf("%s = %q, want Katib's %q", name, got, v)
		}
		if !strings.Contains(cmd, `="`+v+`"`) {
			t.Errorf("command %q lacks %s", cmd, name)
		}
	}
	if m := tr.Status.Observation; m == nil || len(m.Metrics) == 0 || m.Metrics[0].Latest != genotype {
		t.Errorf("observation %+v: want the genotype as Best-Genotype's latest", m)
	}
}

// TestNASInvalid: what admission cannot check ends the experiment Failed with
// ExperimentInvalid naming the field, before any trial.
func TestNASInvalid(t *testing.T) {
	start(t)
	for _, tc := range []struct {
		name, file string
		edit       func(spec map[string]any)
		want       string
	}{
		{"enas unknown setting", "enas-cpu.yaml", func(spec map[string]any) {
			spec["algorithm"].(map[string]any)["algorithmSettings"] = []any{map[string]any{"name": "num_epochs", "value": "1"}}
		}, "unknown algorithmSettings num_epochs"},
		{"enas discrete parameter", "enas-cpu.yaml", func(spec map[string]any) {
			op := spec["nasConfig"].(map[string]any)["operations"].([]any)[0].(map[string]any)
			op["parameters"].([]any)[0].(map[string]any)["parameterType"] = "discrete"
		}, "nasConfig.operations[0].parameters[0] (filter_size)"},
		{"enas without output sizes", "enas-cpu.yaml", func(spec map[string]any) {
			delete(spec["nasConfig"].(map[string]any)["graphConfig"].(map[string]any), "outputSizes")
		}, "nasConfig.graphConfig.outputSizes"},
		{"darts setting out of range", "darts-cpu.yaml", func(spec map[string]any) {
			spec["algorithm"].(map[string]any)["algorithmSettings"] = []any{map[string]any{"name": "num_nodes", "value": "0"}}
		}, "algorithmSettings num_nodes"},
		{"darts filter sizes not a list", "darts-cpu.yaml", func(spec map[string]any) {
			op := spec["nasConfig"].(map[string]any)["operations"].([]any)[0].(map[string]any)
			op["parameters"] = []any{map[string]any{"name": "filter_size", "parameterType": "int", "feasibleSpace": map[string]any{"min": "3", "max": "5"}}}
		}, "first parameter's feasibleSpace.list"},
		{"a template that references no assignment", "darts-cpu.yaml", func(spec map[string]any) {
			tp := spec["trialTemplate"].(map[string]any)["trialParameters"].([]any)
			tp[0].(map[string]any)["reference"] = "learning_rate"
		}, "trialTemplate"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ns := env.Namespace(t)
			obj := conformance.Objects(t, "testdata/nas/"+tc.file)[0]
			obj.SetNamespace(ns)
			tc.edit(obj.Object["spec"].(map[string]any))
			env.CreateAsUser(t, obj)
			exp := waitDone(t, client.ObjectKey{Namespace: ns, Name: obj.GetName()}, nil)
			c := cond(exp, tuningv1beta1.ExperimentFailed)
			if c == nil || c.Reason != controller.ExperimentInvalidReason || !strings.Contains(c.Message, tc.want) {
				t.Fatalf("conditions %+v: want Failed/%s naming %q", exp.Status.Conditions, controller.ExperimentInvalidReason, tc.want)
			}
			trials := &tuningv1beta1.TrialList{}
			if err := env.Client.List(context.Background(), trials, client.InNamespace(ns)); err != nil || len(trials.Items) != 0 {
				t.Fatalf("an invalid experiment made %d trials (%v)", len(trials.Items), err)
			}
		})
	}
}

// TestENASResumesAfterRestart stops the manager once enas made its first two
// suggestions and starts another: the new manager goes on from the state the first left
// in the Suggestion. Its suggestions are replayed through the algorithm from that state
// and each history the new manager may have seen (the two trials ending in either order,
// or together): the trials it made equal one replay, where a manager starting afresh
// (from the experiment's seed) would draw the first two architectures again.
func TestENASResumesAfterRestart(t *testing.T) {
	ns := env.Namespace(t)
	obj := conformance.Objects(t, "testdata/nas/enas-cpu.yaml")[0]
	obj.SetNamespace(ns)
	if err := unstructured.SetNestedField(obj.Object, int64(4), "spec", "maxTrialCount"); err != nil {
		t.Fatal(err)
	}
	unstructured.RemoveNestedField(obj.Object, "spec", "objective", "goal")
	key := client.ObjectKey{Namespace: ns, Name: obj.GetName()}
	sug := &tuningv1beta1.Suggestion{}
	t.Run("first manager", func(t *testing.T) {
		start(t)
		env.CreateAsUser(t, obj)
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		for {
			if env.Client.Get(ctx, key, sug) == nil && sug.Status.SuggestionCount == 2 && len(unfinished(ctx, ns)) == 2 {
				return // both trials' Jobs exist; the manager stops with this subtest
			}
			select {
			case <-ctx.Done():
				t.Fatalf("no two trials running: %+v", sug.Status)
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	if t.Failed() {
		return
	}
	saved, err := base64.StdEncoding.DecodeString(sug.Status.AlgorithmState)
	if err != nil || len(saved) == 0 {
		t.Fatalf("no state in the Suggestion: %v", err)
	}
	first := sug.Status.Suggestions

	logs := start(t) // the second manager
	acc := map[string]float64{}
	cmds := map[string]string{}
	exp := waitDone(t, key, func(ctx context.Context, _ *tuningv1beta1.Experiment) {
		playNAS(t, ctx, ns, logs, cmds, func(tr *tuningv1beta1.Trial) string {
			var arch [][]int
			_ = json.Unmarshal([]byte(strings.ReplaceAll(nasAssignment(tr, "architecture"), "'", `"`)), &arch)
			acc[tr.Name] = 0.1 + 0.8*float64(arch[0][0])/105
			return fmt.Sprintf("Validation-Accuracy=%.4f\n", acc[tr.Name])
		})
	})
	if c := cond(exp, tuningv1beta1.ExperimentSucceeded); c == nil || exp.Status.TrialsSucceeded != 4 {
		t.Fatalf("conditions %+v, %d succeeded: want Succeeded with 4 trials", exp.Status.Conditions, exp.Status.TrialsSucceeded)
	}
	if err := env.Client.Get(context.Background(), key, sug); err != nil || len(sug.Status.Suggestions) != 4 {
		t.Fatalf("suggestions %d (%v)", len(sug.Status.Suggestions), err)
	}
	if sug.Status.Suggestions[0].Name != first[0].Name || sug.Status.Suggestions[1].Name != first[1].Name {
		t.Fatal("the second manager rewrote the first suggestions")
	}

	// replay what the second manager may have asked
	nas, err := controller.NasOf(exp.Spec.NasConfig)
	if err != nil {
		t.Fatal(err)
	}
	alg, err := suggest.CheckNAS("enas", nas, nil)
	if err != nil {
		t.Fatal(err)
	}
	hist := func(n int, done ...int) []suggest.Trial {
		var out []suggest.Trial
		for i, a := range sug.Status.Suggestions[:n] {
			tr := suggest.Trial{Name: a.Name, Assignments: map[string]string{}}
			for _, p := range a.ParameterAssignments {
				tr.Assignments[p.Name] = p.Value
			}
			if slices.Contains(done, i) {
				v, _ := strconv.ParseFloat(fmt.Sprintf("%.4f", acc[a.Name]), 64)
				tr.Value, tr.Done = &v, true
			}
			out = append(out, tr)
		}
		return out
	}
	ask := func(state []byte, trials []suggest.Trial, count int) suggest.NASResult {
		res, err := alg.Suggest(suggest.NASRequest{NAS: nas, Goal: suggest.Maximize, Trials: trials, Count: count, State: state})
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	archs := func(res ...suggest.NASResult) string {
		var out []string
		for _, r := range res {
			for _, s := range r.Suggestions {
				out = append(out, s.Assignments["architecture"])
			}
		}
		return strings.Join(out, " ")
	}
	got := nasAssignment(&tuningv1beta1.Trial{Spec: tuningv1beta1.TrialSpec{ParameterAssignments: sug.Status.Suggestions[2].ParameterAssignments}}, "architecture") + " " +
		nasAssignment(&tuningv1beta1.Trial{Spec: tuningv1beta1.TrialSpec{ParameterAssignments: sug.Status.Suggestions[3].ParameterAssignments}}, "architecture")
	var replays []string
	together := ask(saved, hist(2, 0, 1), 2)
	replays = append(replays, archs(together))
	for _, firstDone := range []int{0, 1} {
		one := ask(saved, hist(2, firstDone), 1)
		// the third trial is the one just suggested: put it in the history as pending
		h := append(hist(2, 0, 1), suggest.Trial{Name: sug.Status.Suggestions[2].Name, Assignments: one.Suggestions[0].Assignments})
		two := ask(one.State, h, 1)
		replays = append(replays, archs(one, two))
	}
	if !slices.Contains(replays, got) {
		t.Errorf("the second manager suggested %s; replays from the saved state give %q", got, replays)
	}
	before := nasAssignment(&tuningv1beta1.Trial{Spec: tuningv1beta1.TrialSpec{ParameterAssignments: first[0].ParameterAssignments}}, "architecture") + " " +
		nasAssignment(&tuningv1beta1.Trial{Spec: tuningv1beta1.TrialSpec{ParameterAssignments: first[1].ParameterAssignments}}, "architecture")
	// a manager starting afresh from the experiment's seed would draw the first two again
	t.Logf("before the restart: %s; after: %s (replays %q)", before, got, replays)
}
