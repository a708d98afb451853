package controller

import (
	"context"
	"errors"

	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	tuningv1beta1 "github.com/kfup/kfup/components/tuning/api/v1beta1"
	"github.com/kfup/kfup/components/tuning/controller/dbmanager"
	"github.com/kfup/kfup/components/tuning/engine"
)

// The Push collector: the trial's code reports its metrics itself through Katib's
// DBManager API, which the manager serves (package dbmanager) and keeps in the trial's
// observation log; the trial controller reads that log when the run ends, as it reads
// a container's log for the other collectors.

// observePushed is observe for a Push trial: its reported observations, summarized.
func (r *TrialReconciler) observePushed(ctx context.Context, t *tuningv1beta1.Trial) (*tuningv1beta1.Observation, []engine.Observation, error) {
	l, _, err := dbmanager.ReadLog(ctx, r.reader, t)
	var notOurs dbmanager.NotOursError
	if errors.As(err, &notOurs) {
		return nil, nil, badMetrics{notOurs}
	}
	if err != nil {
		return nil, nil, err
	}
	all := l.Observations()
	out := &tuningv1beta1.Observation{}
	for _, m := range engine.Summarize(all, t.Spec.Objective.MetricNames()) {
		out.Metrics = append(out.Metrics, tuningv1beta1.Metric{Name: m.Name, Min: m.Min, Max: m.Max, Latest: m.Latest})
	}
	return out, all, nil
}

// injectTrialName gives a Push trial's primary container KATIB_TRIAL_NAME (its code's
// katib.report_metrics sends it); no sidecar. A run with no pod template kfup knows
// (another kind) is left as it is: its template can pass the name itself
// (${trialSpec.Name}).
func injectTrialName(run *unstructured.Unstructured, t *tuningv1beta1.Trial) error {
	if t.Spec.MetricsCollector.CollectorKind() != tuningv1beta1.PushCollector {
		return nil
	}
	_, err := engine.InjectTrialName(run, t.Spec.PrimaryContainerName, t.Name)
	return err
}
