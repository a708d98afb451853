// Package engine holds the tuning slice's pure functions: parsing a trial's metrics
// from its log, the median stopping rule, judging a trial's job by GJSON conditions and
// rendering a trial's job from the experiment's template. It knows no API types; the
// tuning controller adapts its own types to these plain inputs.
package engine

import (
	"encoding/json"
	"fmt"

	"github.com/tidwall/gjson"
)

// State is the phase of a trial's job as its success and failure conditions judge it.
type State string

const (
	// Running means neither condition holds yet.
	Running State = "Running"
	// Succeeded means the success condition holds and the failure condition does not.
	Succeeded State = "Succeeded"
	// Failed means the failure condition holds; it wins over the success condition.
	Failed State = "Failed"
)

// Verdict is the judged state of a trial's job with the reason and message of the
// condition that decided it, when that condition carried them.
type Verdict struct {
	State   State
	Reason  string
	Message string
}

// The default conditions, as Katib sets them on a trial template that names none.
const (
	// JobSuccessCondition is the default success condition of a batch/v1 Job.
	JobSuccessCondition = `status.conditions.#(type=="Complete")#|#(status=="True")#`
	// JobFailureCondition is the default failure condition of a batch/v1 Job.
	JobFailureCondition = `status.conditions.#(type=="Failed")#|#(status=="True")#`
	// TrainingSuccessCondition is the default success condition of a kubeflow.org/v1 training job.
	TrainingSuccessCondition = `status.conditions.#(type=="Succeeded")#|#(status=="True")#`
	// TrainingFailureCondition is the default failure condition of a kubeflow.org/v1 training job.
	TrainingFailureCondition = `status.conditions.#(type=="Failed")#|#(status=="True")#`
	// JobRoleLabel is the label the training operator puts on a job's master pod.
	JobRoleLabel = "training.kubeflow.org/job-role"
)

// trainingKinds maps each kubeflow.org/v1 training kind to its replica specs field.
var trainingKinds = map[string]string{
	"TFJob":      "tfReplicaSpecs",
	"PyTorchJob": "pytorchReplicaSpecs",
	"MPIJob":     "mpiReplicaSpecs",
	"XGBoostJob": "xgbReplicaSpecs",
	"JAXJob":     "jaxReplicaSpecs",
	"PaddleJob":  "paddleReplicaSpecs",
}

// DefaultConditions returns the success and failure conditions and the primary pod
// labels Katib uses for a trial job of the given kind when the template sets none:
// batch/v1 Job is judged by its Complete and Failed conditions and has no primary pod
// labels (its only pod is primary); the kubeflow.org/v1 training kinds (TFJob,
// PyTorchJob, MPIJob, XGBoostJob, JAXJob, PaddleJob) are judged by their Succeeded and
// Failed conditions, and their primary pod is the one the training operator labels
// training.kubeflow.org/job-role=master (the Master or Chief replica, the MPI launcher,
// worker 0 where a kind has no master; a PaddleJob without a Master replica has none,
// so it needs explicit primaryPodLabels). Any other kind is an error that says to set
// the conditions in the trial template.
func DefaultConditions(apiVersion, kind string) (success, failure string, primaryPodLabels map[string]string, err error) {
	switch {
	case apiVersion == "batch/v1" && kind == "Job":
		return JobSuccessCondition, JobFailureCondition, nil, nil
	case apiVersion == "kubeflow.org/v1" && trainingKinds[kind] != "":
		return TrainingSuccessCondition, TrainingFailureCondition, map[string]string{JobRoleLabel: "master"}, nil
	}
	return "", "", nil, fmt.Errorf("trial job kind %s %s has no default success and failure conditions: "+
		"set trialTemplate.successCondition and trialTemplate.failureCondition (GJSON paths into the job, "+
		"e.g. %s) and trialTemplate.primaryPodLabels", apiVersion, kind, JobSuccessCondition)
}

// ValidateCondition reports whether cond is a usable GJSON path; field names the
// template field in the error (e.g. "trialTemplate.successCondition").
func ValidateCondition(field, cond string) error {
	if cond == "" {
		return fmt.Errorf("%s is empty: set a GJSON path into the job, e.g. %s", field, JobSuccessCondition)
	}
	if err := checkPath(cond); err != nil {
		return fmt.Errorf("%s %q is not a valid GJSON path: %w (see https://github.com/tidwall/gjson/blob/master/SYNTAX.md), e.g. %s", field, cond, err, JobSuccessCondition)
	}
	return nil
}

// checkPath does the syntactic checks gjson itself skips (it reads any string as some
// path): brackets, parentheses and braces balance, quoted strings and escapes end, and
// no component between the separators '.' and '|' is empty.
func checkPath(p string) error {
	var stack []rune
	closer := map[rune]rune{'(': ')', '[': ']', '{': '}'}
	inString, escaped, component := false, false, 0
	for i, c := range p {
		switch {
		case escaped:
			escaped = false
			component++
			continue
		case c == '\\':
			escaped = true
			continue
		case inString:
			if c == '"' {
				inString = false
			}
			continue
		}
		switch c {
		case '"':
			if len(stack) == 0 {
				return fmt.Errorf("a quote at offset %d is outside a query #(...)", i)
			}
			inString = true
		case '(', '[', '{':
			stack = append(stack, closer[c])
		case ')', ']', '}':
			if len(stack) == 0 || stack[len(stack)-1] != c {
				return fmt.Errorf("%q at offset %d closes nothing that is open", c, i)
			}
			stack = stack[:len(stack)-1]
		case '.', '|':
			if len(stack) == 0 {
				if component == 0 {
					return fmt.Errorf("empty component before %q at offset %d", c, i)
				}
				component = 0
				continue
			}
		}
		component++
	}
	switch {
	case escaped:
		return fmt.Errorf("it ends in a lone backslash")
	case inString:
		return fmt.Errorf("a quoted string is not closed")
	case len(stack) > 0:
		return fmt.Errorf("%q is missing at the end", stack[len(stack)-1])
	case component == 0:
		return fmt.Errorf("it ends in a separator")
	}
	return nil
}

// Judge evaluates the failure and then the success condition (GJSON paths) on job,
// which is the job's JSON ([]byte, string) or its decoded object (map[string]any, as in
// unstructured.Unstructured.Object). As in Katib, a condition holds when its result is
// an object or a non-empty array; a result that is the JSON literal true also holds, so
// a path like `status.ready` can serve. The failure condition is checked first, so a
// job that matches both has failed. The reason and message come from the matched
// object, or the first element of a matched array, when it has them.
func Judge(job any, successCondition, failureCondition string) (Verdict, error) {
	if err := ValidateCondition("successCondition", successCondition); err != nil {
		return Verdict{}, err
	}
	if err := ValidateCondition("failureCondition", failureCondition); err != nil {
		return Verdict{}, err
	}
	var doc string
	switch j := job.(type) {
	case []byte:
		doc = string(j)
	case string:
		doc = j
	case map[string]any:
		b, err := json.Marshal(j)
		if err != nil {
			return Verdict{}, fmt.Errorf("judge trial job: encode it as JSON: %w", err)
		}
		doc = string(b)
	default:
		return Verdict{}, fmt.Errorf("judge trial job: unsupported type %T, want JSON bytes, a string or map[string]any", job)
	}
	if !gjson.Valid(doc) {
		return Verdict{}, fmt.Errorf("judge trial job: the job is not valid JSON")
	}
	if v, ok := holds(doc, failureCondition); ok {
		v.State = Failed
		return v, nil
	}
	if v, ok := holds(doc, successCondition); ok {
		v.State = Succeeded
		return v, nil
	}
	return Verdict{State: Running}, nil
}

// holds reports whether cond matches doc and the reason and message of the match.
func holds(doc, cond string) (Verdict, bool) {
	r := gjson.Get(doc, cond)
	switch {
	case r.IsObject():
	case r.IsArray() && len(r.Array()) > 0:
		r = r.Array()[0]
	case r.Type == gjson.True:
		return Verdict{}, true
	default:
		return Verdict{}, false
	}
	return Verdict{Reason: r.Get("reason").String(), Message: r.Get("message").String()}, true
}
