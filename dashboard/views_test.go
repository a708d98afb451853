package dashboard

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	corev1 "k8s.io/api/core/v1"
	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	kubefake "k8s.io/client-go/kubernetes/fake"
	"sigs.k8s.io/controller-runtime/pkg/client"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
	"github.com/kfup/kfup/components/pipelines/ir"
	"github.com/kfup/kfup/components/pipelines/store"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	trainingv1 "github.com/kfup/kfup/components/training/api/v1"
	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/controller/dbmanager"
	"github.com/kfup/kfup/components/tuning/engine"
)

var t0 = metav1.NewTime(time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC))

func cond(typ string, at int) trainingv1.JobCondition {
	return trainingv1.JobCondition{Type: trainingv1.JobConditionType(typ), Status: corev1.ConditionTrue, Reason: "Job" + typ,
		LastTransitionTime: metav1.NewTime(t0.Add(time.Duration(at) * time.Second))}
}

func pytorchJob(name, state string) *trainingv1.PyTorchJob {
	j := &trainingv1.PyTorchJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", UID: types.UID("uid-" + name), CreationTimestamp: t0}}
	j.Spec.PyTorchReplicaSpecs = map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{
		"Master": {Replicas: new(int32(1)), RestartPolicy: trainingv1.RestartPolicyOnFailure},
		"Worker": {Replicas: new(int32(2)), RestartPolicy: trainingv1.RestartPolicyOnFailure},
	}
	j.Status.Conditions = []trainingv1.JobCondition{cond("Created", 0)}
	if state != "Created" {
		j.Status.Conditions = append(j.Status.Conditions, cond(state, 5))
	}
	j.Status.StartTime = &t0
	j.Status.ReplicaStatuses = map[trainingv1.ReplicaType]*trainingv1.ReplicaStatus{"Master": {Active: 1}, "Worker": {Active: 1, Failed: 1}}
	return j
}

func tfJob(name string) *trainingv1.TFJob {
	j := &trainingv1.TFJob{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: t0}}
	j.Spec.TFReplicaSpecs = map[trainingv1.ReplicaType]*trainingv1.ReplicaSpec{"Worker": {Replicas: new(int32(1))}}
	return j
}

func jobPod(job *trainingv1.PyTorchJob, typ, idx string, mutate func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: job.Name + "-" + typ + "-" + idx, Namespace: "default",
		Labels: map[string]string{trainingv1.JobNameLabel: job.Name, trainingv1.ReplicaTypeLabel: typ, trainingv1.ReplicaIndexLabel: idx,
			trainingv1.OperatorNameLabel: "pytorchjob-controller"},
		OwnerReferences: []metav1.OwnerReference{{APIVersion: "kubeflow.org/v1", Kind: "PyTorchJob", Name: job.Name, UID: job.UID, Controller: new(true)}}},
		Spec:   corev1.PodSpec{Containers: []corev1.Container{{Name: "pytorch", Image: "python"}}},
		Status: corev1.PodStatus{Phase: corev1.PodRunning}}
	if mutate != nil {
		mutate(p)
	}
	return p
}

func TestTrainingListAndJob(t *testing.T) {
	job := pytorchJob("mnist", "Running")
	oom := jobPod(job, "worker", "1", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodFailed
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "pytorch", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: "OOMKilled", ExitCode: 137}}}}
	})
	pull := jobPod(job, "worker", "0", func(p *corev1.Pod) {
		p.Status.Phase = corev1.PodPending
		p.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "pytorch", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: "ImagePullBackOff"}}}}
	})
	master := jobPod(job, "master", "0", nil)
	// a TFJob of the same name: its pods are not the PyTorchJob's
	stranger := jobPod(job, "worker", "9", func(p *corev1.Pod) { p.OwnerReferences[0].UID = "other" })
	ts := newTestServer(t, nil, []client.Object{job, tfJob("tf-small"), oom, pull, master, stranger}, WithClientset(kubefake.NewClientset(master)))

	list := ts.get("/ns/default/training")
	mustContain(t, list, "mnist", "PyTorchJob", "Running", "Master 1/1, Worker 1/2", "tf-small", "TFJob", "Pending",
		`href="/ns/default/training/PyTorchJob/mnist"`, `data-live="tfjobs.kubeflow.org pytorchjobs.kubeflow.org`)

	detail := ts.get("/ns/default/training/PyTorchJob/mnist")
	mustContain(t, detail, "OOMKilled (exit 137)", "ImagePullBackOff", "mnist-master-0", "master-0", "worker-1",
		"JobCreated", "JobRunning", `class="timeline"`, "OnFailure", `/ns/default/training/PyTorchJob/mnist/logs?pod=mnist-master-0&container=pytorch`)
	if strings.Contains(detail, "mnist-worker-9") {
		t.Error("the job's page lists a pod another object controls")
	}
	mustContain(t, ts.get("/ns/default/training/PyTorchJob/mnist?tab=yaml"), "kind: PyTorchJob", "pytorchReplicaSpecs:")

	logs := ts.get("/ns/default/training/PyTorchJob/mnist/logs?pod=mnist-master-0&container=pytorch")
	mustContain(t, logs, `<pre class="log"`, "fake logs")
	w := ts.do(httptest.NewRequest("GET", "/ns/default/training/PyTorchJob/mnist/logs?pod=mnist-worker-9", nil))
	if w.Code != http.StatusNotFound {
		t.Errorf("logs of a pod not the job's: %d, want 404", w.Code)
	}
	if w := ts.do(httptest.NewRequest("GET", "/ns/default/training/NoSuchJob/x", nil)); w.Code != http.StatusNotFound {
		t.Errorf("an unknown kind: %d, want 404", w.Code)
	}
}

func TestObjectEventsTab(t *testing.T) {
	job := pytorchJob("mnist", "Failed")
	evs := []client.Object{
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "a", Namespace: "default"}, Reason: "JobFailed", Message: "worker 1 OOMKilled",
			InvolvedObject: corev1.ObjectReference{Kind: "PyTorchJob", Name: "mnist"}, LastTimestamp: t0},
		&corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "b", Namespace: "default"}, Reason: "Unrelated",
			InvolvedObject: corev1.ObjectReference{Kind: "TFJob", Name: "mnist"}, LastTimestamp: t0},
	}
	ts := newTestServer(t, nil, append(evs, job))
	body := ts.get("/ns/default/training/PyTorchJob/mnist?tab=events")
	mustContain(t, body, "JobFailed", "worker 1 OOMKilled")
	if strings.Contains(body, "Unrelated") {
		t.Error("the Events tab shows another object's event")
	}
}

func TestEndpointsAndTryIt(t *testing.T) {
	var gotHost, gotPath, gotBody string
	model := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotHost, gotPath = r.Host, r.URL.Path
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		_, _ = w.Write([]byte(`{"model_name":"iris","outputs":[{"name":"predict","shape":[1],"datatype":"FP32","data":[1]}]}`))
	}))
	defer model.Close()
	isvc := &servingv1beta1.InferenceService{ObjectMeta: metav1.ObjectMeta{Name: "iris", Namespace: "default", CreationTimestamp: t0}}
	isvc.Status.URL = "http://iris-default.kfup.localhost"
	isvc.Status.DeploymentMode = "Standard"
	isvc.Status.Conditions = []servingv1beta1.Condition{{Type: servingv1beta1.Ready, Status: corev1.ConditionTrue}}
	isvc.Status.Components = map[servingv1beta1.ComponentType]servingv1beta1.ComponentStatusSpec{servingv1beta1.PredictorComponent: {
		URL: "http://iris-predictor-default.kfup.localhost", LatestReadyRevision: "iris-predictor-2",
		Traffic: []servingv1beta1.TrafficTarget{{RevisionName: "iris-predictor-2", Percent: new(int64(10)), LatestRevision: new(true)}, {RevisionName: "iris-predictor-1", Percent: new(int64(90))}}}}
	pending := &servingv1beta1.InferenceService{ObjectMeta: metav1.ObjectMeta{Name: "slow", Namespace: "default"}}
	pending.Status.Conditions = []servingv1beta1.Condition{{Type: servingv1beta1.Ready, Status: corev1.ConditionFalse, Reason: "PredictorNotReady"}}
	pod := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "iris-predictor-abc", Namespace: "default", Labels: map[string]string{labelInferenceService: "iris", labelComponent: "predictor"}},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "kserve-container"}}}}
	ts := newTestServer(t, nil, []client.Object{isvc, pending, pod}, WithInferTransport(IngressTransport(strings.TrimPrefix(model.URL, "http://"))))

	mustContain(t, ts.get("/ns/default/endpoints"), "iris", "http://iris-default.kfup.localhost", "iris-predictor-2 (latest) 10%, iris-predictor-1 90%",
		"Ready", "slow", "Not ready", "PredictorNotReady")
	mustContain(t, ts.get("/ns/default/endpoints/iris"), "iris-predictor-abc", "predictor", `hx-post="/ns/default/endpoints/iris/infer"`, "Try it")

	w := ts.post("/ns/default/endpoints/iris/infer", url.Values{"model": {"iris"}, "body": {sampleRequest}})
	mustContain(t, w.Body.String(), "200 OK", "&#34;outputs&#34;", "http://iris-default.kfup.localhost/v2/models/iris/infer")
	if gotHost != "iris-default.kfup.localhost" || gotPath != "/v2/models/iris/infer" || !strings.Contains(gotBody, `"inputs"`) {
		t.Errorf("the model got Host %q path %q body %q", gotHost, gotPath, gotBody)
	}
	for _, tc := range []struct{ name, model, body, want string }{
		{"not JSON", "iris", "nope", "must be an OIP v2 inference request"},
		{"no inputs", "iris", `{"inputs": []}`, "non-empty"},
		{"model name with a path", "../../api", sampleRequest, "model name"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			mustContain(t, ts.post("/ns/default/endpoints/iris/infer", url.Values{"model": {tc.model}, "body": {tc.body}}).Body.String(), tc.want)
		})
	}
	mustContain(t, ts.post("/ns/default/endpoints/slow/infer", url.Values{"body": {sampleRequest}}).Body.String(), "has no URL yet")
}

func experiment(name string) *tuningv1beta1.Experiment {
	e := &tuningv1beta1.Experiment{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: t0}}
	e.Spec.Objective = &tuningv1beta1.ObjectiveSpec{Type: "maximize", ObjectiveMetricName: "accuracy", AdditionalMetricNames: []string{"loss"}}
	e.Spec.Algorithm = &tuningv1beta1.AlgorithmSpec{AlgorithmName: "tpe"}
	e.Spec.MaxTrialCount = new(int32(4))
	e.Spec.Parameters = []tuningv1beta1.ParameterSpec{{Name: "lr"}, {Name: "layers"}}
	e.Status.Trials, e.Status.TrialsSucceeded, e.Status.TrialsRunning = 3, 2, 1
	e.Status.Conditions = []tuningv1beta1.ExperimentCondition{{Type: "Created", Status: corev1.ConditionTrue, LastTransitionTime: t0},
		{Type: "Running", Status: corev1.ConditionTrue, LastTransitionTime: metav1.NewTime(t0.Add(time.Second))}}
	e.Status.CurrentOptimalTrial = tuningv1beta1.OptimalTrial{BestTrialName: name + "-b",
		ParameterAssignments: []tuningv1beta1.ParameterAssignment{{Name: "lr", Value: "0.05"}, {Name: "layers", Value: "3"}},
		Observation:          tuningv1beta1.Observation{Metrics: []tuningv1beta1.Metric{{Name: "accuracy", Latest: "0.97"}}}}
	return e
}

func trial(exp, name, state, lr, acc string) *tuningv1beta1.Trial {
	tr := &tuningv1beta1.Trial{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{tuningv1beta1.LabelExperimentName: exp}}}
	tr.Spec.ParameterAssignments = []tuningv1beta1.ParameterAssignment{{Name: "lr", Value: lr}, {Name: "layers", Value: "3"}}
	tr.Status.Conditions = []tuningv1beta1.TrialCondition{{Type: tuningv1beta1.TrialConditionType(state), Status: corev1.ConditionTrue}}
	if acc != "" {
		tr.Status.Observation = &tuningv1beta1.Observation{Metrics: []tuningv1beta1.Metric{{Name: "accuracy", Latest: acc}, {Name: "loss", Latest: "0.1"}}}
	}
	return tr
}

func TestExperimentsListCSVAndDetail(t *testing.T) {
	ts := newTestServer(t, nil, []client.Object{experiment("hpo"), trial("hpo", "hpo-a", "Succeeded", "0.01", "0.9"),
		trial("hpo", "hpo-b", "Succeeded", "0.05", "0.97"), trial("hpo", "hpo-c", "Running", "0.08", ""), trial("other", "other-a", "Running", "1", "")})
	mustContain(t, ts.get("/ns/default/experiments"), "hpo", "Running", "tpe", "3/4", "hpo-b", "lr=0.05 layers=3", "maximize accuracy = 0.97", "Export CSV")

	w := ts.do(httptest.NewRequest("GET", "/ns/default/experiments.csv", nil))
	if ct := w.Header().Get("Content-Type"); !strings.HasPrefix(ct, "text/csv") {
		t.Fatalf("CSV content type %q", ct)
	}
	rows, err := csv.NewReader(w.Body).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	want := [][]string{
		{"name", "state", "algorithm", "objective", "trials", "succeeded", "failed", "running", "pending", "killed", "max_trials", "optimal_trial", "optimal_value", "optimal_parameters", "created"},
		{"hpo", "Running", "tpe", "maximize accuracy", "3", "2", "0", "1", "0", "0", "4", "hpo-b", "0.97", "lr=0.05 layers=3", "2026-12-07T01:00:00Z"},
	}
	if d := cmp.Diff(want, rows); d != "" {
		t.Errorf("CSV (-want +got):\n%s", d)
	}

	body := ts.get("/ns/default/experiments/hpo")
	mustContain(t, body, "hpo-a", "hpo-b", "hpo-c", "<th>lr</th>", "<th>accuracy</th>", "<th>loss</th>", `<tr data-trial="hpo-b" class="best"><td><a href="/ns/default/experiments/hpo/trials/hpo-b">hpo-b</a></td>`, `data-trials="/ns/default/experiments/hpo/trials"`, "0.97", `id="trials" class="sortable"`)
	if strings.Contains(body, "other-a") {
		t.Error("the experiment lists another experiment's trial")
	}
	mustContain(t, body, `href="/ns/default/experiments/hpo/trials/hpo-b"`)
	trialPage := ts.get("/ns/default/experiments/hpo/trials/hpo-b")
	mustContain(t, trialPage, `id="trial-state"`, "Succeeded", "<td>lr</td><td><code>0.05</code></td>", "<strong>0.97</strong>")
	mustContain(t, ts.get("/ns/default/experiments/hpo/trials/other-a"), "Trial other-a of experiment hpo does not exist")
	var got trialsJSON
	if err := json.Unmarshal([]byte(ts.get("/ns/default/experiments/hpo/trials")), &got); err != nil {
		t.Fatal(err)
	}
	wantJSON := trialsJSON{Params: []string{"lr", "layers"}, Metrics: []string{"accuracy", "loss"}, Maximize: true, Best: "hpo-b", Trials: []trialJSON{
		{Name: "hpo-a", State: "Succeeded", Params: []string{"0.01", "3"}, Metrics: []string{"0.9", "0.1"}},
		{Name: "hpo-b", State: "Succeeded", Params: []string{"0.05", "3"}, Metrics: []string{"0.97", "0.1"}},
		{Name: "hpo-c", State: "Running", Params: []string{"0.08", "3"}, Metrics: []string{"", ""}},
	}}
	if d := cmp.Diff(wantJSON, got); d != "" {
		t.Errorf("trials JSON (-want +got):\n%s", d)
	}
}

func TestExperimentCreate(t *testing.T) {
	ts := newTestServer(t, nil, nil)
	for _, tc := range []struct{ name, yaml, want string }{
		{"not YAML", "{", "does not parse"},
		{"another kind", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}", "this form creates Experiments"},
		{"another namespace", "apiVersion: kubeflow.org/v1beta1\nkind: Experiment\nmetadata: {name: x, namespace: kube-system}", "names namespace kube-system"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			w := ts.post("/ns/default/experiments", url.Values{"yaml": {tc.yaml}})
			if w.Code != http.StatusUnprocessableEntity {
				t.Errorf("status %d, want 422", w.Code)
			}
			mustContain(t, w.Body.String(), tc.want, `class="problem submit-error"`)
		})
	}
	w := ts.post("/ns/default/experiments", url.Values{"yaml": {sampleExperiment("default")}})
	if w.Code != http.StatusCreated || w.Header().Get("HX-Redirect") != "/ns/default/experiments/random-example" {
		t.Fatalf("create: %d, HX-Redirect %q\n%s", w.Code, w.Header().Get("HX-Redirect"), w.Body)
	}
	var e tuningv1beta1.Experiment
	if err := ts.c.Get(t.Context(), client.ObjectKey{Namespace: "default", Name: "random-example"}, &e); err != nil {
		t.Fatalf("the experiment was not created: %v", err)
	}
}

func TestRunsAndDAG(t *testing.T) {
	spec := `{"pipelineInfo":{"name":"p"},"schemaVersion":"2.1.0","root":{"dag":{"tasks":{
		"prep":{"taskInfo":{"name":"prep"},"componentRef":{"name":"comp-prep"}},
		"train":{"taskInfo":{"name":"train"},"dependentTasks":["prep"],"componentRef":{"name":"comp-train"}},
		"eval":{"taskInfo":{"name":"eval"},"dependentTasks":["train"],"componentRef":{"name":"comp-eval"}}}}}}`
	run := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "r1", Namespace: "default", CreationTimestamp: t0}}
	run.Spec.PipelineSpec = &runtime.RawExtension{Raw: []byte(spec)}
	run.Status.Phase = pipelinesv1alpha1.PhaseRunning
	run.Status.Pipeline = "p"
	run.Status.Tasks = []pipelinesv1alpha1.TaskStatus{{ID: "prep", Task: "prep", Phase: "Succeeded", PodName: "r1-prep",
		Parameters: map[string]apiextensionsv1.JSON{"rows": {Raw: []byte("42")}}}, {ID: "train", Task: "train", Phase: "Running"}}
	pl := &pipelinesv2beta1.Pipeline{ObjectMeta: metav1.ObjectMeta{Name: "iris", Namespace: "default"}, Spec: pipelinesv2beta1.PipelineSpec{Description: "train and score"}}
	v1 := &pipelinesv2beta1.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: "iris-v1", Namespace: "default"}, Spec: pipelinesv2beta1.PipelineVersionSpec{PipelineName: "iris"}}
	v2 := &pipelinesv2beta1.PipelineVersion{ObjectMeta: metav1.ObjectMeta{Name: "iris-v2", Namespace: "default"}, Spec: pipelinesv2beta1.PipelineVersionSpec{PipelineName: "iris"}}
	rr := &pipelinesv1alpha1.RecurringRun{ObjectMeta: metav1.ObjectMeta{Name: "nightly", Namespace: "default"},
		Spec: pipelinesv1alpha1.RecurringRunSpec{Schedule: "0 3 * * *", RunSpec: pipelinesv1alpha1.PipelineRunSpec{PipelineVersionRef: &pipelinesv1alpha1.PipelineVersionRef{Name: "iris-v2"}}}}
	ts := newTestServer(t, nil, []client.Object{run, pl, v1, v2, rr})
	mustContain(t, ts.get("/ns/default/runs"), "r1", "Running", "1/2", "train and score", "iris-v1, iris-v2", "nightly", "0 3 * * *")
	mustContain(t, ts.get("/ns/default/runs/r1"), `data-src="/ns/default/runs/r1/dag"`, `id="run-phase"`)
	var g dag
	if err := json.Unmarshal([]byte(ts.get("/ns/default/runs/r1/dag")), &g); err != nil {
		t.Fatal(err)
	}
	want := dag{Nodes: []dagNode{{"prep", "prep", "Succeeded"}, {"train", "train", "Running"}, {"eval", "eval", "Pending"}},
		Edges: [][2]string{{"prep", "train"}, {"train", "eval"}}}
	if d := cmp.Diff(want, g); d != "" {
		t.Errorf("DAG (-want +got):\n%s", d)
	}
	mustContain(t, ts.get("/ns/default/runs/r1/task?id=prep"), "Succeeded", "rows", "42", "/ns/default/runs/r1/logs?pod=r1-prep")
}

func TestRunGraphNestedAndLoops(t *testing.T) {
	spec := &ir.PipelineSpec{
		Root: &ir.ComponentSpec{DAG: &ir.DAGSpec{Tasks: map[string]ir.TaskSpec{
			"gen":        {ComponentRef: ir.ComponentRef{Name: "comp-gen"}},
			"for-loop-1": {DependentTasks: []string{"gen"}, ComponentRef: ir.ComponentRef{Name: "comp-for-loop-1"}},
		}}},
		Components: map[string]ir.ComponentSpec{"comp-for-loop-1": {DAG: &ir.DAGSpec{Tasks: map[string]ir.TaskSpec{
			"train": {ComponentRef: ir.ComponentRef{Name: "comp-train"}},
			"score": {DependentTasks: []string{"train"}, ComponentRef: ir.ComponentRef{Name: "comp-score"}},
		}}}},
	}
	tasks := []pipelinesv1alpha1.TaskStatus{
		{ID: "gen", Task: "gen", Phase: "Succeeded"},
		{ID: "for-loop-1", Task: "for-loop-1", Phase: "Running"},
		{ID: "for-loop-1[0]/train", Task: "train", Phase: "Succeeded"},
		{ID: "for-loop-1[0]/score", Task: "score", Phase: "Running"},
		{ID: "for-loop-1[1]/train", Task: "train", Phase: "Failed"},
	}
	g := runGraph(spec, tasks)
	want := [][2]string{{"gen", "for-loop-1"}, {"for-loop-1", "for-loop-1[0]/train"}, {"for-loop-1[0]/train", "for-loop-1[0]/score"}, {"for-loop-1", "for-loop-1[1]/train"}}
	if d := cmp.Diff(want, g.Edges); d != "" {
		t.Errorf("edges (-want +got):\n%s", d)
	}
	if len(g.Nodes) != 5 {
		t.Errorf("nodes %v: want the five started (the loop's templates are started)", g.Nodes)
	}
}

func TestStateOf(t *testing.T) {
	for _, tc := range []struct {
		name   string
		status map[string]any
		want   string
	}{
		{"phase", map[string]any{"phase": "Running"}, "Running"},
		{"no status", nil, "Pending"},
		{"ready condition", map[string]any{"conditions": []any{
			map[string]any{"type": "PredictorReady", "status": "True", "lastTransitionTime": "2026-12-07T01:00:01Z"},
			map[string]any{"type": "Ready", "status": "True", "lastTransitionTime": "2026-12-07T01:00:00Z"}}}, "Ready"},
		{"not ready", map[string]any{"conditions": []any{map[string]any{"type": "Ready", "status": "False"}}}, "NotReady"},
		{"newest true condition", map[string]any{"conditions": []any{
			map[string]any{"type": "Created", "status": "True", "lastTransitionTime": "2026-12-07T01:00:00Z"},
			map[string]any{"type": "Running", "status": "False", "lastTransitionTime": "2026-12-07T01:00:09Z"},
			map[string]any{"type": "Failed", "status": "True", "lastTransitionTime": "2026-12-07T01:00:05Z"}}}, "Failed"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := &unstructured.Unstructured{Object: map[string]any{}}
			if tc.status != nil {
				o.Object["status"] = tc.status
			}
			if got := stateOf(o); got != tc.want {
				t.Errorf("stateOf = %q, want %q", got, tc.want)
			}
		})
	}
}

func metricsArtifact(typ, metadata string) pipelinesv1alpha1.ArtifactList {
	return pipelinesv1alpha1.ArtifactList{Artifacts: []pipelinesv1alpha1.Artifact{{URI: "store://x", Type: typ, Metadata: &apiextensionsv1.JSON{Raw: []byte(metadata)}}}}
}

func TestMetricsViewers(t *testing.T) {
	got := metricsOf(map[string][]pipelinesv1alpha1.Artifact{
		"metrics":        metricsArtifact("system.Metrics", `{"accuracy": 0.93, "f1": 0.9, "display_name": "m"}`).Artifacts,
		"classification": metricsArtifact("system.ClassificationMetrics", `{"confusionMatrix": {"annotationSpecs": [{"displayName": "cat"}, {"displayName": "dog"}], "rows": [{"row": [8, 2]}, {"row": [1, 9]}]}, "confidenceMetrics": [{"confidenceThreshold": 0.2, "recall": 1, "falsePositiveRate": 0.6}, {"confidenceThreshold": 0.8, "recall": 0.5, "falsePositiveRate": 0.1}]}`).Artifacts,
		"report":         metricsArtifact("system.Markdown", `{}`).Artifacts,
		"model":          metricsArtifact("system.Model", `{}`).Artifacts,
	})
	want := []metricsView{
		{Name: "classification", Type: "system.ClassificationMetrics", URI: "store://x", Categories: []string{"cat", "dog"},
			Matrix: [][]string{{"8", "2"}, {"1", "9"}}, ROC: "[[0.1,0.6],[0.5,1]]"},
		{Name: "metrics", Type: "system.Metrics", URI: "store://x", Scalars: [][2]string{{"accuracy", "0.93"}, {"f1", "0.9"}}},
		{Name: "report", Type: "system.Markdown", URI: "store://x"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("metrics (-want +got):\n%s", d)
	}
}

func TestCompareAndCloneRuns(t *testing.T) {
	mk := func(name, lr, acc string) *pipelinesv1alpha1.PipelineRun {
		r := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", Labels: map[string]string{"team": "a"}}}
		r.Spec.PipelineSpec = &runtime.RawExtension{Raw: []byte(`{"pipelineInfo":{"name":"p"}}`)}
		r.Spec.Parameters = map[string]apiextensionsv1.JSON{"lr": {Raw: []byte(lr)}, "epochs": {Raw: []byte("3")}}
		r.Status.Tasks = []pipelinesv1alpha1.TaskStatus{{ID: "train", Task: "train", Phase: "Succeeded",
			Artifacts: map[string]pipelinesv1alpha1.ArtifactList{"metrics": metricsArtifact("system.Metrics", `{"accuracy": `+acc+`}`),
				"cm": metricsArtifact("system.ClassificationMetrics", `{"confusionMatrix": {"annotationSpecs": [{"displayName": "cat"}, {"displayName": "dog"}], "rows": [{"row": [8, 2]}, {"row": [1, 9]}]}, "confidenceMetrics": [{"recall": 1, "falsePositiveRate": 0.6}]}`)}}}
		return r
	}
	ts := newTestServer(t, nil, []client.Object{mk("a", "0.1", "0.9"), mk("b", "0.2", "0.9")})
	body := ts.get("/ns/default/runs/compare?run=a&run=b")
	mustContain(t, body, `<tr class="differ"><td class="meta">parameter</td><td>lr</td><td><code>0.1</code></td><td><code>0.2</code></td>`,
		`<tr><td class="meta">parameter</td><td>epochs</td>`, `<tr><td class="meta">metric</td><td>train/metrics/accuracy</td>`)
	mustContain(t, ts.get("/ns/default/runs/a/task?id=train"), "accuracy", "<strong>0.9</strong>", "<th>cat</th><td>8</td><td>2</td>", `data-roc="[[0.6],[1]]"`)

	w := ts.post("/ns/default/runs/a/clone", nil)
	if w.Code != http.StatusCreated || !strings.HasPrefix(w.Header().Get("HX-Redirect"), "/ns/default/runs/a-") {
		t.Fatalf("clone: %d %q %s", w.Code, w.Header().Get("HX-Redirect"), w.Body)
	}
	var list pipelinesv1alpha1.PipelineRunList
	if err := ts.c.List(t.Context(), &list); err != nil {
		t.Fatal(err)
	}
	var clone *pipelinesv1alpha1.PipelineRun
	for i := range list.Items {
		if list.Items[i].Annotations["pipelines.kfup.dev/cloned-from"] == "a" {
			clone = &list.Items[i]
		}
	}
	if clone == nil || string(clone.Spec.Parameters["lr"].Raw) != "0.1" || clone.Labels["team"] != "a" || len(clone.Status.Tasks) != 0 {
		t.Errorf("clone %+v: want a's spec and labels, no status", clone)
	}
}

// TestTrialObservationLogSeries: the trial page charts the trial's observation log (the
// ConfigMap the tuning controller keeps), objective first, non-numeric reports named and
// left out; a trial without a log says so, and a ConfigMap of that name the trial does
// not own is not read as its log.
func TestTrialObservationLogSeries(t *testing.T) {
	tr := trial("hpo", "hpo-a", "Succeeded", "0.01", "0.9")
	tr.UID = "trial-uid"
	tr.Spec.Objective = &tuningv1beta1.ObjectiveSpec{Type: tuningv1beta1.ObjectiveTypeMaximize, ObjectiveMetricName: "accuracy"}
	noLog := trial("hpo", "hpo-b", "Running", "0.05", "")
	taken := trial("hpo", "hpo-c", "Running", "0.05", "")
	foreign := &corev1.ConfigMap{ObjectMeta: metav1.ObjectMeta{Name: dbmanager.LogName("hpo-c"), Namespace: "default"}}
	ts := newTestServer(t, nil, []client.Object{experiment("hpo"), tr, noLog, taken, foreign})
	at := time.Date(2026, 12, 7, 1, 0, 0, 0, time.UTC)
	obs := []engine.Observation{{Name: "loss", Value: "0.9"}, {Name: "accuracy", Value: "0.5", Timestamp: at},
		{Name: "loss", Value: "0.4"}, {Name: "accuracy", Value: "0.8", Timestamp: at.Add(time.Minute)}, {Name: "genotype", Value: "Genotype(normal=[])"}}
	if err := dbmanager.WriteLog(context.Background(), ts.c, ts.c, ts.c.Scheme(), tr, obs); err != nil {
		t.Fatal(err)
	}
	page := ts.get("/ns/default/experiments/hpo/trials/hpo-a")
	mustContain(t, page, `id="trial-series"`, "Not charted (not numbers): genotype.")
	i := strings.Index(page, `data-series="`)
	if i < 0 {
		t.Fatal("no data-series")
	}
	raw := html.UnescapeString(page[i+len(`data-series="`) : i+len(`data-series="`)+strings.Index(page[i+len(`data-series="`):], `"`)])
	var got []seriesJSON
	if err := json.Unmarshal([]byte(raw), &got); err != nil {
		t.Fatalf("data-series %q: %v", raw, err)
	}
	want := []seriesJSON{
		{Name: "accuracy", Steps: []int{1, 2}, Values: []float64{0.5, 0.8}, Times: []string{"2026-12-07T01:00:00Z", "2026-12-07T01:01:00Z"}},
		{Name: "loss", Steps: []int{1, 2}, Values: []float64{0.9, 0.4}, Times: []string{"", ""}},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("series (-want +got):\n%s", d)
	}
	mustContain(t, ts.get("/ns/default/experiments/hpo/trials/hpo-b"), "No reports in the observation log yet")
	other := ts.get("/ns/default/experiments/hpo/trials/hpo-c")
	mustContain(t, other, "is not trial hpo-c&#39;s")
	if strings.Contains(other, `id="trial-series"`) {
		t.Error("a ConfigMap the trial does not own was charted")
	}
}

// TestArtifactViewers: a task's Markdown output is rendered into the panel (raw HTML and
// javascript: links left out), its HTML output served for a sandboxed frame under its own
// CSP; an artifact the run's status does not name, one of another store, and one the
// task never wrote are refused with what is wrong.
func TestArtifactViewers(t *testing.T) {
	st := store.NewFS(t.TempDir())
	put := func(key, body string) string {
		if err := st.Put(context.Background(), key, strings.NewReader(body), int64(len(body))); err != nil {
			t.Fatal(err)
		}
		return st.URI(key)
	}
	md := put("default/r1-abc/eval/report", "# Eval\n\n| class | f1 |\n|---|---|\n| cat | 0.9 |\n\n<script>alert(1)</script>\n\n[x](javascript:alert(1))\n")
	page := put("default/r1-abc/eval/page", "<html><body><h1 style=\"color:red\">report</h1><script>var x = 1</script></body></html>")
	run := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "r1", Namespace: "default", CreationTimestamp: t0}}
	run.Status.Tasks = []pipelinesv1alpha1.TaskStatus{{ID: "eval", Task: "eval", Phase: "Succeeded", Artifacts: map[string]pipelinesv1alpha1.ArtifactList{
		"report":  {Artifacts: []pipelinesv1alpha1.Artifact{{URI: md, Type: artifactMarkdown}}},
		"page":    {Artifacts: []pipelinesv1alpha1.Artifact{{URI: page, Type: artifactHTML}}},
		"missing": {Artifacts: []pipelinesv1alpha1.Artifact{{URI: st.URI("default/r1-abc/eval/none"), Type: artifactMarkdown}}},
		"s3":      {Artifacts: []pipelinesv1alpha1.Artifact{{URI: "s3://bucket/report.md", Type: artifactMarkdown}}},
	}}}
	ts := newTestServer(t, nil, []client.Object{run}, WithArtifacts(StoreArtifacts(st)))

	panel := ts.get("/ns/default/runs/r1/task?id=eval")
	mustContain(t, panel, `hx-get="/ns/default/runs/r1/artifact?i=0&amp;output=report&amp;task=eval"`,
		`<iframe class="artifact-html" sandbox="allow-scripts" src="/ns/default/runs/r1/artifact?i=0&amp;output=page&amp;task=eval"`)

	got := ts.get("/ns/default/runs/r1/artifact?task=eval&output=report&i=0")
	mustContain(t, got, "<h1>Eval</h1>", "<td>cat</td>", "<td>0.9</td>")
	for _, bad := range []string{"<script>", "javascript:"} {
		if strings.Contains(got, bad) {
			t.Errorf("the Markdown viewer passed %q through:\n%s", bad, got)
		}
	}

	w := ts.do(httptest.NewRequest("GET", "/ns/default/runs/r1/artifact?task=eval&output=page&i=0", nil))
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), `<h1 style="color:red">report</h1>`) {
		t.Fatalf("HTML viewer: %d %s", w.Code, w.Body)
	}
	csp := w.Header().Get("Content-Security-Policy")
	for _, want := range []string{"sandbox allow-scripts", "default-src 'none'", "frame-ancestors 'self'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("HTML artifact CSP %q lacks %q", csp, want)
		}
	}
	if strings.Contains(csp, "allow-same-origin") || w.Header().Get("X-Frame-Options") != "SAMEORIGIN" {
		t.Errorf("HTML artifact headers %v", w.Header())
	}

	mustContain(t, ts.get("/ns/default/runs/r1/artifact?task=eval&output=missing&i=0"), "has no file at minio://kfup/default/r1-abc/eval/none")
	mustContain(t, ts.get("/ns/default/runs/r1/artifact?task=eval&output=s3&i=0"), "s3://bucket/report.md is not in kfup&#39;s pvc artifact store")
	for _, q := range []string{"task=eval&output=report&i=1", "task=prep&output=report&i=0", "task=eval&output=nope&i=0", "task=eval&output=report&i=-1"} {
		if w := ts.do(httptest.NewRequest("GET", "/ns/default/runs/r1/artifact?"+q, nil)); w.Code != http.StatusNotFound {
			t.Errorf("?%s: %d, want 404", q, w.Code)
		}
	}
	noStore := newTestServer(t, nil, []client.Object{run.DeepCopy()})
	mustContain(t, noStore.get("/ns/default/runs/r1/artifact?task=eval&output=report&i=0"), "cannot read the artifact store")
}

// TestRunLogsAfterThePodIsGone: once a task's pod is gone, its log is the one the task
// kept in the artifact store; a pod the run never had is still refused.
func TestRunLogsAfterThePodIsGone(t *testing.T) {
	st := store.NewFS(t.TempDir())
	run := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: "r1", Namespace: "default", UID: "0123456789abcdef", CreationTimestamp: t0}}
	run.Status.Tasks = []pipelinesv1alpha1.TaskStatus{{ID: "loop[1]/train", Task: "train", Phase: "Failed", PodName: "r1-train-2"}}
	log := "epoch 1 loss=0.5\n<b>not markup</b>\nkfup launch: command exited with code 1\n"
	key := pipelinesv1alpha1.TaskKey(run, "loop[1]/train") + "/" + pipelinesv1alpha1.TaskLogFile
	if err := st.Put(context.Background(), key, strings.NewReader(log), int64(len(log))); err != nil {
		t.Fatal(err)
	}
	ts := newTestServer(t, nil, []client.Object{run}, WithArtifacts(StoreArtifacts(st)))
	got := ts.get("/ns/default/runs/r1/logs?pod=r1-train-2&container=main")
	mustContain(t, got, "Pod r1-train-2 is gone", "epoch 1 loss=0.5", "&lt;b&gt;not markup&lt;/b&gt;", "code 1", "default/r1-01234567/loop[1]/train/.kfup-log.txt")
	if w := ts.do(httptest.NewRequest("GET", "/ns/default/runs/r1/logs?pod=other-pod&container=main", nil)); w.Code == http.StatusOK {
		t.Errorf("a pod the run never had: %d %s", w.Code, w.Body)
	}
	noStore := newTestServer(t, nil, []client.Object{run.DeepCopy()})
	mustContain(t, noStore.get("/ns/default/runs/r1/logs?pod=r1-train-2&container=main"), "is gone, and its task&#39;s kept log cannot be read")
}

// TestRunTerminateAndRetry: the run page offers Terminate while a run goes on and Retry
// once it failed or was canceled; each writes only the spec (spec.shutdown, spec.retry),
// as kfup pipeline terminate and retry do, and says why when it does nothing; a clone of
// a terminated run is a new run, not stopped.
func TestRunTerminateAndRetry(t *testing.T) {
	mk := func(name string, phase pipelinesv1alpha1.RunPhase) *pipelinesv1alpha1.PipelineRun {
		r := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default", CreationTimestamp: t0}}
		r.Spec.PipelineSpec = &runtime.RawExtension{Raw: []byte(`{"pipelineInfo":{"name":"p"}}`)}
		r.Status.Phase = phase
		return r
	}
	running, failed, done := mk("running", pipelinesv1alpha1.PhaseRunning), mk("failed", pipelinesv1alpha1.PhaseFailed), mk("done", pipelinesv1alpha1.PhaseSucceeded)
	canceled := mk("canceled", pipelinesv1alpha1.PhaseCanceled)
	canceled.Spec.Shutdown = pipelinesv1alpha1.ShutdownTerminate
	ts := newTestServer(t, nil, []client.Object{running, failed, done, canceled})
	get := func(name string) *pipelinesv1alpha1.PipelineRun {
		r := &pipelinesv1alpha1.PipelineRun{}
		if err := ts.c.Get(context.Background(), client.ObjectKey{Namespace: "default", Name: name}, r); err != nil {
			t.Fatal(err)
		}
		return r
	}
	page := ts.get("/ns/default/runs/running")
	mustContain(t, page, `id="terminate"`)
	if strings.Contains(page, `id="retry"`) {
		t.Error("a running run offers Retry")
	}
	if page := ts.get("/ns/default/runs/failed"); !strings.Contains(page, `id="retry"`) || strings.Contains(page, `id="terminate"`) {
		t.Error("a failed run should offer Retry and not Terminate")
	}
	if page := ts.get("/ns/default/runs/done"); strings.Contains(page, `id="retry"`) || strings.Contains(page, `id="terminate"`) {
		t.Error("a succeeded run offers an action")
	}

	w := ts.post("/ns/default/runs/running/terminate", nil)
	if w.Code != http.StatusOK || !strings.Contains(w.Body.String(), "Terminating") || get("running").Spec.Shutdown != pipelinesv1alpha1.ShutdownTerminate {
		t.Fatalf("terminate: %d %s, spec %+v", w.Code, w.Body, get("running").Spec)
	}
	mustContain(t, ts.post("/ns/default/runs/running/terminate", nil).Body.String(), "already terminating")
	mustContain(t, ts.post("/ns/default/runs/done/terminate", nil).Body.String(), "already ended (Succeeded)")

	for i, name := range []string{"failed", "canceled"} {
		w := ts.post("/ns/default/runs/"+name+"/retry", nil)
		got := get(name)
		if w.Code != http.StatusOK || got.Spec.Retry != 1 || got.Spec.Shutdown != "" || got.Status.Phase != []pipelinesv1alpha1.RunPhase{pipelinesv1alpha1.PhaseFailed, pipelinesv1alpha1.PhaseCanceled}[i] {
			t.Fatalf("retry %s: %d %s, spec %+v, status phase %s", name, w.Code, w.Body, got.Spec, got.Status.Phase)
		}
		mustContain(t, w.Body.String(), "Retrying (retry 1)")
		// asked again before the controller acted: no second retry
		if w := ts.post("/ns/default/runs/"+name+"/retry", nil); !strings.Contains(w.Body.String(), "already asked for") || get(name).Spec.Retry != 1 {
			t.Errorf("a second retry before the first was acted on: %s, retry %d", w.Body, get(name).Spec.Retry)
		}
	}
	if w := ts.post("/ns/default/runs/done/retry", nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "nothing to retry") || get("done").Spec.Retry != 0 {
		t.Errorf("retry of a succeeded run: %d %s", w.Code, w.Body)
	}
	if w := ts.post("/ns/default/runs/running/retry", nil); w.Code != http.StatusConflict || !strings.Contains(w.Body.String(), "has not ended") {
		t.Errorf("retry of a running run: %d %s", w.Code, w.Body)
	}

	if w := ts.post("/ns/default/runs/canceled/clone", nil); w.Code != http.StatusCreated {
		t.Fatalf("clone: %d %s", w.Code, w.Body)
	}
	list := &pipelinesv1alpha1.PipelineRunList{}
	if err := ts.c.List(context.Background(), list); err != nil {
		t.Fatal(err)
	}
	for _, r := range list.Items {
		if r.Annotations["pipelines.kfup.dev/cloned-from"] == "canceled" && (r.Spec.Shutdown != "" || r.Spec.Retry != 0) {
			t.Errorf("the clone of a terminated, retried run is stopped or retried: %+v", r.Spec)
		}
	}
}
