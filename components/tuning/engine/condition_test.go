package engine

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

const completedJob = `{"apiVersion":"batch/v1","kind":"Job","metadata":{"name":"t1"},
"status":{"conditions":[
 {"type":"SuccessCriteriaMet","status":"True","reason":"CompletionsReached","message":"Reached expected number of succeeded pods"},
 {"type":"Complete","status":"True","reason":"CompletionsReached","message":"Reached expected number of succeeded pods"}],
 "succeeded":1}}`

const failedJob = `{"apiVersion":"batch/v1","kind":"Job","status":{"conditions":[
 {"type":"FailureTarget","status":"True","reason":"BackoffLimitExceeded","message":"Job has reached the specified backoff limit"},
 {"type":"Failed","status":"True","reason":"BackoffLimitExceeded","message":"Job has reached the specified backoff limit"}],"failed":7}}`

const runningJob = `{"apiVersion":"batch/v1","kind":"Job","status":{"active":1,"ready":1}}`

const pytorchSucceeded = `{"apiVersion":"kubeflow.org/v1","kind":"PyTorchJob","status":{"conditions":[
 {"type":"Created","status":"True","reason":"PyTorchJobCreated","message":"PyTorchJob t1 is created."},
 {"type":"Running","status":"False","reason":"PyTorchJobRunning","message":"PyTorchJob t1 is running."},
 {"type":"Succeeded","status":"True","reason":"PyTorchJobSucceeded","message":"PyTorchJob t1 is successfully completed."}],
 "replicaStatuses":{"Master":{"succeeded":1},"Worker":{"succeeded":1}}}}`

const pytorchRunning = `{"apiVersion":"kubeflow.org/v1","kind":"PyTorchJob","status":{"conditions":[
 {"type":"Created","status":"True","reason":"PyTorchJobCreated"},
 {"type":"Running","status":"True","reason":"PyTorchJobRunning"},
 {"type":"Succeeded","status":"False","reason":"NotYet"}]}}`

func TestJudge(t *testing.T) {
	tests := []struct {
		name, job, success, failure string
		want                        Verdict
	}{
		{"job complete", completedJob, JobSuccessCondition, JobFailureCondition,
			Verdict{Succeeded, "CompletionsReached", "Reached expected number of succeeded pods"}},
		{"job failed", failedJob, JobSuccessCondition, JobFailureCondition,
			Verdict{Failed, "BackoffLimitExceeded", "Job has reached the specified backoff limit"}},
		{"job running", runningJob, JobSuccessCondition, JobFailureCondition, Verdict{State: Running}},
		{"pytorch succeeded", pytorchSucceeded, TrainingSuccessCondition, TrainingFailureCondition,
			Verdict{Succeeded, "PyTorchJobSucceeded", "PyTorchJob t1 is successfully completed."}},
		{"pytorch running: Succeeded False does not count", pytorchRunning, TrainingSuccessCondition, TrainingFailureCondition, Verdict{State: Running}},
		{"failure wins over success", `{"status":{"conditions":[{"type":"Complete","status":"True"},{"type":"Failed","status":"True","reason":"X"}]}}`,
			JobSuccessCondition, JobFailureCondition, Verdict{Failed, "X", ""}},
		{"object result holds", `{"status":{"done":{"reason":"ok"}}}`, "status.done", "status.broken", Verdict{Succeeded, "ok", ""}},
		{"true literal holds", `{"status":{"ready":true}}`, "status.ready", "status.broken", Verdict{State: Succeeded}},
		{"false and strings do not hold", `{"status":{"ready":false,"phase":"Succeeded"}}`, "status.ready", "status.phase", Verdict{State: Running}},
		{"empty array does not hold", `{"status":{"conditions":[]}}`, "status.conditions", "status.x", Verdict{State: Running}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := Judge([]byte(tt.job), tt.success, tt.failure)
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("Judge (-want +got):\n%s", diff)
			}
		})
	}
}

func TestJudgeMap(t *testing.T) {
	obj := map[string]any{"status": map[string]any{"conditions": []any{
		map[string]any{"type": "Complete", "status": "True", "reason": "R"}}}}
	got, err := Judge(obj, JobSuccessCondition, JobFailureCondition)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(Verdict{State: Succeeded, Reason: "R"}, got); diff != "" {
		t.Errorf("Judge (-want +got):\n%s", diff)
	}
}

func TestJudgeErrors(t *testing.T) {
	tests := []struct {
		name    string
		job     any
		success string
		want    string
	}{
		{"bad path", []byte(runningJob), `status.conditions.#(type=="Complete"`, "not a valid GJSON path"},
		{"empty path", []byte(runningJob), "", "successCondition is empty"},
		{"bad json", []byte(`{"status":`), JobSuccessCondition, "not valid JSON"},
		{"bad type", 42, JobSuccessCondition, "unsupported type int"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Judge(tt.job, tt.success, JobFailureCondition)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("Judge error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestDefaultConditions(t *testing.T) {
	master := map[string]string{JobRoleLabel: "master"}
	tests := []struct {
		apiVersion, kind, success, failure string
		labels                             map[string]string
	}{
		{"batch/v1", "Job", JobSuccessCondition, JobFailureCondition, nil},
		{"kubeflow.org/v1", "TFJob", TrainingSuccessCondition, TrainingFailureCondition, master},
		{"kubeflow.org/v1", "PyTorchJob", TrainingSuccessCondition, TrainingFailureCondition, master},
		{"kubeflow.org/v1", "MPIJob", TrainingSuccessCondition, TrainingFailureCondition, master},
		{"kubeflow.org/v1", "XGBoostJob", TrainingSuccessCondition, TrainingFailureCondition, master},
		{"kubeflow.org/v1", "JAXJob", TrainingSuccessCondition, TrainingFailureCondition, master},
		{"kubeflow.org/v1", "PaddleJob", TrainingSuccessCondition, TrainingFailureCondition, master},
	}
	for _, tt := range tests {
		s, f, l, err := DefaultConditions(tt.apiVersion, tt.kind)
		if err != nil {
			t.Fatalf("%s: %v", tt.kind, err)
		}
		if diff := cmp.Diff([]any{tt.success, tt.failure, tt.labels}, []any{s, f, l}); diff != "" {
			t.Errorf("DefaultConditions(%s) (-want +got):\n%s", tt.kind, diff)
		}
		if err := ValidateCondition("c", s); err != nil {
			t.Errorf("default condition %q: %v", s, err)
		}
	}
	for _, k := range [][2]string{{"argoproj.io/v1alpha1", "Workflow"}, {"kubeflow.org/v2", "PyTorchJob"}, {"apps/v1", "Job"}} {
		if _, _, _, err := DefaultConditions(k[0], k[1]); err == nil || !strings.Contains(err.Error(), "set trialTemplate.successCondition") {
			t.Errorf("DefaultConditions(%v) error = %v, want one naming the fix", k, err)
		}
	}
}

func TestValidateCondition(t *testing.T) {
	good := []string{JobSuccessCondition, TrainingFailureCondition, "status.succeeded", `status.conditions.#(type=="Complete").status`,
		"status.conditions.0", `status.conditions.#(reason%"*Done*")#`, `metadata.labels.app\.kubernetes\.io/name`, "status|@pretty"}
	for _, c := range good {
		if err := ValidateCondition("successCondition", c); err != nil {
			t.Errorf("ValidateCondition(%q) = %v, want nil", c, err)
		}
	}
	bad := map[string]string{
		"status..conditions":               "empty component",
		"status.":                          "ends in a separator",
		`status.conditions.#(type=="Done"`: "')' is missing",
		`status.conditions.#(type=="Done)`: "quoted string is not closed",
		`status.conditions)`:               "closes nothing",
		`status\`:                          "lone backslash",
		`status."x"`:                       "outside a query",
	}
	for c, want := range bad {
		err := ValidateCondition("successCondition", c)
		if err == nil || !strings.Contains(err.Error(), want) || !strings.Contains(err.Error(), "successCondition") {
			t.Errorf("ValidateCondition(%q) = %v, want an error containing %q", c, err, want)
		}
	}
}
