//go:build e2e

package e2e

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	networkingv1 "k8s.io/api/networking/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/ptr"
	"sigs.k8s.io/controller-runtime/pkg/client"

	"github.com/kfup/kfup/internal/testcert"
)

// An Ingress of class kfup answers on the host's HTTP ingress port (kind maps it to the
// node port of kfup's proxy): a busybox httpd behind a Service, routed by host and path
// prefix, to the Service's ready endpoints (two pods both answer; none, the proxy's 503
// saying so); another host gets the proxy's 404. With a TLS Secret it answers on the host's
// HTTPS port too.
func TestIngressOnHostPort(t *testing.T) {
	ns := testNamespace(t)
	ctx := context.Background()
	labels := map[string]string{"app": "web"}
	dep := &appsv1.Deployment{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: appsv1.DeploymentSpec{
			Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "httpd", Image: busyboxImage, ImagePullPolicy: corev1.PullNever,
					Command: []string{"sh", "-c", "mkdir -p /tmp/www/api && echo hello from $(hostname) > /tmp/www/api/index.html && exec httpd -f -p 8080 -h /tmp/www"},
					Ports:   []corev1.ContainerPort{{Name: "http", ContainerPort: 8080}},
					ReadinessProbe: &corev1.Probe{ProbeHandler: corev1.ProbeHandler{
						HTTPGet: &corev1.HTTPGetAction{Path: "/api/", Port: intstr.FromString("http")}}, PeriodSeconds: 1},
				}}},
			},
		},
	}
	svc := &corev1.Service{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}, Spec: corev1.ServiceSpec{
		Selector: labels, Ports: []corev1.ServicePort{{Name: "http", Port: 80, TargetPort: intstr.FromString("http")}}}}
	prefix := networkingv1.PathTypePrefix
	ing := &networkingv1.Ingress{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"}, Spec: networkingv1.IngressSpec{
		IngressClassName: ptr.To("kfup"),
		Rules: []networkingv1.IngressRule{{Host: "web.kfup.localhost", IngressRuleValue: networkingv1.IngressRuleValue{HTTP: &networkingv1.HTTPIngressRuleValue{
			Paths: []networkingv1.HTTPIngressPath{{Path: "/api", PathType: &prefix, Backend: networkingv1.IngressBackend{
				Service: &networkingv1.IngressServiceBackend{Name: "web", Port: networkingv1.ServiceBackendPort{Name: "http"}}}}},
		}}}},
	}}
	for _, o := range []client.Object{dep, svc, ing} {
		if err := k8sClient.Create(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	port := statusOf(t, clusterName).IngressHTTPPort
	if port == 0 {
		t.Fatal("kfup status reports no ingress HTTP port")
	}
	get := func(host, path string) (int, string, string, error) {
		req, _ := http.NewRequest(http.MethodGet, fmt.Sprintf("http://127.0.0.1:%d%s", port, path), nil)
		req.Host = host
		resp, err := (&http.Client{Timeout: 5 * time.Second}).Do(req)
		if err != nil {
			return 0, "", "", err
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header.Get("X-Kfup-Ingress"), nil
	}
	start := time.Now()
	var last string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		code, body, why, err := get("web.kfup.localhost", "/api/")
		last = fmt.Sprintf("%d %q %q %v", code, body, why, err)
		return code == 200 && strings.HasPrefix(body, "hello from web-"), nil
	})
	if err != nil {
		t.Fatalf("GET http://web.kfup.localhost:%d/api/ never answered from the pod: last %s", port, last)
	}
	t.Logf("routed through the host port %d in %s", port, time.Since(start).Round(time.Millisecond))
	// the controller writes the status once the proxy reports the table served, which
	// may be just after the first request got through
	var got networkingv1.Ingress
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 30*time.Second, true, func(ctx context.Context) (bool, error) {
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ing), &got); err != nil {
			return false, nil
		}
		lb := got.Status.LoadBalancer.Ingress
		return len(lb) == 1 && lb[0].IP == "127.0.0.1", nil
	})
	if err != nil {
		t.Errorf("Ingress status %+v, want the host's address", got.Status.LoadBalancer)
	}
	ingressTLSOnHostPort(t, ing)
	// The proxy routes to the Service's ready endpoints: two pods both answer, and
	// with none the proxy says so.
	scale := func(n int32) {
		t.Helper()
		var d appsv1.Deployment
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(dep), &d); err != nil {
			t.Fatal(err)
		}
		d.Spec.Replicas = ptr.To(n)
		if err := k8sClient.Update(ctx, &d); err != nil {
			t.Fatal(err)
		}
	}
	scale(2)
	seen := map[string]bool{}
	err = wait.PollUntilContextTimeout(ctx, 200*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		code, body, why, err := get("web.kfup.localhost", "/api/")
		last = fmt.Sprintf("%d %q %q %v", code, body, why, err)
		if code == 200 {
			seen[strings.TrimSpace(body)] = true
		}
		return len(seen) == 2, nil
	})
	if err != nil {
		t.Fatalf("two pods behind the Service, answers from %v only; last %s", seen, last)
	}
	t.Logf("both endpoints answered: %v", seen)
	scale(0)
	want := "no ready endpoints for " + ns + "/web:http"
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		code, body, why, err := get("web.kfup.localhost", "/api/")
		last = fmt.Sprintf("%d %q %q %v", code, body, why, err)
		return code == 503 && strings.Contains(body, want) && strings.Contains(why, want), nil
	})
	if err != nil {
		t.Fatalf("scaled to zero: want 503 %q, last %s", want, last)
	}
	if code, _, why, err := get("web.kfup.localhost", "/apis"); err != nil || code != 404 || !strings.Contains(why, "no route") {
		t.Errorf("/apis (not under the /api prefix): %d %q %v", code, why, err)
	}
	if code, _, why, err := get("other.kfup.localhost", "/api/"); err != nil || code != 404 || !strings.Contains(why, "no route") {
		t.Errorf("another host: %d %q %v", code, why, err)
	}
	// Deleting the Ingress removes the route.
	if err := k8sClient.Delete(ctx, ing); err != nil {
		t.Fatal(err)
	}
	err = wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, time.Minute, true, func(context.Context) (bool, error) {
		code, _, why, err := get("web.kfup.localhost", "/api/")
		last = fmt.Sprintf("%d %q %v", code, why, err)
		return code == 404 && strings.Contains(why, "no route"), nil
	})
	if err != nil {
		t.Fatalf("the route outlived its Ingress: %s", last)
	}
}

// ingressTLSOnHostPort gives the Ingress ing (host web.kfup.localhost) a TLS Secret: its
// routes answer on the host's HTTPS ingress port with that certificate, over HTTP/2.
func ingressTLSOnHostPort(t *testing.T, ing *networkingv1.Ingress) {
	t.Helper()
	ctx := context.Background()
	port := statusOf(t, clusterName).IngressHTTPSPort
	if port == 0 {
		t.Fatal("kfup status reports no ingress HTTPS port")
	}
	pair := testcert.New(t, "web.kfup.localhost")
	sec := &corev1.Secret{ObjectMeta: metav1.ObjectMeta{Namespace: ing.Namespace, Name: "web-tls"}, Type: corev1.SecretTypeTLS,
		Data: map[string][]byte{corev1.TLSCertKey: pair.Chain, corev1.TLSPrivateKeyKey: pair.Key}}
	if err := k8sClient.Create(ctx, sec); err != nil {
		t.Fatal(err)
	}
	if err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		var cur networkingv1.Ingress
		if err := k8sClient.Get(ctx, client.ObjectKeyFromObject(ing), &cur); err != nil {
			return err
		}
		cur.Spec.TLS = []networkingv1.IngressTLS{{Hosts: []string{"web.kfup.localhost"}, SecretName: "web-tls"}}
		return k8sClient.Update(ctx, &cur)
	}); err != nil {
		t.Fatal(err)
	}
	tr := testcert.Transport(fmt.Sprintf("127.0.0.1:%d", port), pair.Pool)
	defer tr.CloseIdleConnections()
	c := &http.Client{Transport: tr, Timeout: 5 * time.Second}
	start := time.Now()
	var last string
	err := wait.PollUntilContextTimeout(ctx, 500*time.Millisecond, 2*time.Minute, true, func(context.Context) (bool, error) {
		resp, err := c.Get("https://web.kfup.localhost/api/")
		if err != nil {
			last = err.Error()
			return false, nil
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		last = fmt.Sprintf("%d %s %q", resp.StatusCode, resp.Proto, b)
		return resp.StatusCode == 200 && resp.Proto == "HTTP/2.0" && strings.HasPrefix(string(b), "hello from web-"), nil
	})
	if err != nil {
		t.Fatalf("GET https://web.kfup.localhost:%d/api/ never answered from the pod with the Ingress's certificate: last %s", port, last)
	}
	t.Logf("served over HTTPS on the host port %d in %s", port, time.Since(start).Round(time.Millisecond))
	if _, err := c.Get("https://other.kfup.localhost/api/"); err == nil {
		t.Error("a host without a certificate was answered over TLS")
	}
}
