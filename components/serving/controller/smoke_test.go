package controller_test

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	"github.com/kfup/kfup/components/serving"
	servingv1beta1 "github.com/kfup/kfup/components/serving/api/v1beta1"
	"github.com/kfup/kfup/internal/ui"
)

// TestSmoke runs the serving component's smoke test (what `kfup test` runs) against the
// CRDs as installed and the controller: the seed-like InferenceService is accepted, the
// one naming two frameworks refused; the tiny model's InferenceService gets its
// Deployment from kfup's runtime (made available here: envtest runs no kubelet), and with
// no pod to ask the smoke test says so — and leaves nothing behind.
func TestSmoke(t *testing.T) {
	start(t)
	ce := &components.Env{Client: env.Client, REST: env.Config, Out: ui.Discard()}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- (serving.Component{}).Smoke(ctx, ce) }()

	var d *appsv1.Deployment
	eventually(t, "the smoke model's Deployment", func(ctx context.Context) (bool, string) {
		var list appsv1.DeploymentList
		if err := env.Client.List(context.Background(), &list, client.InNamespace("default")); err != nil {
			return false, err.Error()
		}
		for i := range list.Items {
			if strings.HasPrefix(list.Items[i].Name, "kfup-smoke-") {
				d = &list.Items[i]
				return true, ""
			}
		}
		var isvcs servingv1beta1.InferenceServiceList
		_ = env.Client.List(context.Background(), &isvcs, client.InNamespace("default"))
		for _, i := range isvcs.Items {
			return false, fmt.Sprintf("no Deployment; %s: %+v", i.Name, i.Status.Conditions)
		}
		select {
		case err := <-done:
			t.Fatalf("smoke ended before its Deployment: %v", err)
		default:
		}
		return false, "no Deployment, no InferenceService"
	})
	c := d.Spec.Template.Spec.Containers[0]
	if c.Image != testImage || len(c.VolumeMounts) != 1 || c.VolumeMounts[0].MountPath != "/mnt/models" {
		t.Errorf("smoke predictor %s mounts %+v: want kfup's runtime with the model's ConfigMap at /mnt/models", c.Image, c.VolumeMounts)
	}
	markAvailable(t, d)
	err := <-done
	if err == nil || !strings.Contains(err.Error(), "is Ready but none of its 0 predictor pods is") {
		t.Fatalf("smoke without pods: %v", err)
	}
	var isvcs servingv1beta1.InferenceServiceList
	var cms corev1.ConfigMapList
	if err := env.Client.List(context.Background(), &isvcs, client.InNamespace("default"), client.MatchingLabels{"kfup.dev/smoke": "true"}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.List(context.Background(), &cms, client.InNamespace("default"), client.MatchingLabels{"kfup.dev/smoke": "true"}); err != nil {
		t.Fatal(err)
	}
	if len(isvcs.Items) != 0 || len(cms.Items) != 0 {
		t.Errorf("left behind: %d InferenceServices, %d ConfigMaps", len(isvcs.Items), len(cms.Items))
	}
}
