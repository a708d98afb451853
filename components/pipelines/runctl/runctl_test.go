package runctl_test

import (
	"context"
	"errors"
	"testing"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"sigs.k8s.io/controller-runtime/pkg/client"
	"sigs.k8s.io/controller-runtime/pkg/client/fake"
	"sigs.k8s.io/controller-runtime/pkg/client/interceptor"

	pipelinesv1alpha1 "github.com/kfup/kfup/components/pipelines/api/v1alpha1"
	"github.com/kfup/kfup/components/pipelines/runctl"
)

func setup(t *testing.T, run *pipelinesv1alpha1.PipelineRun, funcs interceptor.Funcs) (client.Client, runctl.Getter) {
	t.Helper()
	scheme := runtime.NewScheme()
	if err := pipelinesv1alpha1.AddToScheme(scheme); err != nil {
		t.Fatal(err)
	}
	c := fake.NewClientBuilder().WithScheme(scheme).WithObjects(run).WithStatusSubresource(run).WithInterceptorFuncs(funcs).Build()
	get := func(ctx context.Context) (*pipelinesv1alpha1.PipelineRun, error) {
		var r pipelinesv1alpha1.PipelineRun
		err := c.Get(ctx, client.ObjectKeyFromObject(run), &r)
		return &r, err
	}
	return c, get
}

func run(phase pipelinesv1alpha1.RunPhase, retry, observed int32, shutdown pipelinesv1alpha1.RunShutdown) *pipelinesv1alpha1.PipelineRun {
	r := &pipelinesv1alpha1.PipelineRun{ObjectMeta: metav1.ObjectMeta{Namespace: "ns", Name: "r"}}
	r.Spec.Retry, r.Spec.Shutdown = retry, shutdown
	r.Status.Phase, r.Status.ObservedRetry = phase, observed
	return r
}

func TestTerminate(t *testing.T) {
	for _, tc := range []struct {
		name string
		run  *pipelinesv1alpha1.PipelineRun
		want runctl.Outcome
	}{
		{"running", run(pipelinesv1alpha1.PhaseRunning, 0, 0, ""), runctl.Done},
		{"ended", run(pipelinesv1alpha1.PhaseFailed, 0, 0, ""), runctl.Ended},
		{"terminating", run(pipelinesv1alpha1.PhaseRunning, 0, 0, pipelinesv1alpha1.ShutdownTerminate), runctl.Terminating},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, get := setup(t, tc.run, interceptor.Funcs{})
			out, _, err := runctl.Terminate(context.Background(), c, get)
			if err != nil || out != tc.want {
				t.Fatalf("outcome %v, %v; want %v", out, err, tc.want)
			}
			got, _ := get(context.Background())
			if want := tc.want == runctl.Done || tc.want == runctl.Terminating; (got.Spec.Shutdown == pipelinesv1alpha1.ShutdownTerminate) != want {
				t.Errorf("spec.shutdown %q after %v", got.Spec.Shutdown, out)
			}
		})
	}
}

func TestRetry(t *testing.T) {
	for _, tc := range []struct {
		name      string
		run       *pipelinesv1alpha1.PipelineRun
		want      runctl.Outcome
		wantRetry int32
	}{
		{"failed", run(pipelinesv1alpha1.PhaseFailed, 0, 0, ""), runctl.Done, 1},
		{"canceled, retried before", run(pipelinesv1alpha1.PhaseCanceled, 2, 2, pipelinesv1alpha1.ShutdownTerminate), runctl.Done, 3},
		{"asked already", run(pipelinesv1alpha1.PhaseFailed, 3, 2, ""), runctl.Asked, 3},
		{"succeeded", run(pipelinesv1alpha1.PhaseSucceeded, 0, 0, ""), runctl.Succeeded, 0},
		{"running", run(pipelinesv1alpha1.PhaseRunning, 0, 0, ""), runctl.Running, 0},
	} {
		t.Run(tc.name, func(t *testing.T) {
			c, get := setup(t, tc.run, interceptor.Funcs{})
			out, r, err := runctl.Retry(context.Background(), c, get)
			if err != nil || out != tc.want || out.Refused() != (tc.want == runctl.Succeeded || tc.want == runctl.Running) {
				t.Fatalf("outcome %v, %v; want %v", out, err, tc.want)
			}
			got, _ := get(context.Background())
			if got.Spec.Retry != tc.wantRetry || r.Spec.Retry != tc.wantRetry {
				t.Errorf("spec.retry %d (returned %d), want %d", got.Spec.Retry, r.Spec.Retry, tc.wantRetry)
			}
			if out == runctl.Done && got.Spec.Shutdown != "" {
				t.Errorf("spec.shutdown %q left after a retry", got.Spec.Shutdown)
			}
		})
	}
}

// A run changed between the read and the patch is read and checked again: a retry that
// someone else asked for meanwhile is not asked twice.
func TestRetryConflictReadsAgain(t *testing.T) {
	r := run(pipelinesv1alpha1.PhaseFailed, 0, 0, "")
	patches := 0
	var c client.Client
	c, get := setup(t, r, interceptor.Funcs{Patch: func(ctx context.Context, cl client.WithWatch, obj client.Object, p client.Patch, opts ...client.PatchOption) error {
		patches++
		if patches == 1 { // someone else retries first
			var cur pipelinesv1alpha1.PipelineRun
			if err := cl.Get(ctx, client.ObjectKeyFromObject(obj), &cur); err != nil {
				return err
			}
			cur.Spec.Retry = 1
			if err := cl.Update(ctx, &cur); err != nil {
				return err
			}
			return apierrors.NewConflict(schema.GroupResource{Resource: "pipelineruns"}, obj.GetName(), errors.New("changed"))
		}
		return cl.Patch(ctx, obj, p, opts...)
	}})
	out, got, err := runctl.Retry(context.Background(), c, get)
	if err != nil || out != runctl.Asked || got.Spec.Retry != 1 || patches != 1 {
		t.Fatalf("outcome %v, retry %d, %d patches, %v; want Asked, 1, 1 patch", out, got.Spec.Retry, patches, err)
	}
}

// The API server's refusal comes back with the run read, for the caller to phrase.
func TestPatchRefused(t *testing.T) {
	refuse := interceptor.Funcs{Patch: func(context.Context, client.WithWatch, client.Object, client.Patch, ...client.PatchOption) error {
		return apierrors.NewForbidden(schema.GroupResource{Resource: "pipelineruns"}, "r", errors.New("no"))
	}}
	c, get := setup(t, run(pipelinesv1alpha1.PhaseRunning, 0, 0, ""), refuse)
	if _, r, err := runctl.Terminate(context.Background(), c, get); !apierrors.IsForbidden(err) || r == nil {
		t.Errorf("terminate: %v, run %v", err, r)
	}
	c, get = setup(t, run(pipelinesv1alpha1.PhaseFailed, 0, 0, ""), refuse)
	if _, r, err := runctl.Retry(context.Background(), c, get); !apierrors.IsForbidden(err) || r == nil {
		t.Errorf("retry: %v, run %v", err, r)
	}
}
