package controller

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"

	apiextensionsv1 "k8s.io/apiextensions-apiserver/pkg/apis/apiextensions/v1"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/plan"
)

// settledByPlanner reports whether the planner settled t itself (skipped it, or failed
// it before any attempt): such tasks are not the planner's input, it settles them again.
func settledByPlanner(t *pipelinesv1alpha1.TaskStatus) bool {
	return t.Attempts == 0 && t.CachedFrom == ""
}

// planStatus turns the tasks that started (a pod, an import, a cache hit) into the
// planner's view; tasks the planner settled itself it settles again.
func planStatus(tasks []pipelinesv1alpha1.TaskStatus) map[string]plan.TaskStatus {
	out := make(map[string]plan.TaskStatus, len(tasks))
	for i := range tasks {
		t := &tasks[i]
		if settledByPlanner(t) {
			continue
		}
		ps := plan.TaskStatus{Attempts: max(int(t.Attempts), 1), PriorAttempts: int(t.PriorAttempts), Error: t.Message, Artifacts: planArtifacts(t.Artifacts)}
		switch t.Phase {
		case pipelinesv1alpha1.PhaseSucceeded:
			ps.Phase = plan.Succeeded
		case pipelinesv1alpha1.PhaseFailed, pipelinesv1alpha1.PhaseCanceled:
			ps.Phase = plan.Failed
		case pipelinesv1alpha1.PhaseSkipped:
			ps.Phase = plan.Skipped
		case pipelinesv1alpha1.PhasePending:
			ps.Phase = plan.Pending // sent back by a retry of the run
		default:
			ps.Phase = plan.Running
		}
		if t.CompletionTime != nil {
			ps.FinishedAt = t.CompletionTime.Time
		}
		ps.Parameters = map[string]any{}
		for k, v := range t.Parameters {
			var x any
			if json.Unmarshal(v.Raw, &x) == nil {
				ps.Parameters[k] = x
			}
		}
		out[t.ID] = ps
	}
	return out
}

// unsettle drops the tasks the planner settled itself that pl no longer settles: after a
// retry of the run, a task skipped because its upstream failed waits for that upstream
// to run again, as a task not yet started (a run's tasks only ever move forward
// otherwise, so this changes nothing in a run never retried).
func unsettle(tasks []pipelinesv1alpha1.TaskStatus, pl *plan.Plan) []pipelinesv1alpha1.TaskStatus {
	settled := make(map[string]bool, len(pl.Skipped)+len(pl.Failed))
	for _, s := range pl.Skipped {
		settled[s.ID] = true
	}
	for _, f := range pl.Failed {
		settled[f.ID] = true
	}
	return slices.DeleteFunc(tasks, func(t pipelinesv1alpha1.TaskStatus) bool {
		return settledByPlanner(&t) && t.Phase.Final() && !settled[t.ID]
	})
}

func planArtifacts(in map[string]pipelinesv1alpha1.ArtifactList) map[string][]plan.Artifact {
	if len(in) == 0 {
		return nil
	}
	out := make(map[string][]plan.Artifact, len(in))
	for k, l := range in {
		for _, a := range l.Artifacts {
			pa := plan.Artifact{URI: a.URI, Type: a.Type}
			if a.Metadata != nil {
				_ = json.Unmarshal(a.Metadata.Raw, &pa.Metadata)
			}
			out[k] = append(out[k], pa)
		}
	}
	return out
}

// apiArtifacts turns the planner's artifacts into the status's.
func apiArtifacts(in map[string][]plan.Artifact) (map[string]pipelinesv1alpha1.ArtifactList, error) {
	if len(in) == 0 {
		return nil, nil
	}
	out := make(map[string]pipelinesv1alpha1.ArtifactList, len(in))
	for k, list := range in {
		l := pipelinesv1alpha1.ArtifactList{Artifacts: []pipelinesv1alpha1.Artifact{}}
		for _, a := range list {
			x := pipelinesv1alpha1.Artifact{URI: a.URI, Type: a.Type}
			if len(a.Metadata) > 0 {
				raw, err := json.Marshal(a.Metadata)
				if err != nil {
					return nil, fmt.Errorf("artifact %s metadata: %w", k, err)
				}
				x.Metadata = &apiextensionsv1.JSON{Raw: raw}
			}
			l.Artifacts = append(l.Artifacts, x)
		}
		out[k] = l
	}
	return out, nil
}

// jsonMap encodes values as JSON.
func jsonMap(in map[string]any) (map[string]apiextensionsv1.JSON, error) {
	if len(in) == 0 {
		return nil, nil
	}
	keys := make([]string, 0, len(in))
	for k := range in {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make(map[string]apiextensionsv1.JSON, len(in))
	for _, k := range keys {
		raw, err := json.Marshal(in[k])
		if err != nil {
			return nil, fmt.Errorf("%s: %w", k, err)
		}
		out[k] = apiextensionsv1.JSON{Raw: raw}
	}
	return out, nil
}

func ioLimit(r io.Reader, n int64) io.Reader { return io.LimitReader(r, n) }
