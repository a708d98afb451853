package knative

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/components"
	knservingv1 "github.com/kfup/kfup/components/knative/api/v1"
	"github.com/kfup/kfup/components/manager"
	"github.com/kfup/kfup/components/serving"
)

// SmokeNamespace is where the smoke test's Knative Service runs.
const SmokeNamespace = "default"

// smokeModelName is the name the smoke test's model server serves its model by.
const smokeModelName = "kfup-smoke"

// Smoke checks that Knative's Deployments are available, then makes a round trip: a
// Knative Service (generated name, in default) running kfup's model server from the
// manager's image on the tiny model of serving's smoke test (a ConfigMap) must become
// Ready and, where the host reaches the cluster's ingress port (kind), answer
// GET /v2/models/kfup-smoke/ready with 200 through that port with its own host (the
// URL Knative gives it: kfup's ingress or Istio's gateway, then Knative's
// queue-proxy). Both objects are deleted, pass or fail.
func (Component) Smoke(ctx context.Context, env *components.Env) error {
	if err := waitDeployments(ctx, env.Client); err != nil {
		return err
	}
	return roundTrip(ctx, env)
}

// roundTrip is Smoke's Knative Service; see Smoke.
func roundTrip(ctx context.Context, env *components.Env) (err error) {
	image, pull, err := kfupImage(ctx, env.Client)
	if err != nil {
		return err
	}
	labels := map[string]string{components.LabelComponent: Name, "kfup.dev/smoke": "true"}
	cm := &corev1.ConfigMap{
		ObjectMeta: metav1.ObjectMeta{GenerateName: "kfup-smoke-knative-", Namespace: SmokeNamespace, Labels: labels},
		BinaryData: map[string][]byte{"model.json": serving.SmokeModel()},
	}
	if err := env.Client.Create(ctx, cm); err != nil {
		return fmt.Errorf("create the smoke model's ConfigMap in %s: %w", SmokeNamespace, err)
	}
	ks := SmokeService(cm.Name, image, pull)
	created := env.Client.Create(ctx, ks)
	defer func() {
		// a fresh context: ctx may be what ran out
		dctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		bg := client.PropagationPolicy(metav1.DeletePropagationBackground)
		if created == nil {
			if derr := client.IgnoreNotFound(env.Client.Delete(dctx, ks, bg)); derr != nil && err == nil {
				err = fmt.Errorf("delete the smoke Knative Service %s: %w", ks.Name, derr)
			}
		}
		if derr := client.IgnoreNotFound(env.Client.Delete(dctx, cm, bg)); derr != nil && err == nil {
			err = fmt.Errorf("delete the smoke ConfigMap %s: %w", cm.Name, derr)
		}
	}()
	if created != nil {
		return fmt.Errorf("create the smoke Knative Service in %s: %w", SmokeNamespace, created)
	}

	var last string
	waitErr := wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		if err := env.Client.Get(ctx, client.ObjectKeyFromObject(ks), ks); err != nil {
			last = err.Error()
			return false, nil
		}
		ready, why := serviceReady(ks)
		last = why
		return ready, nil
	})
	if waitErr != nil {
		return fmt.Errorf("the smoke Knative Service %s/%s did not become Ready: %s", ks.Namespace, ks.Name, last)
	}
	if env.IngressURL == "" {
		return nil // no host port to go through: Ready is what can be checked
	}
	u, err := url.Parse(ks.Status.URL)
	if err != nil || u.Host == "" {
		return fmt.Errorf("the smoke Knative Service %s has no URL (%q)", ks.Name, ks.Status.URL)
	}
	target := strings.TrimSuffix(env.IngressURL, "/") + "/v2/models/" + smokeModelName + "/ready"
	hc := &http.Client{Timeout: 10 * time.Second}
	waitErr = wait.PollUntilContextCancel(ctx, time.Second, true, func(ctx context.Context) (bool, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
		if err != nil {
			return false, err
		}
		req.Host = u.Host
		resp, err := hc.Do(req)
		if err != nil {
			last = err.Error()
			return false, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		if resp.StatusCode != http.StatusOK {
			last = fmt.Sprintf("%d %s", resp.StatusCode, strings.TrimSpace(string(b)))
			return false, nil
		}
		return true, nil
	})
	if waitErr != nil {
		return fmt.Errorf("GET %s with Host %s (the smoke Knative Service through the ingress port) did not answer 200: %s", target, u.Host, last)
	}
	return nil
}

// SmokeService is the smoke test's Knative Service: kfup's model server from image
// (pulled as the manager's is) on the model in ConfigMap cm, one pod at most, HTTP only.
func SmokeService(cm, image string, pull corev1.PullPolicy) *knservingv1.Service {
	ks := &knservingv1.Service{ObjectMeta: metav1.ObjectMeta{
		GenerateName: "kfup-smoke-", Namespace: SmokeNamespace,
		Labels: map[string]string{components.LabelComponent: Name, "kfup.dev/smoke": "true"},
	}}
	ks.Spec.Template.Annotations = map[string]string{knservingv1.MaxScaleAnnotation: "1"}
	ks.Spec.Template.Spec.PodSpec = corev1.PodSpec{
		Containers: []corev1.Container{{
			Name:            "modelserver",
			Image:           image,
			Command:         []string{"/kfup", "modelserver"},
			Args:            []string{"--model-name=" + smokeModelName, "--model-dir=/mnt/models", "--http-port=8080", "--grpc-port=0"},
			Ports:           []corev1.ContainerPort{{ContainerPort: 8080}},
			ImagePullPolicy: pull,
			VolumeMounts:    []corev1.VolumeMount{{Name: "model", MountPath: "/mnt/models", ReadOnly: true}},
			SecurityContext: &corev1.SecurityContext{
				AllowPrivilegeEscalation: ptr.To(false),
				RunAsNonRoot:             ptr.To(true),
				Capabilities:             &corev1.Capabilities{Drop: []corev1.Capability{"ALL"}},
				SeccompProfile:           &corev1.SeccompProfile{Type: corev1.SeccompProfileTypeRuntimeDefault},
			},
		}},
		Volumes: []corev1.Volume{{Name: "model", VolumeSource: corev1.VolumeSource{
			ConfigMap: &corev1.ConfigMapVolumeSource{LocalObjectReference: corev1.LocalObjectReference{Name: cm}},
		}}},
	}
	return ks
}

// serviceReady says whether Knative reports the Service Ready for its latest spec, and
// why not.
func serviceReady(ks *knservingv1.Service) (bool, string) {
	if ks.Status.ObservedGeneration != ks.Generation {
		return false, "Knative has not observed the Service yet"
	}
	for _, c := range ks.Status.Conditions {
		if c.Type == knservingv1.ConditionReady {
			if c.Status == corev1.ConditionTrue {
				return true, ""
			}
			return false, fmt.Sprintf("Ready=%s %s: %s", c.Status, c.Reason, c.Message)
		}
	}
	return false, "no Ready condition yet"
}

// kfupImage is the image the cluster's kfup manager runs (kfup's one image, with the
// model server) and its pull policy: read from its Deployment, so it is the one on the
// node (kind: loaded, never pulled) whatever kfup binary runs the test.
func kfupImage(ctx context.Context, c client.Client) (string, corev1.PullPolicy, error) {
	d := &appsv1.Deployment{}
	if err := c.Get(ctx, client.ObjectKey{Namespace: manager.Namespace, Name: manager.AppName}, d); err != nil {
		return "", "", fmt.Errorf("read kfup's image from Deployment %s/%s (the round trip runs kfup's model server): %w", manager.Namespace, manager.AppName, err)
	}
	if len(d.Spec.Template.Spec.Containers) == 0 {
		return "", "", fmt.Errorf("Deployment %s/%s has no container", manager.Namespace, manager.AppName)
	}
	ct := d.Spec.Template.Spec.Containers[0]
	return ct.Image, ct.ImagePullPolicy, nil
}
