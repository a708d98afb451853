package controller_test

import (
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/util/wait"
	"sigs.k8s.io/controller-runtime/pkg/client"

	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/components/serving/controller"
	"github.com/kfup/kfup/internal/testenv"
)

// env is the integration tier's API server; the package has no unit tests of its own
// (package engine holds the decisions).
var env *testenv.Env

func TestMain(m *testing.M) { os.Exit(testenv.Main(m, &env, controller.NewAPI())) }

// testImage stands for kfup's image.
const testImage = "kfup-test/kfup:dev"

// start runs the serving controllers (kfup's runtime among the built-ins) until t ends.
func start(t *testing.T) {
	t.Helper()
	cfg := controller.DefaultConfig()
	cfg.SkipNameValidation = true
	cfg.Image = testImage
	env.StartManager(t, &controller.API{Config: cfg})
}

// eventually polls cond every 100ms for up to 20s and fails t with its last word.
func eventually(t *testing.T, what string, cond func(context.Context) (bool, string)) {
	t.Helper()
	eventuallyWithin(t, 20*time.Second, what, cond)
}

// eventuallyWithin is eventually for up to d.
func eventuallyWithin(t *testing.T, d time.Duration, what string, cond func(context.Context) (bool, string)) {
	t.Helper()
	var last string
	err := wait.PollUntilContextTimeout(context.Background(), 100*time.Millisecond, d, true, func(ctx context.Context) (bool, error) {
		ok, msg := cond(ctx)
		last = msg
		return ok, nil
	})
	if err != nil {
		t.Fatalf("%s: %s", what, last)
	}
}

// condition returns isvc's condition of type ct (a zero one when missing).
func condition(isvc *servingv1beta1.InferenceService, ct servingv1beta1.ConditionType) servingv1beta1.Condition {
	for _, c := range isvc.Status.Conditions {
		if c.Type == ct {
			return c
		}
	}
	return servingv1beta1.Condition{}
}

// waitCondition waits until the InferenceService ns/name has condition ct with status
// and reason, and returns it.
func waitCondition(t *testing.T, ns, name string, ct servingv1beta1.ConditionType, status, reason string) *servingv1beta1.InferenceService {
	t.Helper()
	isvc := &servingv1beta1.InferenceService{}
	eventually(t, fmt.Sprintf("%s/%s: %s=%s (%s)", ns, name, ct, status, reason), func(ctx context.Context) (bool, string) {
		if err := env.Client.Get(ctx, client.ObjectKey{Namespace: ns, Name: name}, isvc); err != nil {
			return false, err.Error()
		}
		c := condition(isvc, ct)
		return string(c.Status) == status && c.Reason == reason, fmt.Sprintf("conditions %+v", isvc.Status.Conditions)
	})
	return isvc
}
