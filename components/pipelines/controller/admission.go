package controller

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"

	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/runtime"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/webhook/admission"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	pipelinesv2beta1 "github.com/kfup/kfup/components/pipelines/api/v2beta1"
	"github.com/kfup/kfup/components/pipelines/controller/policy"
	"github.com/kfup/kfup/components/pipelines/plan"
	"github.com/kfup/kfup/internal/apihost"
)

// Webhooks are the admission checks the CRD schema cannot make: a run's, a schedule's or
// a version's pipeline must parse, validate and plan with the run's parameters, the
// version a run names must exist, a schedule must be a cron expression in a known zone,
// and a run may be retried only once it has failed or been canceled. A refused object is
// not created (or not changed), and the message names every problem with its task and
// field. reader reads PipelineVersions (uncached: admission is rare).
func Webhooks(scheme *runtime.Scheme, reader client.Reader) []apihost.Webhook {
	return []apihost.Webhook{
		{Path: pipelinesv1alpha1.WebhookPathRun, Handler: admission.WithValidator[*pipelinesv1alpha1.PipelineRun](scheme, runValidator{reader})},
		{Path: pipelinesv1alpha1.WebhookPathRecurringRun, Handler: admission.WithValidator[*pipelinesv1alpha1.RecurringRun](scheme, recurringValidator{reader})},
		{Path: pipelinesv1alpha1.WebhookPathVersion, Handler: admission.WithValidator[*pipelinesv2beta1.PipelineVersion](scheme, versionValidator{})},
	}
}

// CheckRunSpec checks a run's spec (a PipelineRun's, or a RecurringRun's template) in
// namespace ns as the run controller would start it: its pipeline, embedded or the named
// PipelineVersion's, parsed and validated, and planned once with its parameters. field
// prefixes the problems ("spec", "spec.runSpec").
func CheckRunSpec(ctx context.Context, reader client.Reader, ns, field string, spec *pipelinesv1alpha1.PipelineRunSpec) error {
	p, err := loadPipeline(ctx, reader, ns, field, spec)
	if err != nil {
		return err
	}
	params, err := parameters(spec.Parameters)
	if err != nil {
		return fmt.Errorf("%s.%w", field, err)
	}
	if _, err := plan.Compute(plan.Input{Pipeline: p, Parameters: params}); err != nil {
		return fmt.Errorf("%s.parameters: %w", field, err)
	}
	return nil
}

// runValidator checks PipelineRuns on create, and on update what the schema cannot: the
// spec stays as it was but for shutdown and retry (CEL cannot compare the parameters'
// JSON values), and a retry (spec.retry raised) is only of a run that ended Failed or
// Canceled. Metadata updates (labels, finalizers) pass.
type runValidator struct{ reader client.Reader }

func (v runValidator) ValidateCreate(ctx context.Context, run *pipelinesv1alpha1.PipelineRun) (admission.Warnings, error) {
	switch {
	case run.Spec.Retry != 0:
		return nil, errors.New("spec.retry: a new run has nothing to retry: leave it out (raise it on a Failed or Canceled run to retry that run)")
	case run.Spec.Shutdown != "":
		return nil, errors.New("spec.shutdown: a new run cannot start terminated: leave it out")
	}
	return nil, CheckRunSpec(ctx, v.reader, run.Namespace, "spec", &run.Spec)
}

func (runValidator) ValidateUpdate(_ context.Context, old, run *pipelinesv1alpha1.PipelineRun) (admission.Warnings, error) {
	if !sameRun(&old.Spec, &run.Spec) {
		return nil, errors.New("spec: a run's spec is immutable but for shutdown and retry: create a new run")
	}
	if run.Spec.Retry > old.Spec.Retry {
		if err := policy.CheckRetry(old.Status.Phase, &run.Spec); err != nil {
			return nil, fmt.Errorf("spec.retry: run %s cannot be retried: %w", run.Name, err)
		}
	}
	if run.Spec.Shutdown != "" && old.Spec.Shutdown == "" && old.Status.Phase.Final() {
		return admission.Warnings{fmt.Sprintf("run %s has already ended (%s): spec.shutdown changes nothing", run.Name, old.Status.Phase)}, nil
	}
	return nil, nil
}

// sameRun reports whether a and b ask for the same run, their shutdown and retry aside:
// their JSON equal as values (the API server may write a number or a key order of the
// JSON it keeps otherwise than it was sent).
func sameRun(a, b *pipelinesv1alpha1.PipelineRunSpec) bool {
	norm := func(s *pipelinesv1alpha1.PipelineRunSpec) (any, error) {
		s = s.DeepCopy()
		s.Shutdown, s.Retry = "", 0
		raw, err := json.Marshal(s)
		if err != nil {
			return nil, err
		}
		var v any
		return v, json.Unmarshal(raw, &v)
	}
	x, errA := norm(a)
	y, errB := norm(b)
	return errA == nil && errB == nil && reflect.DeepEqual(x, y)
}

func (runValidator) ValidateDelete(context.Context, *pipelinesv1alpha1.PipelineRun) (admission.Warnings, error) {
	return nil, nil
}

// recurringValidator checks RecurringRuns on create and when their spec changes.
type recurringValidator struct{ reader client.Reader }

func (v recurringValidator) check(ctx context.Context, rr *pipelinesv1alpha1.RecurringRun) error {
	if _, err := policy.Schedule(rr.Spec.Schedule, rr.Spec.TimeZone); err != nil {
		return fmt.Errorf("spec.schedule: %w", err)
	}
	return CheckRunSpec(ctx, v.reader, rr.Namespace, "spec.runSpec", &rr.Spec.RunSpec)
}

func (v recurringValidator) ValidateCreate(ctx context.Context, rr *pipelinesv1alpha1.RecurringRun) (admission.Warnings, error) {
	return nil, v.check(ctx, rr)
}

func (v recurringValidator) ValidateUpdate(ctx context.Context, old, rr *pipelinesv1alpha1.RecurringRun) (admission.Warnings, error) {
	if equality.Semantic.DeepEqual(old.Spec, rr.Spec) {
		return nil, nil
	}
	return nil, v.check(ctx, rr)
}

func (recurringValidator) ValidateDelete(context.Context, *pipelinesv1alpha1.RecurringRun) (admission.Warnings, error) {
	return nil, nil
}

// versionValidator checks PipelineVersions on create and when their spec changes. A
// missing Pipeline is not refused: the version's Ready condition says so, and creating
// the Pipeline afterwards mends it.
type versionValidator struct{}

func (versionValidator) check(v *pipelinesv2beta1.PipelineVersion) error {
	_, err := ParseSpec("PipelineVersion "+v.Name, v.Spec.PipelineSpec, v.Spec.PlatformSpec)
	return err
}

func (x versionValidator) ValidateCreate(_ context.Context, v *pipelinesv2beta1.PipelineVersion) (admission.Warnings, error) {
	return nil, x.check(v)
}

func (x versionValidator) ValidateUpdate(_ context.Context, old, v *pipelinesv2beta1.PipelineVersion) (admission.Warnings, error) {
	if equality.Semantic.DeepEqual(old.Spec, v.Spec) {
		return nil, nil
	}
	return nil, x.check(v)
}

func (versionValidator) ValidateDelete(context.Context, *pipelinesv2beta1.PipelineVersion) (admission.Warnings, error) {
	return nil, nil
}
